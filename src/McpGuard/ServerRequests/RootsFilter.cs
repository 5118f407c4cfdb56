using System.Text.Json;
using System.Text.Json.Nodes;
using McpGuard.Policies.Arguments;

namespace McpGuard.ServerRequests;

/// <summary>
/// Filters a <c>ListRootsResult</c> (<c>{"roots":[{"uri":"file:///...","name":...}]}</c>) down to the roots at or
/// under a server's allowed roots, rewriting each kept URI to its canonical form.
/// </summary>
/// <remarks>
/// A root is kept only when its <c>file://</c> URI parses to an absolute local path whose canonical form lies under an
/// allowed root both the kernel's way (links followed, then <c>..</c>) and Node's way (<c>..</c> first, then links),
/// exactly like <see cref="ArgumentRule.AllowedRoots"/>. The output never contains a root the host did not offer
/// (it is a subset after canonicalization) and is idempotent. Immutable; thread-safe.
/// </remarks>
internal sealed class RootsFilter
{
    /// <summary>Roots looked at per answer; further entries are dropped (<c>roots.too-many</c>).</summary>
    public const int MaxRoots = 1024;

    private const int MaxReported = 32;

    private readonly string[] _roots;
    private readonly bool _ignoreCase;

    public RootsFilter(RootsOptions options)
    {
        _ignoreCase = FilePathCanonicalizer.IsCaseInsensitive(options.PathCase);
        var roots = new List<string>();
        foreach (string entry in options.AllowedRoots)
        {
            string? path = entry.StartsWith("file:", StringComparison.OrdinalIgnoreCase) ? TryGetPath(entry, out _) : entry;
            if (path is not null && Path.IsPathFullyQualified(path))
            {
                try
                {
                    roots.Add(FilePathCanonicalizer.CanonicalizeRoot(path));
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
                {
                    // A configured root that cannot be resolved (a link loop) allows nothing: fail closed.
                }
            }
        }

        _roots = [.. roots];
    }

    /// <summary>The canonical allowed roots.</summary>
    public IReadOnlyList<string> AllowedRoots => _roots;

    /// <summary>Whether a configured entry (path or <c>file://</c> URI) is usable as an allowed root.</summary>
    public static bool IsValidConfiguredRoot(string entry) =>
        entry.StartsWith("file:", StringComparison.OrdinalIgnoreCase) ? TryGetPath(entry, out _) is not null : Path.IsPathFullyQualified(entry);

    /// <summary>
    /// Filters <paramref name="result"/> (a <c>ListRootsResult</c>) and returns the filtered result (a new object; a
    /// result that is not an object with a <c>roots</c> array becomes <c>{"roots":[]}</c>) and the evidence details.
    /// </summary>
    public (JsonObject Result, JsonObject Details) Filter(JsonNode? result)
    {
        var kept = new JsonArray();
        var keptUris = new JsonArray();
        var dropped = new JsonArray();
        int droppedCount = 0;
        int offered = 0;
        var seen = new HashSet<string>(_ignoreCase ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal);
        bool malformed = result is not JsonObject { } obj || obj["roots"] is not JsonArray;
        if (!malformed)
        {
            var roots = (JsonArray)((JsonObject)result!)["roots"]!;
            offered = roots.Count;
            for (int i = 0; i < roots.Count; i++)
            {
                JsonNode? item = roots[i];
                string? uri = (item as JsonObject)?["uri"] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
                (string? canonicalUri, string? rule) = i >= MaxRoots ? (null, "roots.too-many") : Check(uri);
                if (canonicalUri is not null && seen.Add(canonicalUri))
                {
                    var copy = new JsonObject { ["uri"] = canonicalUri };
                    foreach ((string name, JsonNode? value) in (JsonObject)item!)
                    {
                        if (name is not "uri")
                        {
                            copy[name] = value?.DeepClone();
                        }
                    }

                    kept.Add((JsonNode)copy);
                    keptUris.Add((JsonNode?)JsonValue.Create(canonicalUri));
                    continue;
                }

                if (canonicalUri is not null)
                {
                    continue; // the same root twice after canonicalization
                }

                if (droppedCount++ < MaxReported)
                {
                    dropped.Add((JsonNode)new JsonObject
                    {
                        ["uri"] = uri is null ? null : uri.Length <= 512 ? uri : uri[..512] + "…",
                        ["ruleId"] = rule,
                    });
                }
            }
        }

        var details = new JsonObject
        {
            ["offered"] = offered,
            ["kept"] = keptUris,
            ["droppedCount"] = droppedCount,
            ["dropped"] = dropped,
        };
        if (malformed)
        {
            details["malformed"] = true;
        }

        var filtered = new JsonObject { ["roots"] = kept };
        if (result is JsonObject original && original["_meta"] is JsonObject meta)
        {
            filtered["_meta"] = meta.DeepClone();
        }

        return (filtered, details);
    }

    /// <summary>The canonical <c>file://</c> URI of <paramref name="uri"/> if it is allowed, else the rule id that drops it.</summary>
    public (string? CanonicalUri, string? RuleId) Check(string? uri)
    {
        if (uri is null)
        {
            return (null, "roots.invalid-uri");
        }

        if (!uri.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
        {
            return (null, "roots.not-file-uri");
        }

        string? path = TryGetPath(uri, out string? rule);
        if (path is null)
        {
            return (null, rule);
        }

        try
        {
            (string physical, string lexical) = FilePathCanonicalizer.Canonicalize(path);
            foreach (string root in _roots)
            {
                if (FilePathCanonicalizer.IsUnder(physical, root, _ignoreCase) && FilePathCanonicalizer.IsUnder(lexical, root, _ignoreCase))
                {
                    return (ToFileUri(physical), null);
                }
            }

            return (null, "roots.outside-allowed");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException or UriFormatException)
        {
            return (null, "roots.invalid-uri");
        }
    }

    /// <summary>
    /// The <c>file://</c> URI of an absolute path with every segment percent-encoded (RFC 3986 unreserved characters
    /// kept), so it round-trips exactly (<see cref="Uri"/> would trim a trailing space segment).
    /// </summary>
    internal static string ToFileUri(string path)
    {
        string[] segments = path.Replace('\\', '/').Split('/');
        var sb = new System.Text.StringBuilder("file://", path.Length + 16);
        for (int i = 0; i < segments.Length; i++)
        {
            if (i > 0 || segments[0].Length > 0)
            {
                sb.Append('/');
            }

            bool drive = i == 0 && segments[0].Length == 2 && char.IsAsciiLetter(segments[0][0]) && segments[0][1] == ':';
            sb.Append(drive ? segments[0] : Uri.EscapeDataString(segments[i]));
        }

        return sb.ToString();
    }

    private static string? TryGetPath(string uri, out string? rule)
    {
        rule = "roots.invalid-uri";
        if (uri.StartsWith("file://localhost/", StringComparison.OrdinalIgnoreCase))
        {
            uri = "file:///" + uri["file://localhost/".Length..]; // RFC 8089: "localhost" is the local host
        }

        if (uri.Length > 4096 || !Uri.TryCreate(uri, UriKind.Absolute, out Uri? parsed) || !parsed.IsFile || parsed.IsUnc)
        {
            return null;
        }

        if (parsed.Host.Length > 0 && !parsed.Host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            return null; // a remote host: not a local root
        }

        if (parsed.Query.Length > 0 || parsed.Fragment.Length > 0 || uri.Contains('\\', StringComparison.Ordinal))
        {
            return null;
        }

        string path = parsed.LocalPath;
        if (path.Contains('\0', StringComparison.Ordinal) || !Path.IsPathFullyQualified(path))
        {
            return null;
        }

        rule = null;
        return path;
    }
}
