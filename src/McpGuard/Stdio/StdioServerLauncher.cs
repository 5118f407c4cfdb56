using McpGuard.Diagnostics;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace McpGuard.Stdio;

/// <summary>
/// The client transport McpGuard uses for the stdio servers it launches (<see cref="McpGuardEngine.CreateTransport"/>):
/// plans the launch (scrubbed environment, sandbox), refuses it when a required sandbox is unavailable, records the exact
/// command line, then starts the process through the SDK's <see cref="StdioClientTransport"/>.
/// </summary>
internal sealed class StdioServerLauncher : IClientTransport
{
    private readonly StdioLaunchOptions _options;
    private readonly ILoggerFactory _loggerFactory;

    public StdioServerLauncher(string serverName, StdioLaunchOptions options, ILoggerFactory loggerFactory)
    {
        ServerName = serverName;
        _options = options;
        _loggerFactory = loggerFactory;
    }

    public string Name => ServerName;

    public string ServerName { get; }

    /// <summary>The plan as far as it is known without running anything (the endpoint before connecting).</summary>
    public StdioLaunchPlan PlannedLaunch() => StdioLaunchPlanner.Plan(_options);

    /// <summary>Direct use without a guarded session: plans and launches, throwing <see cref="McpGuardSandboxException"/> on refusal (no evidence).</summary>
    public async Task<ITransport> ConnectAsync(CancellationToken cancellationToken = default)
    {
        StdioLaunchPlan plan = await StdioLaunchPlanner.PrepareAsync(_options, cancellationToken).ConfigureAwait(false);
        return plan.Refusal is { } refusal
            ? throw new McpGuardSandboxException(refusal, ServerName)
            : await StartAsync(plan, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Launches for a guarded session: sets the session's endpoint to the exact command line, records the launch
    /// (<see cref="GuardEvidenceKind.ServerLaunched"/>) or the refusal (<see cref="GuardEvidenceKind.ConnectionRefused"/>)
    /// before anything starts, then starts the process.
    /// </summary>
    /// <exception cref="McpGuardSandboxException">A required sandbox is unavailable or a granted path is missing.</exception>
    /// <exception cref="McpGuardConnectionRefusedException">The launch could not be recorded and <see cref="EvidenceOptions.DenyWhenEvidenceFails"/> is on (rule <c>evidence.unavailable</c>).</exception>
    public async Task<ITransport> LaunchAsync(McpGuardEngine engine, GuardSessionInfo session, CancellationToken cancellationToken)
    {
        StdioLaunchPlan plan = await StdioLaunchPlanner.PrepareAsync(_options, cancellationToken).ConfigureAwait(false);
        session.Endpoint = plan.CommandLine;
        if (plan.Refusal is { } refusal)
        {
            Log.ConnectionRefused(engine.Logger, ServerName, refusal.RuleId!);
            Log.SandboxUnavailable(engine.Logger, ServerName, refusal.Reason ?? string.Empty);
            await engine.Evidence.WriteAsync(new GuardEvidence(GuardEvidenceKind.ConnectionRefused, session, engine.Evidence)
            {
                Decision = GuardDecisionKind.Deny,
                RuleId = refusal.RuleId,
                Reason = refusal.Reason,
                Details = plan.ToEvidenceDetails(),
            }, CancellationToken.None).ConfigureAwait(false);
            throw new McpGuardSandboxException(refusal, ServerName);
        }

        if (plan.Sandboxed)
        {
            Log.LaunchingSandboxed(engine.Logger, ServerName, plan.CommandLine);
        }
        else if (plan.NotSandboxedReason is { } reason)
        {
            Log.LaunchingWithoutSandbox(engine.Logger, ServerName, reason);
        }

        bool recorded = await engine.Evidence.WriteAsync(new GuardEvidence(GuardEvidenceKind.ServerLaunched, session, engine.Evidence)
        {
            Details = plan.ToEvidenceDetails(),
            NotVerified = plan.Sandboxed
                ? ["The sandbox confines the server's processes; what they do with the granted paths, variables and (if allowed) network is not observed."]
                : ["The server runs without a sandbox: it can read whatever the host user can read and open network connections; only its environment is scrubbed."],
        }, CancellationToken.None).ConfigureAwait(false);
        if (!recorded && engine.Options.Evidence.DenyWhenEvidenceFails)
        {
            // A process nobody can later account for is not started (fail closed, as for tool calls).
            GuardDecision unrecorded = GuardDecision.Deny("The launch could not be recorded in evidence; the server was not started.", "evidence.unavailable");
            Log.ConnectionRefused(engine.Logger, ServerName, unrecorded.RuleId!);
            throw new McpGuardConnectionRefusedException(unrecorded, ServerName);
        }

        return await StartAsync(plan, cancellationToken).ConfigureAwait(false);
    }

    private Task<ITransport> StartAsync(StdioLaunchPlan plan, CancellationToken cancellationToken)
    {
        var inner = new StdioClientTransport(
            new StdioClientTransportOptions
            {
                Name = ServerName,
                Command = plan.FileName,
                Arguments = [.. plan.Arguments],
                WorkingDirectory = plan.WorkingDirectory,
                InheritEnvironmentVariables = false,
                EnvironmentVariables = new Dictionary<string, string?>(plan.Environment, StringComparer.Ordinal),
            },
            _loggerFactory);
        return inner.ConnectAsync(cancellationToken);
    }
}
