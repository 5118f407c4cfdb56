namespace McpGuard;

/// <summary>How the pinning stage treats catalog items that are not pinned or differ from their pin.</summary>
public enum PinningMode
{
    /// <summary>Anything not pinned is blocked until approved through <see cref="ICatalogChangeApprovalHandler"/>.</summary>
    Strict = 0,

    /// <summary>Trust on first use: an item never seen before is pinned on first sight; later changes are enforced. The default.</summary>
    TrustOnFirstUse = 1,

    /// <summary>Report drift as evidence, never block.</summary>
    AuditOnly = 2,
}

/// <summary>What happens to a changed catalog item of a given risk.</summary>
public enum DriftReaction
{
    /// <summary>Evidence only; the item stays usable.</summary>
    Warn = 0,

    /// <summary>The item stays visible; each call to it goes to the approval handler (rule <c>catalog.changed</c>).</summary>
    RequireApproval = 1,

    /// <summary>The item is hidden and every call is denied (rule <c>catalog.drift-blocked</c>) until the change is approved and the pin updated.</summary>
    Block = 2,
}

/// <summary>
/// Options of the pinning stage: pin each server's catalog (tools, prompts, resource templates) by the SHA-256 of the
/// RFC 8785 canonical form of the raw JSON, detect drift (rug pulls) on every listing and before every call, and react
/// per risk level.
/// </summary>
public sealed class PinningOptions
{
    /// <summary>Whether the pinning stage runs.</summary>
    /// <value>Default: <see langword="false"/> (a stage that is not configured costs nothing).</value>
    public bool Enabled { get; set; }

    /// <summary>How unpinned and changed items are treated.</summary>
    /// <value>Default: <see cref="PinningMode.TrustOnFirstUse"/>.</value>
    public PinningMode Mode { get; set; } = PinningMode.TrustOnFirstUse;

    /// <summary>Path of the lock file (<c>mcpguard.lock.json</c>) that teams commit next to their host. <see langword="null"/>: pins live in memory for the engine's lifetime.</summary>
    public string? LockFilePath { get; set; }

    /// <summary>Reaction to high-risk changes.</summary>
    /// <value>Default: <see cref="DriftReaction.Block"/>.</value>
    public DriftReaction HighRisk { get; set; } = DriftReaction.Block;

    /// <summary>Reaction to medium-risk changes.</summary>
    /// <value>Default: <see cref="DriftReaction.RequireApproval"/>.</value>
    public DriftReaction MediumRisk { get; set; } = DriftReaction.RequireApproval;

    /// <summary>Reaction to low-risk changes.</summary>
    /// <value>Default: <see cref="DriftReaction.Warn"/>.</value>
    public DriftReaction LowRisk { get; set; } = DriftReaction.Warn;

    /// <summary>Whether the guard re-lists a server's tools itself when the server sends <c>notifications/tools/list_changed</c>.</summary>
    /// <value>Default: <see langword="true"/>.</value>
    public bool RelistOnListChanged { get; set; } = true;

    internal DriftReaction ReactionFor(ChangeRisk risk) => risk switch
    {
        ChangeRisk.High => HighRisk,
        ChangeRisk.Medium => MediumRisk,
        _ => LowRisk,
    };
}
