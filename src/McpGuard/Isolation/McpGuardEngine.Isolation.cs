namespace McpGuard;

public sealed partial class McpGuardEngine
{
    /// <summary>
    /// Clears the taint of a session: the flag that content flagged as carrying instructions was read
    /// (<see cref="GuardSessionInfo.IsTainted"/>, <see cref="GuardSessionInfo.TaintSources"/>), for example after the user
    /// reviewed that content or started a new task. With <see cref="TaintScope.Principal"/> (the default) the taint is
    /// shared, so this clears it for every session of the session's principal. Records a
    /// <see cref="GuardEvidenceKind.TaintReset"/> event (who, why, the sources cleared) before clearing.
    /// </summary>
    /// <param name="session">The session, e.g. <see cref="GuardedClientTransport.Session"/>.</param>
    /// <param name="resetBy">Who decided (a user or operator id, host-defined); recorded in evidence.</param>
    /// <param name="reason">Why (host-facing text); recorded in evidence.</param>
    /// <param name="cancellationToken">Cancels writing the evidence.</param>
    /// <returns>The sources that were cleared, oldest first; empty when the session was not tainted. A source added while the reset ran stays.</returns>
    /// <remarks>
    /// Thread-safe. Only the taint is cleared: flow labels already derived from it (<see cref="FlowOptions.TaintFromIsolation"/>)
    /// stay with the flow state, and approvals given earlier are unaffected. The flagged content may still be in the model's
    /// context; clear the taint only when the host has decided that is acceptable.
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="session"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="resetBy"/> or <paramref name="reason"/> is empty.</exception>
    /// <exception cref="McpGuardException">The event could not be written and <see cref="EvidenceOptions.DenyWhenEvidenceFails"/> is on; nothing was cleared.</exception>
    public ValueTask<IReadOnlyList<TaintSource>> ResetTaintAsync(GuardSessionInfo session, string resetBy, string reason, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentException.ThrowIfNullOrWhiteSpace(resetBy);
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        return Isolation.ResetTaintAsync(session, session.Principal, resetBy, reason, cancellationToken);
    }

    /// <summary>
    /// Clears the taint every session of <paramref name="principal"/> shares under <see cref="TaintScope.Principal"/> (the
    /// default), including the state that later sessions of the principal inherit when none is connected. Records a
    /// <see cref="GuardEvidenceKind.TaintReset"/> event before clearing.
    /// </summary>
    /// <param name="principal">The agent and user, as passed to <see cref="WrapTransport"/>.</param>
    /// <param name="resetBy">Who decided (host-defined); recorded in evidence.</param>
    /// <param name="reason">Why (host-facing text); recorded in evidence.</param>
    /// <param name="cancellationToken">Cancels writing the evidence.</param>
    /// <returns>The sources that were cleared, oldest first; empty when the principal was not tainted.</returns>
    /// <remarks>Thread-safe. See <see cref="ResetTaintAsync(GuardSessionInfo, string, string, CancellationToken)"/> for what is not cleared.</remarks>
    /// <exception cref="ArgumentNullException"><paramref name="principal"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="resetBy"/> or <paramref name="reason"/> is empty.</exception>
    /// <exception cref="InvalidOperationException"><see cref="IsolationOptions.TaintScope"/> is <see cref="TaintScope.Session"/>: there is no shared taint; reset each session.</exception>
    /// <exception cref="McpGuardException">The event could not be written and <see cref="EvidenceOptions.DenyWhenEvidenceFails"/> is on; nothing was cleared.</exception>
    public ValueTask<IReadOnlyList<TaintSource>> ResetTaintAsync(GuardPrincipal principal, string resetBy, string reason, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(principal);
        ArgumentException.ThrowIfNullOrWhiteSpace(resetBy);
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        return Isolation.ResetTaintAsync(null, principal, resetBy, reason, cancellationToken);
    }
}
