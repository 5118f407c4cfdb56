using System.Text.Json;

namespace McpGuard.ConformanceClient;

/// <summary>
/// The runner's <c>MCP_CONFORMANCE_CONTEXT</c>: a JSON object with scenario data such as pre-registered client
/// credentials (<c>client_id</c>, <c>client_secret</c>), a private key for <c>private_key_jwt</c>, or an IdP's ID token.
/// </summary>
internal sealed class ScenarioContext
{
    private readonly Dictionary<string, string> _values;

    private ScenarioContext(Dictionary<string, string> values) => _values = values;

    public static ScenarioContext Empty { get; } = new([]);

    public static ScenarioContext Parse(string? json)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return Empty;
        }

        using JsonDocument document = JsonDocument.Parse(json);
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException("MCP_CONFORMANCE_CONTEXT is not a JSON object.");
        }

        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (JsonProperty property in document.RootElement.EnumerateObject())
        {
            if (property.Value.ValueKind == JsonValueKind.String)
            {
                values[property.Name] = property.Value.GetString()!;
            }
        }

        return new ScenarioContext(values);
    }

    public string? Get(string name) => _values.TryGetValue(name, out string? value) && value.Length > 0 ? value : null;

    public string Require(string name) =>
        Get(name) ?? throw new InvalidOperationException($"MCP_CONFORMANCE_CONTEXT has no '{name}'.");
}
