using Microsoft.Extensions.Logging;

namespace McpGuard.Diagnostics;

/// <summary>Source-generated log messages with stable event ids (1000–1999). Arguments and results are never logged raw.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "McpGuard evidence {Kind}: server={ServerName} tool={ToolName} decision={Decision} rule={RuleId} session={SessionId}")]
    public static partial void Evidence(ILogger logger, GuardEvidenceKind kind, string? serverName, string? toolName, GuardDecisionKind? decision, string? ruleId, string? sessionId);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Error, Message = "McpGuard evidence sink {Sink} failed to write a {Kind} event")]
    public static partial void EvidenceSinkFailed(ILogger logger, Exception exception, string sink, GuardEvidenceKind kind);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Warning, Message = "McpGuard stage {Stage} failed; the call is denied")]
    public static partial void StageFailed(ILogger logger, Exception exception, string stage);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Warning, Message = "McpGuard approval handler failed; the call is denied")]
    public static partial void ApprovalHandlerFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Warning, Message = "McpGuard refused the connection to server {ServerName}: {RuleId}")]
    public static partial void ConnectionRefused(ILogger logger, string serverName, string ruleId);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Warning, Message = "McpGuard: server {ServerName} broke the protocol: {RuleId}")]
    public static partial void ProtocolViolation(ILogger logger, string serverName, string ruleId);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Warning, Message = "McpGuard: the transport of server {ServerName} failed")]
    public static partial void TransportFailed(ILogger logger, Exception exception, string serverName);

    [LoggerMessage(EventId = 1008, Level = LogLevel.Warning, Message = "McpGuard kill switch: {Target} is now {State}")]
    public static partial void KillSwitch(ILogger logger, string target, string state);

    [LoggerMessage(EventId = 1009, Level = LogLevel.Error, Message = "McpGuard: the evidence file {Path} fails its hash chain at line {Line}: {Problem}")]
    public static partial void EvidenceChainBroken(ILogger logger, string path, long line, string problem);

    [LoggerMessage(EventId = 1501, Level = LogLevel.Information, Message = "McpGuard: launching server {ServerName} in a sandbox: {CommandLine}")]
    public static partial void LaunchingSandboxed(ILogger logger, string serverName, string commandLine);

    [LoggerMessage(EventId = 1502, Level = LogLevel.Warning, Message = "McpGuard: launching server {ServerName} WITHOUT a sandbox (Sandbox:Mode = Preferred): {Reason}")]
    public static partial void LaunchingWithoutSandbox(ILogger logger, string serverName, string reason);

    [LoggerMessage(EventId = 1503, Level = LogLevel.Error, Message = "McpGuard: server {ServerName} not started: {Reason}")]
    public static partial void SandboxUnavailable(ILogger logger, string serverName, string reason);
}
