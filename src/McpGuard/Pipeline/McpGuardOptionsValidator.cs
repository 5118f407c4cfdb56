using System.Text.RegularExpressions;
using McpGuard.Policies.Arguments;
using McpGuard.Text;
using Microsoft.Extensions.Options;

namespace McpGuard;

/// <summary>Validates <see cref="McpGuardOptions"/> at startup; every failure message names the setting and what to change.</summary>
public sealed class McpGuardOptionsValidator : IValidateOptions<McpGuardOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, McpGuardOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        List<string> failures = Collect(options);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    internal static void ThrowIfInvalid(McpGuardOptions options)
    {
        List<string> failures = Collect(options);
        if (failures.Count > 0)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(McpGuardOptions), failures);
        }
    }

    private static List<string> Collect(McpGuardOptions o)
    {
        var failures = new List<string>();
        Range(failures, "McpGuard:MaxToolsPerServer", o.MaxToolsPerServer, 1, 1_000_000);
        Range(failures, "McpGuard:MaxToolDefinitionBytes", o.MaxToolDefinitionBytes, 1024, 64 * 1024 * 1024);
        Range(failures, "McpGuard:MaxArgumentBytes", o.MaxArgumentBytes, 1, 256 * 1024 * 1024);
        Range(failures, "McpGuard:MaxCatalogPages", o.MaxCatalogPages, 1, 10_000);
        Range(failures, "McpGuard:Credentials:MinimumSecretLength", o.Credentials.MinimumSecretLength, 6, 4096);
        if (o.CatalogRefreshTimeout < TimeSpan.FromMilliseconds(100) || o.CatalogRefreshTimeout > TimeSpan.FromMinutes(10))
        {
            failures.Add($"McpGuard:CatalogRefreshTimeout is {o.CatalogRefreshTimeout}; set it between 00:00:00.1 and 00:10:00.");
        }

        if (o.Approval.Timeout < TimeSpan.FromMilliseconds(10) || o.Approval.Timeout > TimeSpan.FromHours(24))
        {
            failures.Add($"McpGuard:Approval:Timeout is {o.Approval.Timeout}; set it between 00:00:00.01 and 1.00:00:00.");
        }

        ValidateSanitizer(failures, "McpGuard:Isolation:Sanitizer", o.Isolation.Sanitizer);
        ValidateSanitizer(failures, "McpGuard:Isolation:Untrusted:Sanitizer", o.Isolation.Untrusted.Sanitizer);
        ValidateSanitizer(failures, "McpGuard:Isolation:Trusted:Sanitizer", o.Isolation.Trusted.Sanitizer);
        if (string.IsNullOrEmpty(o.Isolation.DatamarkToken) || o.Isolation.DatamarkToken.Any(char.IsWhiteSpace))
        {
            failures.Add("McpGuard:Isolation:DatamarkToken is empty or contains whitespace; set a visible marker such as \u02C6.");
        }

        ValidateThreshold(failures, "McpGuard:Isolation:Untrusted", o.Isolation.Untrusted);
        ValidateThreshold(failures, "McpGuard:Isolation:Trusted", o.Isolation.Trusted);

        Flow.FlowPolicy.Validate(o.Flow, failures);
        foreach ((string serverName, GuardServerOptions server) in o.Servers)
        {
            string prefix = $"McpGuard:Servers:{serverName}";
            if (string.IsNullOrWhiteSpace(serverName))
            {
                failures.Add("McpGuard:Servers has an empty server name; give every registration a name.");
            }

            GuardHttpOptions.Validate(failures, prefix + ":Http", server.Http);
            if (server.Stdio is { } stdio && string.IsNullOrWhiteSpace(stdio.Command))
            {
                failures.Add($"{prefix}:Stdio:Command is empty; set the executable to launch.");
            }

            ValidateServerRequests(failures, prefix, server);
            if (server.Authority.Resource is { } resource && (!resource.IsAbsoluteUri || !CanonicalResource.IsHttp(resource)))
            {
                failures.Add($"{prefix}:Authority:Resource must be an absolute http or https URI (the server's canonical URI, RFC 8707).");
            }
            server.Stdio?.Validate($"{prefix}:Stdio", failures);

            ValidateSanitizer(failures, prefix + ":Isolation:Sanitizer", server.Isolation?.Sanitizer);
            ValidateThreshold(failures, prefix + ":Isolation", server.Isolation);
            foreach ((string toolName, GuardToolOptions tool) in server.Tools)
            {
                string toolPrefix = $"{prefix}:Tools:{toolName}";
                ValidateSanitizer(failures, toolPrefix + ":Isolation:Sanitizer", tool.Isolation?.Sanitizer);
                ValidateThreshold(failures, toolPrefix + ":Isolation", tool.Isolation);
                if (tool.MaxArgumentBytes is < 1)
                {
                    failures.Add($"{toolPrefix}:MaxArgumentBytes must be at least 1.");
                }

                for (int i = 0; i < tool.Arguments.Count; i++)
                {
                    ValidateRule(failures, $"{toolPrefix}:Arguments:{i}", tool.Arguments[i]);
                }
            }
        }

        return failures;
    }

    /// <summary>
    /// A detection threshold outside [0.01, 1] or NaN would fail open without a word: above 1 (or NaN, which every
    /// comparison fails) nothing is ever flagged. Checked on the trust levels and on every server and tool override.
    /// </summary>
    private static void ValidateThreshold(List<string> failures, string prefix, ContentIsolationPolicy? policy)
    {
        if (policy is not null && (policy.Threshold is < 0.01 or > 1 || double.IsNaN(policy.Threshold)))
        {
            failures.Add($"{prefix}:Threshold is {policy.Threshold.ToString(System.Globalization.CultureInfo.InvariantCulture)}; set it between 0.01 and 1.");
        }
    }

    private static void ValidateSanitizer(List<string> failures, string prefix, SanitizerOptions? sanitizer)
    {
        if (sanitizer is null)
        {
            return;
        }

        Range(failures, prefix + ":MaxBlockChars", sanitizer.MaxBlockChars, 256, 64 * 1024 * 1024);
        Range(failures, prefix + ":MaxResultChars", sanitizer.MaxResultChars, 256, 256 * 1024 * 1024);
        Range(failures, prefix + ":MaxFindings", sanitizer.MaxFindings, 1, 10_000);
    }

    private static void ValidateServerRequests(List<string> failures, string prefix, GuardServerOptions server)
    {
        foreach (string root in server.Roots.AllowedRoots)
        {
            if (string.IsNullOrWhiteSpace(root) || !McpGuard.ServerRequests.RootsFilter.IsValidConfiguredRoot(root))
            {
                failures.Add($"{prefix}:Roots:AllowedRoots entry '{root}' is neither an absolute path nor a local file:// URI; use a fully qualified directory.");
            }
        }

        Range(failures, $"{prefix}:Elicitation:MaxRequestBytes", server.Elicitation.MaxRequestBytes, 1024, 16 * 1024 * 1024);
        if (!Enum.IsDefined(server.Elicitation.Access))
        {
            failures.Add($"{prefix}:Elicitation:Access is {server.Elicitation.Access}; use Screen, RequireApproval or Decline.");
        }

        foreach (string host in server.Elicitation.AllowedUrlHosts)
        {
            string name = host.StartsWith("*.", StringComparison.Ordinal) ? host[2..] : host;
            if (string.IsNullOrWhiteSpace(name) || name.Contains('*', StringComparison.Ordinal) || Uri.CheckHostName(name.Trim().TrimEnd('.')) == UriHostNameType.Unknown)
            {
                failures.Add($"{prefix}:Elicitation:AllowedUrlHosts entry '{host}' is not a host name; use e.g. auth.example.com or *.example.com.");
            }
        }

        foreach (string term in server.Elicitation.AdditionalSecretTerms)
        {
            if (string.IsNullOrWhiteSpace(term))
            {
                failures.Add($"{prefix}:Elicitation:AdditionalSecretTerms has an empty entry; remove it.");
            }
        }

        Range(failures, $"{prefix}:Sampling:MaxRequestBytes", server.Sampling.MaxRequestBytes, 1024, 256 * 1024 * 1024);
        if (server.Sampling.MaxTokens is { } maxTokens)
        {
            Range(failures, $"{prefix}:Sampling:MaxTokens", maxTokens, 1, 10_000_000);
        }

        if (server.Sampling.MaxRequestsPerSession is { } maxRequests)
        {
            Range(failures, $"{prefix}:Sampling:MaxRequestsPerSession", maxRequests, 1, 1_000_000);
        }
    }

    private static void ValidateRule(List<string> failures, string prefix, ArgumentRule rule)
    {
        try
        {
            JsonPathSelector.Parse(rule.Path);
        }
        catch (FormatException ex)
        {
            failures.Add($"{prefix}:Path: {ex.Message} Use $, .name, ['name'], [index], [*] or .*.");
        }

        if (rule.Pattern is { } pattern)
        {
            try
            {
                _ = LinearRegex.Create(pattern, RegexOptions.CultureInvariant);
            }
            catch (Exception ex) when (ex is ArgumentException or NotSupportedException)
            {
                failures.Add($"{prefix}:Pattern is not a valid linear-time (NonBacktracking) regular expression: {ex.Message} Remove backreferences, look-arounds and atomic groups.");
            }
        }

        foreach (string root in rule.AllowedRoots)
        {
            if (!Path.IsPathFullyQualified(root))
            {
                failures.Add($"{prefix}:AllowedRoots entry '{root}' is not an absolute path; use a fully qualified directory.");
            }
        }

        if (rule.RelativePathBase is { } relativeBase && !Path.IsPathFullyQualified(relativeBase))
        {
            failures.Add($"{prefix}:RelativePathBase '{relativeBase}' is not an absolute path.");
        }

        if (rule.Minimum > rule.Maximum)
        {
            failures.Add($"{prefix}: Minimum is greater than Maximum.");
        }

        if (rule.MinLength > rule.MaxLength || rule.MinLength < 0 || rule.MaxItems < 0)
        {
            failures.Add($"{prefix}: MinLength/MaxLength/MaxItems are inconsistent; use 0 <= MinLength <= MaxLength and MaxItems >= 0.");
        }
    }

    private static void Range(List<string> failures, string name, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            failures.Add($"{name} is {value}; set it between {min} and {max}.");
        }
    }
}
