using System.Text.Json.Serialization;

namespace McpGuard;

/// <summary>How risky a catalog change is for the host.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ChangeRisk>))]
public enum ChangeRisk
{
    /// <summary>Cosmetic: whitespace, a typo fix, a small wording change without new instructions.</summary>
    Low = 0,

    /// <summary>Changes what the tool accepts or returns without an obvious attack shape (new optional parameter, widened type, constraints removed or loosened, <c>additionalProperties</c> opened, output schema change).</summary>
    Medium = 1,

    /// <summary>Changes the tool's authority or steers the model: new instructions in a description, a new required parameter named like a URL/callback/token/note, a read-only tool that now writes, a new or renamed tool.</summary>
    High = 2,
}

/// <summary>What kind of catalog item changed.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<CatalogItemKind>))]
public enum CatalogItemKind
{
    /// <summary>A tool (<c>tools/list</c>).</summary>
    Tool,

    /// <summary>A prompt (<c>prompts/list</c>).</summary>
    Prompt,

    /// <summary>A resource template (<c>resources/templates/list</c>).</summary>
    ResourceTemplate,

    /// <summary>The server's identity or instructions.</summary>
    Server,
}

/// <summary>The kind of one finding in a <see cref="CatalogItemDiff"/>.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ChangeKind>))]
public enum ChangeKind
{
    /// <summary>An item that is not pinned appeared.</summary>
    ItemAdded,

    /// <summary>A pinned item is gone.</summary>
    ItemRemoved,

    /// <summary>A pinned item reappeared under another name with the same definition.</summary>
    ItemRenamed,

    /// <summary>The description text changed (see <see cref="CatalogFinding.TextDiff"/>).</summary>
    DescriptionChanged,

    /// <summary>The title changed.</summary>
    TitleChanged,

    /// <summary>A schema property was added.</summary>
    PropertyAdded,

    /// <summary>A schema property was removed.</summary>
    PropertyRemoved,

    /// <summary>A property became required.</summary>
    RequiredAdded,

    /// <summary>A property is no longer required.</summary>
    RequiredRemoved,

    /// <summary>A property's type set grew (or its type was removed).</summary>
    TypeWidened,

    /// <summary>A property's type changed otherwise.</summary>
    TypeChanged,

    /// <summary>A restricting keyword (<c>enum</c>, <c>pattern</c>, <c>maxLength</c>, <c>format</c>, <c>maximum</c>, ...) was removed or loosened.</summary>
    ConstraintRemoved,

    /// <summary>A restricting keyword was added or tightened.</summary>
    ConstraintAdded,

    /// <summary><c>additionalProperties</c> went from <c>false</c> to allowed.</summary>
    AdditionalPropertiesOpened,

    /// <summary>An annotation hint changed (e.g. <c>readOnlyHint</c> true→false).</summary>
    AnnotationChanged,

    /// <summary>The output schema changed.</summary>
    OutputSchemaChanged,

    /// <summary>Any other field changed (only the hash tells).</summary>
    OtherChanged,

    /// <summary>The server's reported name or version changed.</summary>
    IdentityChanged,

    /// <summary>The server's instructions changed.</summary>
    InstructionsChanged,
}

/// <summary>One finding of a semantic diff: what changed, where, how risky, and why.</summary>
/// <param name="Kind">What changed.</param>
/// <param name="Path">Where, as a JSON path into the item (e.g. <c>$.inputSchema.properties.callback_url</c>).</param>
/// <param name="Risk">The finding's risk.</param>
/// <param name="Reason">Why it has that risk, for a reviewer.</param>
/// <param name="Before">The old value (short JSON or text), if any.</param>
/// <param name="After">The new value (short JSON or text), if any.</param>
/// <param name="TextDiff">For description changes: a word-level diff, <c>[-removed-]</c> and <c>{+added+}</c> around changed words.</param>
public sealed record CatalogFinding(ChangeKind Kind, string Path, ChangeRisk Risk, string Reason, string? Before = null, string? After = null, string? TextDiff = null);

/// <summary>The semantic diff of one catalog item against its pin: findings, overall risk, old and new hashes.</summary>
/// <param name="ItemKind">Tool, prompt, resource template or server.</param>
/// <param name="Name">The item's name (new name for renames).</param>
/// <param name="PinnedSha256">Hash of the pinned definition, or <see langword="null"/> for a new item.</param>
/// <param name="CurrentSha256">Hash of the current definition, or <see langword="null"/> for a removed item.</param>
/// <param name="Risk">The highest risk among the findings.</param>
/// <param name="Findings">The findings, most risky first.</param>
public sealed record CatalogItemDiff(CatalogItemKind ItemKind, string Name, string? PinnedSha256, string? CurrentSha256, ChangeRisk Risk, IReadOnlyList<CatalogFinding> Findings)
{
    /// <summary>Renders the diff as plain text a reviewer can read in seconds.</summary>
    /// <returns>Multi-line text.</returns>
    public string ToDisplayString()
    {
        var sb = new System.Text.StringBuilder();
        sb.Append(ItemKind).Append(" '").Append(Name).Append("': risk ").Append(Risk)
          .Append(" (").Append(PinnedSha256?[..12] ?? "new").Append(" -> ").Append(CurrentSha256?[..12] ?? "removed").AppendLine(")");
        foreach (CatalogFinding f in Findings)
        {
            sb.Append("  [").Append(f.Risk).Append("] ").Append(f.Kind).Append(' ').Append(f.Path).Append(": ").AppendLine(f.Reason);
            if (f.TextDiff is not null)
            {
                sb.Append("      ").AppendLine(f.TextDiff);
            }
            else if (f.Before is not null || f.After is not null)
            {
                sb.Append("      ").Append(f.Before ?? "(none)").Append(" -> ").AppendLine(f.After ?? "(none)");
            }
        }

        return sb.ToString();
    }
}
