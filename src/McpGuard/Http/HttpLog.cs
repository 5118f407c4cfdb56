using Microsoft.Extensions.Logging;

namespace McpGuard.Http;

/// <summary>Source-generated log messages of the HTTP guard (event ids 1400–1419). URLs are logged without query or user info.</summary>
internal static partial class HttpLog
{
    [LoggerMessage(EventId = 1401, Level = LogLevel.Warning, Message = "McpGuard refused an HTTP request for server {ServerName}: {RuleId} url={Url} address={Address} hop={Hop}")]
    public static partial void RequestBlocked(ILogger logger, string? serverName, string ruleId, string? url, string? address, int hop);

    [LoggerMessage(EventId = 1402, Level = LogLevel.Debug, Message = "McpGuard HTTP: following redirect {Hop} for server {ServerName} to {Url}")]
    public static partial void FollowingRedirect(ILogger logger, string? serverName, int hop, string url);

    [LoggerMessage(EventId = 1403, Level = LogLevel.Debug, Message = "McpGuard HTTP: removed credentials on a cross-origin redirect for server {ServerName}")]
    public static partial void CredentialsStripped(ILogger logger, string? serverName);

    [LoggerMessage(EventId = 1404, Level = LogLevel.Debug, Message = "McpGuard HTTP: checked {Kind} metadata for server {ServerName} from {Url} ({Bytes} bytes)")]
    public static partial void MetadataChecked(ILogger logger, string kind, string? serverName, string url, int bytes);
}
