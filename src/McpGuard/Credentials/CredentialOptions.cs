namespace McpGuard;

/// <summary>
/// Options of the credential controls: audience binding of tokens, token passthrough prevention and scope
/// minimization. Credentials themselves are registered in code (<see cref="McpGuardEngine.Credentials"/> or
/// <c>IMcpGuardBuilder.AddCredential</c>), never in configuration files.
/// </summary>
public sealed class CredentialOptions
{
    /// <summary>Whether a <c>tools/call</c> whose arguments contain a credential the host holds (exact value or a common encoding) is denied (rule <c>token.passthrough</c>).</summary>
    /// <value>Default: <see langword="true"/>.</value>
    public bool PreventPassthrough { get; set; } = true;

    /// <summary>
    /// Whether a bearer token the registry does not know, seen on a request to the server's own resource origin, is
    /// bound to that server (source <see cref="GuardCredentialSource.Observed"/>) so it can never be sent elsewhere nor
    /// passed in tool arguments. An unknown bearer token to any other origin is always refused; with this option off, an
    /// unknown bearer token is refused everywhere (every token must be registered or issued through <see cref="McpGuardEngine.ConfigureOAuth"/>).
    /// </summary>
    /// <value>Default: <see langword="true"/>.</value>
    public bool BindObservedBearerTokens { get; set; } = true;

    /// <summary>Shortest secret the registry accepts, in characters.</summary>
    /// <value>Default: 8. Range: 6–4,096.</value>
    public int MinimumSecretLength { get; set; } = 8;
}
