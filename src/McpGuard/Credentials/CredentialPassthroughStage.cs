using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using McpGuard.Pipeline;

namespace McpGuard.Credentials;

/// <summary>
/// Token passthrough prevention on the client side (MCP security best practices, "Token Passthrough"): denies a
/// <c>tools/call</c> whose arguments (any string value or property name, at any depth) contain a credential the host
/// holds, as the exact value or in a common encoding. The decision names the credential's label and the encoding,
/// never the secret; the model sees only the generic denial.
/// </summary>
internal sealed class CredentialPassthroughStage(GuardCredentialRegistry registry) : GuardStage
{
    private const int MaxDepth = 128;

    public override string Name => "credential-passthrough";

    public override ValueTask<GuardDecision> EvaluateCallAsync(ToolCallContext context, CancellationToken cancellationToken)
    {
        SecretMatcher matcher = registry.Matcher;
        if (matcher.IsEmpty || context.Arguments.ValueKind != JsonValueKind.Object)
        {
            return new(GuardDecision.Allow);
        }

        var path = new List<string>();
        if (Scan(context.Arguments, matcher, path, 0) is { } hit)
        {
            GuardCredential c = hit.Match.Credential;
            return new(GuardDecision.Deny(
                $"The arguments contain the host credential '{c.Label}' ({c.Fingerprint}, {Describe(hit.Match.Encoding)}); credentials are never passed to tools.",
                GuardCredentialRuleIds.Passthrough,
                hit.Path));
        }

        return new(GuardDecision.Allow);
    }

    /// <summary>
    /// The other requests a client sends with values the model chooses (<c>resources/read</c> URIs,
    /// <c>prompts/get</c> and <c>completion/complete</c> arguments, subscriptions, ...) and the model's answers to a
    /// server's <c>sampling/createMessage</c>: a Deny with <see cref="GuardCredentialRuleIds.Passthrough"/> and the JSON
    /// path inside <paramref name="node"/> when it carries a credential the host holds, <c>request.malformed</c> when it
    /// cannot be read for the check, else <see langword="null"/>. Same scan as for tool arguments.
    /// </summary>
    /// <param name="registry">The host's credentials.</param>
    /// <param name="what">What is screened, for the reason (e.g. "resources/read request").</param>
    /// <param name="node">The request's <c>params</c>, or the answer's <c>result</c> (any JSON; <see langword="null"/> passes).</param>
    internal static GuardDecision? ScreenNode(GuardCredentialRegistry registry, string what, JsonNode? node)
    {
        SecretMatcher matcher = registry.Matcher;
        if (matcher.IsEmpty || node is null)
        {
            return null;
        }

        JsonElement element;
        try
        {
            element = JsonSerializer.SerializeToElement(node, Json.McpGuardJsonContext.Default.JsonNode);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or ArgumentException)
        {
            return GuardDecision.Deny($"The {what} could not be read to check it for credentials.", "request.malformed");
        }

        if (Scan(element, matcher, [], 0) is not { } hit)
        {
            return null;
        }

        GuardCredential c = hit.Match.Credential;
        return GuardDecision.Deny(
            $"The {what} contains the host credential '{c.Label}' ({c.Fingerprint}, {Describe(hit.Match.Encoding)}); credentials are never passed to servers.",
            GuardCredentialRuleIds.Passthrough,
            hit.Path);
    }

    private static (SecretMatch Match, string Path)? Scan(JsonElement element, SecretMatcher matcher, List<string> path, int depth)
    {
        if (depth > MaxDepth)
        {
            // Deeper than any sane argument: scan the rest as raw text.
            return matcher.Find(element.GetRawText()) is { } deep ? (deep, BuildPath(path)) : null;
        }

        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                return matcher.Find(element.GetString()) is { } m ? (m, BuildPath(path)) : null;
            case JsonValueKind.Object:
                foreach (JsonProperty property in element.EnumerateObject())
                {
                    if (matcher.Find(property.Name) is { } inName)
                    {
                        // The path names the parent: the property's name is the credential itself.
                        path.Add(".*");
                        return (inName, BuildPath(path));
                    }

                    path.Add("." + property.Name);

                    if (Scan(property.Value, matcher, path, depth + 1) is { } found)
                    {
                        return found;
                    }

                    path.RemoveAt(path.Count - 1);
                }

                return null;
            case JsonValueKind.Array:
                int index = 0;
                foreach (JsonElement item in element.EnumerateArray())
                {
                    path.Add("[" + index.ToString(CultureInfo.InvariantCulture) + "]");
                    if (Scan(item, matcher, path, depth + 1) is { } found)
                    {
                        return found;
                    }

                    path.RemoveAt(path.Count - 1);
                    index++;
                }

                return null;
            case JsonValueKind.Number:
                return matcher.Find(element.GetRawText()) is { } n ? (n, BuildPath(path)) : null;
            default:
                return null;
        }
    }

    private static string BuildPath(List<string> path)
    {
        var sb = new StringBuilder("$");
        foreach (string segment in path)
        {
            sb.Append(segment);
        }

        return sb.ToString();
    }

    private static string Describe(SecretEncoding encoding) => encoding switch
    {
        SecretEncoding.Raw => "exact value",
        SecretEncoding.Base64 => "base64",
        SecretEncoding.Base64Url => "base64url",
        SecretEncoding.HexLower or SecretEncoding.HexUpper => "hex",
        SecretEncoding.UrlEncoded => "percent-encoded",
        SecretEncoding.JsonEscaped => "JSON-escaped",
        SecretEncoding.WhitespaceSplit => "split by whitespace",
        _ => "encoded",
    };
}
