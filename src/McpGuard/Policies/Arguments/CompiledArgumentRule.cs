using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using McpGuard.Text;

namespace McpGuard.Policies.Arguments;

/// <summary>An <see cref="ArgumentRule"/> compiled once at engine build: parsed path, compiled regex, canonical roots.</summary>
/// <remarks>Immutable and thread-safe. <see cref="Evaluate"/> never throws; an internal error is a Deny.</remarks>
internal sealed class CompiledArgumentRule
{
    private static readonly TimeSpan s_regexTimeout = TimeSpan.FromSeconds(1);

    private readonly ArgumentRule _rule;
    private readonly JsonPathSelector _selector;
    private readonly string[] _roots;
    private readonly bool _ignoreCase;
    private readonly string[] _schemes;
    private readonly string[] _hosts;
    private readonly Regex? _pattern;
    private readonly HashSet<string> _allowedValues;
    private readonly Func<JsonElement, string, GuardDecision?> _check;

    public CompiledArgumentRule(ArgumentRule rule)
    {
        _rule = rule;
        _selector = JsonPathSelector.Parse(rule.Path);
        _ignoreCase = FilePathCanonicalizer.IsCaseInsensitive(rule.PathCase);
        _roots = [.. rule.AllowedRoots.Select(FilePathCanonicalizer.CanonicalizeRoot)];
        _schemes = rule.AllowedSchemes.Count > 0
            ? [.. rule.AllowedSchemes.Select(s => s.ToLowerInvariant())]
            : rule.AllowedHosts.Count > 0 ? ["https"] : [];
        _hosts = [.. rule.AllowedHosts.Select(h => h.Trim().TrimEnd('.').ToLowerInvariant())];
        if (rule.Pattern is not null)
        {
            _pattern = LinearRegex.Create(@"\A(?:" + rule.Pattern + @")\z", RegexOptions.CultureInvariant, s_regexTimeout);
        }

        _allowedValues = new HashSet<string>(rule.AllowedValues, StringComparer.Ordinal);
        _check = Check;
    }

    public string Path => _selector.Text;

    public GuardDecision? Evaluate(JsonElement arguments)
    {
        try
        {
            if (!_rule.Required)
            {
                return _selector.Select(arguments, _check);
            }

            bool any = false;
            GuardDecision? violation = _selector.Select(arguments, (value, path) =>
            {
                any = true;
                return Check(value, path);
            });
            return violation ?? (any ? null : Deny("A required argument value is missing.", "argument.required", _selector.Text));
        }
        catch (InvalidOperationException ex)
        {
            // A member name the selector had to read is not valid UTF-16 (a lone surrogate escape).
            return Deny($"The arguments could not be checked ({ex.GetType().Name}).", "argument.check-failed", "$");
        }
    }

    private GuardDecision? Check(JsonElement value, string path)
    {
        try
        {
            return CheckPath(value, path)
                ?? CheckUrl(value, path)
                ?? CheckPattern(value, path)
                ?? CheckEnum(value, path)
                ?? CheckRange(value, path)
                ?? CheckLength(value, path);
        }
        catch (Exception ex) when (ex is RegexMatchTimeoutException or InvalidOperationException or IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException or PathTooLongException)
        {
            return Deny($"The value could not be checked ({ex.GetType().Name}).", "argument.check-failed", path);
        }
    }

    private GuardDecision Deny(string reason, string ruleId, string path) =>
        GuardDecision.Deny(reason, _rule.Id ?? ruleId, path);

    private GuardDecision? CheckPath(JsonElement value, string path)
    {
        if (_roots.Length == 0)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            return Deny($"Expected a file path string, got {value.ValueKind}.", "argument.type", path);
        }

        string raw = value.GetString()!;
        if (raw.Length == 0 || raw.Contains('\0', StringComparison.Ordinal))
        {
            return Deny("The file path is empty or contains a NUL character.", "argument.path-invalid", path);
        }

        if (raw[0] == '~')
        {
            return Deny("The file path is relative to a home directory, which the server expands.", "argument.path-home-relative", path);
        }

        string absolute;
        if (System.IO.Path.IsPathFullyQualified(raw))
        {
            absolute = raw;
        }
        else if (_rule.RelativePathBase is { } relativeBase)
        {
            absolute = System.IO.Path.Combine(System.IO.Path.GetFullPath(relativeBase), raw);
        }
        else
        {
            return Deny("The file path is relative; the server would resolve it against its own working directory.", "argument.path-relative", path);
        }

        (string physical, string lexical) = FilePathCanonicalizer.Canonicalize(absolute);
        foreach (string root in _roots)
        {
            if (FilePathCanonicalizer.IsUnder(physical, root, _ignoreCase) && FilePathCanonicalizer.IsUnder(lexical, root, _ignoreCase))
            {
                return null;
            }
        }

        // The reason goes to evidence; it must not carry the argument's value (redacted unless the host opts in).
        return Deny("The file path resolves outside the allowed roots.", "argument.path-outside-roots", path);
    }

    private GuardDecision? CheckUrl(JsonElement value, string path)
    {
        if (_schemes.Length == 0 && _hosts.Length == 0)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            return Deny($"Expected a URL string, got {value.ValueKind}.", "argument.type", path);
        }

        if (!Uri.TryCreate(value.GetString(), UriKind.Absolute, out Uri? uri))
        {
            return Deny("The value is not an absolute URL.", "argument.url-invalid", path);
        }

        if (_schemes.Length > 0 && Array.IndexOf(_schemes, uri.Scheme.ToLowerInvariant()) < 0)
        {
            return Deny("The URL scheme is not allowed.", "argument.url-scheme", path);
        }

        if (uri.UserInfo.Length > 0)
        {
            return Deny("URLs with user information are not allowed.", "argument.url-userinfo", path);
        }

        if (_hosts.Length > 0)
        {
            string host = uri.IdnHost.TrimEnd('.').ToLowerInvariant();
            if (host.Length == 0 || !HostAllowed(host))
            {
                return Deny("The URL host is not on the allowlist.", "argument.url-host", path);
            }
        }

        return null;
    }

    private bool HostAllowed(string host)
    {
        foreach (string allowed in _hosts)
        {
            if (allowed.StartsWith("*.", StringComparison.Ordinal))
            {
                if (host.Length > allowed.Length - 1 && host.EndsWith(allowed.AsSpan(1), StringComparison.Ordinal))
                {
                    return true;
                }
            }
            else if (host == allowed)
            {
                return true;
            }
        }

        return false;
    }

    private GuardDecision? CheckPattern(JsonElement value, string path)
    {
        if (_pattern is null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            return Deny($"Expected a string, got {value.ValueKind}.", "argument.type", path);
        }

        return _pattern.IsMatch(value.GetString()!) ? null : Deny("The value does not match the required pattern.", "argument.pattern", path);
    }

    private GuardDecision? CheckEnum(JsonElement value, string path)
    {
        if (_allowedValues.Count == 0)
        {
            return null;
        }

        string key = value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText();
        return _allowedValues.Contains(key) ? null : Deny("The value is not one of the allowed values.", "argument.enum", path);
    }

    private GuardDecision? CheckRange(JsonElement value, string path)
    {
        if (_rule.Minimum is null && _rule.Maximum is null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number || !Json.JsonNumbers.TryGetFiniteDouble(value, out double number))
        {
            return Deny($"Expected a number, got {value.ValueKind}.", "argument.type", path);
        }

        if (number < _rule.Minimum || number > _rule.Maximum)
        {
            return Deny(
                string.Create(CultureInfo.InvariantCulture, $"The value {number} is outside [{_rule.Minimum?.ToString(CultureInfo.InvariantCulture) ?? "-inf"}, {_rule.Maximum?.ToString(CultureInfo.InvariantCulture) ?? "+inf"}]."),
                "argument.range",
                path);
        }

        return null;
    }

    private GuardDecision? CheckLength(JsonElement value, string path)
    {
        if (_rule.MaxItems is { } maxItems && value.ValueKind == JsonValueKind.Array && value.GetArrayLength() > maxItems)
        {
            return Deny($"The array has more than {maxItems} items.", "argument.length", path);
        }

        if (_rule.MinLength is null && _rule.MaxLength is null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            return Deny($"Expected a string, got {value.ValueKind}.", "argument.type", path);
        }

        int length = 0;
        foreach (System.Text.Rune _ in value.GetString()!.EnumerateRunes())
        {
            length++;
        }

        if (length < _rule.MinLength || length > _rule.MaxLength)
        {
            return Deny($"The string length {length} is outside the allowed range.", "argument.length", path);
        }

        return null;
    }
}
