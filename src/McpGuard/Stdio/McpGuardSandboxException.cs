namespace McpGuard;

/// <summary>
/// Thrown when McpGuard does not start a local (stdio) server because its sandbox cannot be set up: the registration
/// requires one (<see cref="StdioSandboxMode.Required"/>) and bubblewrap is missing, fails its self-check or the OS is not
/// Linux (rule <c>stdio.sandbox-unavailable</c>), or a granted path does not exist (rule <c>stdio.sandbox-path-missing</c>).
/// The server process was never started; a <see cref="GuardEvidenceKind.ConnectionRefused"/> event records the refusal.
/// </summary>
public sealed class McpGuardSandboxException : McpGuardException
{
    /// <summary>Creates the exception for a refusal.</summary>
    /// <param name="decision">The refusal (rule id and host-facing reason).</param>
    /// <param name="serverName">The server's registration name.</param>
    /// <param name="innerException">The cause, if any.</param>
    public McpGuardSandboxException(GuardDecision decision, string serverName, Exception? innerException = null)
        : base($"McpGuard did not start server '{serverName}': {decision?.RuleId}: {decision?.Reason}", innerException)
    {
        ArgumentNullException.ThrowIfNull(decision);
        Decision = decision;
        ServerName = serverName;
    }
}
