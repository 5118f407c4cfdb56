using System.Text.Json;
using System.Text.Json.Serialization;

namespace McpGuard;

/// <summary>The content of a lock file: pinned catalogs by server registration name, in ordinal key order.</summary>
public sealed class PinLockFile
{
    private SortedDictionary<string, PinnedServer> _servers = new(StringComparer.Ordinal);

    /// <summary>Format version; currently 1.</summary>
    public int Version { get; set; } = 1;

    /// <summary>Pinned servers by registration name, in ordinal order (an assigned dictionary is copied into an ordinal one, so the file's order never depends on the culture).</summary>
    public SortedDictionary<string, PinnedServer> Servers
    {
        get => _servers;
        set => _servers = value is null ? null! : new SortedDictionary<string, PinnedServer>(value, StringComparer.Ordinal);
    }
}

/// <summary>One server's pinned catalog: identity, instructions hash, how it is reached, and its items.</summary>
public sealed class PinnedServer
{
    private SortedDictionary<string, PinnedItem> _items = new(StringComparer.Ordinal);

    /// <summary>The server's reported <c>serverInfo.name</c> when pinned.</summary>
    public string? ReportedName { get; set; }

    /// <summary>The server's reported <c>serverInfo.version</c> when pinned.</summary>
    public string? ReportedVersion { get; set; }

    /// <summary>SHA-256 of the server's <c>instructions</c> text (UTF-8), or <see langword="null"/> if it sent none.</summary>
    public string? InstructionsSha256 { get; set; }

    /// <summary>How the server was reached: exact stdio command line or URL.</summary>
    public string? Endpoint { get; set; }

    /// <summary>Pinned items by key <c>kind:name</c> (e.g. <c>tool:read_file</c>), in ordinal order (assigned dictionaries are copied into ordinal ones).</summary>
    public SortedDictionary<string, PinnedItem> Items
    {
        get => _items;
        set => _items = value is null ? null! : new SortedDictionary<string, PinnedItem>(value, StringComparer.Ordinal);
    }
}

/// <summary>One pinned catalog item with its full definition, so diffs survive host restarts and reviewers see what was approved.</summary>
public sealed class PinnedItem
{
    /// <summary>Tool, prompt or resource template.</summary>
    public CatalogItemKind Kind { get; set; }

    /// <summary>The item's name (for resource templates, the <c>uriTemplate</c> or name).</summary>
    public string Name { get; set; } = string.Empty;

    /// <summary>Lower-case hex SHA-256 of the RFC 8785 canonical form of <see cref="Definition"/>.</summary>
    public string Sha256 { get; set; } = string.Empty;

    /// <summary>Who approved the pin (<c>trust-on-first-use</c> for automatic pins).</summary>
    public string? ApprovedBy { get; set; }

    /// <summary>When it was approved (UTC).</summary>
    public DateTimeOffset ApprovedAt { get; set; }

    /// <summary>The raw item object as the server sent it, in canonical key order.</summary>
    public JsonElement Definition { get; set; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UseStringEnumConverter = true)]
[JsonSerializable(typeof(PinLockFile))]
[JsonSerializable(typeof(CatalogItemDiff))]
internal sealed partial class PinningJsonContext : JsonSerializerContext;
