using Microsoft.Extensions.Logging;

namespace McpGuard.Diagnostics;

/// <summary>Credential control log messages (event ids 1400–1419). Never a secret: labels, fingerprints and rule ids only.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1401, Level = LogLevel.Warning, Message = "McpGuard refused an HTTP request of server {ServerName}: {RuleId}")]
    public static partial void CredentialBlocked(ILogger logger, string serverName, string ruleId);

    [LoggerMessage(EventId = 1402, Level = LogLevel.Information, Message = "McpGuard bound a bearer token ({Fingerprint}) to server {ServerName} as {Label}")]
    public static partial void CredentialBound(ILogger logger, string serverName, string label, string fingerprint);
}
