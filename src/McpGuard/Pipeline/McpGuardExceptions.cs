namespace McpGuard;

/// <summary>JSON-RPC error codes McpGuard uses when it answers a request itself (implementation-defined range −32000…−32099, JSON-RPC 2.0 §5.1).</summary>
public static class McpGuardErrorCodes
{
    /// <summary>The request was denied by the host's policy: −32051.</summary>
    public const int PolicyDenied = -32051;

    /// <summary>The connection was refused by the host's policy (unregistered, disabled, identity mismatch): −32052.</summary>
    public const int ConnectionRefused = -32052;

    /// <summary>The server sent something the guard could not accept (malformed or oversized data): −32053.</summary>
    public const int ServerResponseRejected = -32053;
}

/// <summary>Base type of McpGuard's typed errors for the host.</summary>
/// <remarks>Messages may contain server-controlled values quoted for diagnosis: show them to operators, never to the model.</remarks>
public class McpGuardException : Exception
{
    /// <summary>Creates an exception with a message.</summary>
    /// <param name="message">Host-facing message.</param>
    public McpGuardException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and inner exception.</summary>
    /// <param name="message">Host-facing message.</param>
    /// <param name="innerException">The cause.</param>
    public McpGuardException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception with no message.</summary>
    public McpGuardException()
    {
    }

    /// <summary>The decision behind the error, if any.</summary>
    public GuardDecision? Decision { get; init; }

    /// <summary>The server's registration name, if known.</summary>
    public string? ServerName { get; init; }
}

/// <summary>Thrown from <c>CallToolAsync</c> for a denied call when <see cref="McpGuardOptions.DeniedCallBehavior"/> is <see cref="DeniedCallBehavior.Throw"/>.</summary>
public sealed class McpGuardPolicyException : McpGuardException
{
    /// <summary>Creates the exception for a decision.</summary>
    /// <param name="decision">The Deny decision.</param>
    /// <param name="serverName">The server's registration name.</param>
    /// <param name="toolName">The tool called.</param>
    public McpGuardPolicyException(GuardDecision decision, string serverName, string toolName)
        : base($"McpGuard denied the call to '{serverName}/{toolName}': {decision.RuleId}: {decision.Reason}")
    {
        Decision = decision;
        ServerName = serverName;
        ToolName = toolName;
    }

    /// <summary>The tool called.</summary>
    public string ToolName { get; } = string.Empty;
}

/// <summary>Thrown when a connection is refused: the server is not registered, is disabled, or reported an identity that does not match its registration.</summary>
public sealed class McpGuardConnectionRefusedException : McpGuardException
{
    /// <summary>Creates the exception for a refusal decision.</summary>
    /// <param name="decision">The refusal.</param>
    /// <param name="serverName">The registration name asked for.</param>
    /// <param name="innerException">The SDK's error, if any.</param>
    public McpGuardConnectionRefusedException(GuardDecision decision, string serverName, Exception? innerException = null)
        : base($"McpGuard refused the connection to '{serverName}': {decision.RuleId}: {decision.Reason}", innerException)
    {
        Decision = decision;
        ServerName = serverName;
    }
}
