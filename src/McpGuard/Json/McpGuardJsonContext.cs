using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace McpGuard.Json;

/// <summary>Source-generated JSON metadata for the types McpGuard serializes itself (AOT-safe).</summary>
[JsonSerializable(typeof(JsonNode))]
[JsonSerializable(typeof(JsonObject))]
internal sealed partial class McpGuardJsonContext : JsonSerializerContext;
