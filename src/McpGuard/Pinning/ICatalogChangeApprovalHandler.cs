namespace McpGuard;

/// <summary>A catalog change waiting for a reviewer: the server, and the semantic diff of one item against its pin.</summary>
/// <param name="ServerName">The registration name.</param>
/// <param name="Server">The identity the server reported in this session.</param>
/// <param name="Endpoint">How the server is reached.</param>
/// <param name="Diff">The semantic diff with risk and findings.</param>
/// <param name="Mode">The pinning mode in force.</param>
public sealed record CatalogChangeRequest(string ServerName, ServerIdentity? Server, string Endpoint, CatalogItemDiff Diff, PinningMode Mode);

/// <summary>A reviewer's answer to a <see cref="CatalogChangeRequest"/>.</summary>
/// <param name="Approved">Whether the new definition becomes the pin.</param>
/// <param name="ApproverId">Who decided, recorded in the lock file and evidence.</param>
/// <param name="Comment">Optional note recorded in evidence.</param>
public sealed record CatalogChangeDecision(bool Approved, string? ApproverId = null, string? Comment = null);

/// <summary>
/// Re-approval of catalog changes (rug pulls): called for items blocked by the pinning stage (new items in
/// <see cref="PinningMode.Strict"/>, changes whose reaction is <see cref="DriftReaction.Block"/>). An approved change
/// updates the pin store; anything else keeps the item blocked.
/// </summary>
/// <remarks>Must be thread-safe. A handler that throws or exceeds <see cref="ApprovalOptions.Timeout"/> counts as a rejection.</remarks>
public interface ICatalogChangeApprovalHandler
{
    /// <summary>Reviews one change.</summary>
    /// <param name="request">The change with its diff.</param>
    /// <param name="cancellationToken">Cancelled on timeout.</param>
    /// <returns>The decision.</returns>
    ValueTask<CatalogChangeDecision> ReviewAsync(CatalogChangeRequest request, CancellationToken cancellationToken);
}

internal sealed class DelegateCatalogChangeApprovalHandler(Func<CatalogChangeRequest, CancellationToken, ValueTask<CatalogChangeDecision>> review) : ICatalogChangeApprovalHandler
{
    public ValueTask<CatalogChangeDecision> ReviewAsync(CatalogChangeRequest request, CancellationToken cancellationToken) => review(request, cancellationToken);
}
