using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using McpGuard.Pinning;

namespace McpGuard;

/// <summary>
/// An inventory of every registered server for a security reviewer: identity (expected and pinned), how it is launched
/// or reached, owner, authority, kill-switch state, and every pinned tool/prompt/template with its hash, who approved it
/// and when, risk flags, and any drift seen since. Render with <see cref="ToJson"/> or <see cref="ToMarkdown"/>.
/// </summary>
/// <param name="GeneratedAt">When the report was made (engine <see cref="TimeProvider"/>).</param>
/// <param name="Servers">One entry per registration, ordered by name.</param>
public sealed record GuardInventory(DateTimeOffset GeneratedAt, IReadOnlyList<InventoryServer> Servers)
{
    /// <summary>The report as indented JSON (camelCase).</summary>
    /// <returns>JSON text.</returns>
    public string ToJson() => JsonSerializer.Serialize(this, InventoryJsonContext.Default.GuardInventory);

    /// <summary>The report as Markdown a reviewer can read: one section per server with a table of items.</summary>
    /// <returns>Markdown text. Server-controlled names are escaped (<c>|</c>, backticks, line breaks).</returns>
    public string ToMarkdown()
    {
        var sb = new StringBuilder();
        sb.Append("# MCP server inventory\n\nGenerated ").Append(GeneratedAt.ToString("u", CultureInfo.InvariantCulture)).Append(".\n");
        foreach (InventoryServer s in Servers)
        {
            sb.Append("\n## ").Append(Escape(s.Name)).Append(s.Enabled ? string.Empty : " (DISABLED)").Append("\n\n");
            sb.Append("| | |\n|---|---|\n");
            Row(sb, "owner", s.Owner);
            Row(sb, "reached by", s.Endpoint is null ? null : "`" + s.Endpoint.Replace("`", "'", StringComparison.Ordinal) + "`");
            if (s.Sandbox is not null)
            {
                Row(sb, "sandbox", s.Sandbox);
            }

            Row(sb, "expected identity", Join(s.ExpectedName, s.ExpectedVersion));
            Row(sb, "pinned identity", Join(s.PinnedName, s.PinnedVersion));
            Row(sb, "credential", s.CredentialLabel is null ? "none" : s.CredentialLabel + (s.Scopes.Count > 0 ? " (scopes: " + string.Join(' ', s.Scopes) + ")" : string.Empty));
            Row(sb, "default tool access", s.DefaultToolAccess);
            Row(sb, "last change", s.LastChange);
            if (s.Sandbox is not null && s.Endpoint is not null)
            {
                // The table cell is shortened; a launched server's exact command line is shown whole (host-configured, quoted).
                sb.Append("\nCommand line:\n\n```\n").Append(s.Endpoint.ReplaceLineEndings(" ")).Append("\n```\n");
            }
            if (s.Items.Count == 0)
            {
                sb.Append("\nNo pinned items.\n");
                continue;
            }

            sb.Append("\n| kind | name | access | sha256 | approved by | approved at | risk flags | drift |\n|---|---|---|---|---|---|---|---|\n");
            foreach (InventoryItem i in s.Items)
            {
                sb.Append("| ").Append(i.Kind).Append(" | ").Append(Escape(i.Name)).Append(" | ").Append(i.Access ?? "-")
                  .Append(" | `").Append(i.Sha256.Length >= 12 ? i.Sha256[..12] : i.Sha256).Append("` | ").Append(Escape(i.ApprovedBy ?? "-"))
                  .Append(" | ").Append(i.ApprovedAt?.ToString("u", CultureInfo.InvariantCulture) ?? "-")
                  .Append(" | ").Append(i.RiskFlags.Count == 0 ? "-" : Escape(string.Join(", ", i.RiskFlags)))
                  .Append(" | ").Append(i.Drift is null ? "-" : Escape(i.Drift)).Append(" |\n");
            }
        }

        return sb.ToString();

        static void Row(StringBuilder sb, string key, string? value) => sb.Append("| ").Append(key).Append(" | ").Append(value is null ? "-" : Escape(value)).Append(" |\n");

        static string? Join(string? a, string? b) => a is null && b is null ? null : $"{a ?? "?"} {b ?? "?"}";
    }

    private static string Escape(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (char c in text.Length > 300 ? text[..300] + "…" : text)
        {
            sb.Append(c switch
            {
                '|' => "\\|",
                '\n' or '\r' or '\t' => " ",
                _ when char.IsControl(c) => "\uFFFD",
                _ => c.ToString(),
            });
        }

        return sb.ToString();
    }

    internal static GuardInventory Build(McpGuardEngine engine)
    {
        PinLockFile pins = engine.Pinning?.Snapshot() ?? new PinLockFile();
        IReadOnlyDictionary<(string Server, string Key), CatalogItemDiff> drift =
            engine.Pinning?.LastDrift ?? new Dictionary<(string Server, string Key), CatalogItemDiff>();
        var servers = new List<InventoryServer>();
        foreach ((string name, GuardServerOptions options) in engine.Options.Servers.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            pins.Servers.TryGetValue(name, out PinnedServer? pinned);
            var items = new List<InventoryItem>();
            DateTimeOffset? last = null;
            string? lastBy = null;
            if (pinned is not null)
            {
                foreach ((string key, PinnedItem item) in pinned.Items)
                {
                    string? access = item.Kind == CatalogItemKind.Tool
                        ? (options.Tools.TryGetValue(item.Name, out GuardToolOptions? t) ? t.Access.ToString() : (options.DefaultToolAccess ?? engine.Options.DefaultToolAccess) + " (default)")
                        : null;
                    if (engine.KillSwitch.IsToolDisabled(name, item.Name) && item.Kind == CatalogItemKind.Tool)
                    {
                        access = "Disabled";
                    }

                    drift.TryGetValue((name, key), out CatalogItemDiff? d);
                    items.Add(new InventoryItem(item.Kind, item.Name, access, item.Sha256, item.ApprovedBy, item.ApprovedAt, RiskFlags(item.Definition),
                        d is null ? null : $"{d.Risk}: " + string.Join("; ", d.Findings.Take(3).Select(f => f.Kind.ToString()))));
                    if (last is null || item.ApprovedAt > last)
                    {
                        last = item.ApprovedAt;
                        lastBy = item.ApprovedBy;
                    }
                }
            }

            Stdio.StdioLaunchPlan? launch = options.Stdio is { } stdio ? Stdio.StdioLaunchPlanner.Plan(stdio) : null;
            servers.Add(new InventoryServer(
                name,
                !engine.KillSwitch.IsServerDisabled(name),
                options.Owner,
                launch?.CommandLine ?? pinned?.Endpoint,
                options.ExpectedName,
                options.ExpectedVersion,
                pinned?.ReportedName,
                pinned?.ReportedVersion,
                options.Authority.CredentialLabel,
                [.. options.Authority.Scopes],
                (options.DefaultToolAccess ?? engine.Options.DefaultToolAccess).ToString(),
                last is null ? null : $"{last.Value.ToString("u", CultureInfo.InvariantCulture)} by {lastBy}",
                items,
                launch?.Summary));
        }

        return new GuardInventory(engine.TimeProvider.GetUtcNow(), servers);
    }

    private static List<string> RiskFlags(JsonElement definition)
    {
        var flags = new List<string>();
        if (definition.TryGetProperty("annotations", out JsonElement a) && a.ValueKind == JsonValueKind.Object)
        {
            if (!(a.TryGetProperty("readOnlyHint", out JsonElement ro) && ro.ValueKind == JsonValueKind.True))
            {
                flags.Add("may-write");
            }

            if (a.TryGetProperty("destructiveHint", out JsonElement de) && de.ValueKind == JsonValueKind.True)
            {
                flags.Add("destructive");
            }

            if (!(a.TryGetProperty("openWorldHint", out JsonElement ow) && ow.ValueKind == JsonValueKind.False))
            {
                flags.Add("open-world");
            }
        }
        else if (definition.TryGetProperty("inputSchema", out _))
        {
            // Without annotations the MCP spec defaults apply: readOnlyHint false, openWorldHint true.
            flags.Add("no-annotations");
            flags.Add("may-write");
            flags.Add("open-world");
        }

        if (definition.TryGetProperty("description", out JsonElement d) && d.ValueKind == JsonValueKind.String
            && CatalogDiffer.FindInstructionCues(d.GetString()!) is { Count: > 0 } cues)
        {
            flags.Add("instruction-like-description(" + string.Join('/', cues.Take(3)) + ")");
        }

        if (definition.TryGetProperty("inputSchema", out JsonElement schema) && schema.ValueKind == JsonValueKind.Object
            && schema.TryGetProperty("properties", out JsonElement props) && props.ValueKind == JsonValueKind.Object)
        {
            foreach (JsonProperty p in props.EnumerateObject())
            {
                if (CatalogDiffer.SuspiciousParameter.IsMatch(p.Name))
                {
                    flags.Add("param:" + p.Name);
                }
            }
        }

        return flags;
    }
}

/// <summary>One registered server in a <see cref="GuardInventory"/>.</summary>
/// <param name="Name">Registration name.</param>
/// <param name="Enabled">Whether the kill switch allows it.</param>
/// <param name="Owner">Host-supplied owner.</param>
/// <param name="Endpoint">Exact stdio command line (for a sandboxed server: <c>bwrap</c>, its arguments, then the server's command) or URL.</param>
/// <param name="ExpectedName">Identity pin from the registration.</param>
/// <param name="ExpectedVersion">Version pin from the registration.</param>
/// <param name="PinnedName">Name the server reported when its catalog was pinned.</param>
/// <param name="PinnedVersion">Version it reported then.</param>
/// <param name="CredentialLabel">Credential label (never the secret).</param>
/// <param name="Scopes">Scopes of that credential.</param>
/// <param name="DefaultToolAccess">Access for unconfigured tools.</param>
/// <param name="LastChange">When the catalog pin last changed and who approved it.</param>
/// <param name="Items">Pinned items.</param>
/// <param name="Sandbox">For a stdio server: whether and how it is sandboxed (mode, bubblewrap, network, granted paths), or why not; <see langword="null"/> for other transports.</param>
public sealed record InventoryServer(
    string Name, bool Enabled, string? Owner, string? Endpoint, string? ExpectedName, string? ExpectedVersion, string? PinnedName, string? PinnedVersion,
    string? CredentialLabel, IReadOnlyList<string> Scopes, string DefaultToolAccess, string? LastChange, IReadOnlyList<InventoryItem> Items, string? Sandbox = null);

/// <summary>One pinned item in a <see cref="GuardInventory"/>.</summary>
/// <param name="Kind">Tool, prompt or resource template.</param>
/// <param name="Name">Item name.</param>
/// <param name="Access">Configured access for tools (<c>Allow</c>, <c>Hidden (default)</c>, <c>Disabled</c>, ...).</param>
/// <param name="Sha256">Pinned hash (RFC 8785 canonical raw JSON).</param>
/// <param name="ApprovedBy">Who approved the pin.</param>
/// <param name="ApprovedAt">When.</param>
/// <param name="RiskFlags">Static flags from the pinned definition (may-write, destructive, open-world, instruction-like description, suspicious parameter names).</param>
/// <param name="Drift">Summary of drift seen since it was pinned, if any.</param>
public sealed record InventoryItem(CatalogItemKind Kind, string Name, string? Access, string Sha256, string? ApprovedBy, DateTimeOffset? ApprovedAt, IReadOnlyList<string> RiskFlags, string? Drift);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true, UseStringEnumConverter = true)]
[JsonSerializable(typeof(GuardInventory))]
internal sealed partial class InventoryJsonContext : JsonSerializerContext;
