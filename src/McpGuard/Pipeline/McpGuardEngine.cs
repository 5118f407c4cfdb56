using System.Text.Json.Nodes;
using McpGuard.Approval;
using McpGuard.Evidence;
using McpGuard.Pipeline;
using McpGuard.Policies;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ModelContextProtocol;
using ModelContextProtocol.Client;

namespace McpGuard;

/// <summary>
/// The built guard: validated options, the immutable stage pipeline (inventory and kill switch, tool visibility,
/// argument constraints, custom policies, approval) and the evidence sinks. Wraps transports and creates guarded
/// <see cref="McpClient"/> instances for registered servers.
/// </summary>
/// <remarks>
/// Build with <see cref="McpGuardEngineBuilder"/> or resolve from DI after <c>services.AddMcpGuard(...)</c>.
/// Thread-safe; one engine serves any number of sessions. Disposing it disposes sinks it owns (the JSON Lines file).
/// </remarks>
public sealed partial class McpGuardEngine : IAsyncDisposable
{
    private readonly JsonLinesEvidenceSink? _evidenceFile;
    private readonly List<IAsyncDisposable> _owned;

    internal McpGuardEngine(
        McpGuardOptions options,
        IEnumerable<IToolCallPolicy> policies,
        IToolApprovalHandler? approvalHandler,
        IEnumerable<IGuardEvidenceSink> sinks,
        ILoggerFactory? loggerFactory,
        TimeProvider? timeProvider,
        IPinStore? pinStore = null,
        ICatalogChangeApprovalHandler? catalogReviewer = null,
        IEnumerable<IInjectionDetector>? detectors = null,
        IElicitationApprovalHandler? elicitationApprover = null,
        GuardCredentialRegistry? credentials = null,
        IScopeStepUpApprovalHandler? stepUpHandler = null)
    {
        McpGuardOptionsValidator.ThrowIfInvalid(options);
        Options = options;
        TimeProvider = timeProvider ?? TimeProvider.System;
        LoggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        Logger = LoggerFactory.CreateLogger("McpGuard");
        _owned = [];

        var allSinks = new List<IGuardEvidenceSink>(sinks);
        if (options.Evidence.JsonLinesPath is { Length: > 0 } path)
        {
            var file = new JsonLinesEvidenceSink(path, hashChain: options.Evidence.HashChain);
            allSinks.Add(file);
            _owned.Add(file);
            EvidencePath = file.Path;
            _evidenceFile = file;
        }

        Evidence = new EvidenceRecorder([.. allSinks], options.Evidence, LoggerFactory.CreateLogger("McpGuard.Evidence"), TimeProvider);
        if (options.Evidence.VerifyChainOnStart && options.Evidence.HashChain && EvidencePath is { } evidencePath && File.Exists(evidencePath))
        {
            EvidenceChainAtStart = VerifyEvidenceFile(evidencePath);
        }

        Credentials = credentials ?? new GuardCredentialRegistry(options.Credentials.MinimumSecretLength);
        CredentialGuard = new Credentials.CredentialGuard(options, Credentials, stepUpHandler, Evidence, LoggerFactory.CreateLogger("McpGuard.Credentials"), TimeProvider);
        Evidence.AuthorityResolver = CredentialGuard.AuthorityFor;
        Evidence.ContainsCredential = text => Credentials.Matcher.Find(text) is not null;
        KillSwitch = new GuardKillSwitch(options.Servers, OnKillSwitchChanged);
        Visibility = new ToolVisibilityStage(options);
        var stages = new List<GuardStage> { new InventoryStage(KillSwitch), Visibility };
        if (options.Pinning.Enabled)
        {
            IPinStore store = pinStore ?? (options.Pinning.LockFilePath is { Length: > 0 } lockPath ? new FilePinStore(lockPath) : new InMemoryPinStore());
            Pinning = new Pinning.CatalogPinning(options.Pinning, store, catalogReviewer, Evidence, options.Approval.Timeout);
            stages.Add(new Pinning.PinningStage());
        }

        stages.Add(new ArgumentConstraintStage(options));
        if (options.Credentials.PreventPassthrough)
        {
            stages.Add(new Credentials.CredentialPassthroughStage(Credentials));
        }
        if (options.Isolation.Enabled)
        {
            stages.Add(new McpGuard.Isolation.IsolationStage());
        }

        if (options.Flow.Enabled)
        {
            Flow = new McpGuard.Flow.FlowControl(options.Flow, TimeProvider);
            stages.Add(new McpGuard.Flow.FlowStage(Flow));
        }

        stages.AddRange(policies.Select(p => new CustomPolicyStage(p)));
        Pipeline = new GuardPipeline(stages, Logger);
        Approvals = new ApprovalCoordinator(approvalHandler, options.Approval, TimeProvider, Logger);
        Isolation = new McpGuard.Isolation.ContentIsolation(options, detectors ?? [], Evidence, Approvals, TimeProvider);
        ServerRequests = new ServerRequests.ServerRequestGuard(options, elicitationApprover, TimeProvider, Logger);
    }

    /// <summary>The runtime kill switch for servers and tools.</summary>
    public GuardKillSwitch KillSwitch { get; }

    /// <summary>The credentials the host holds, each bound to its resource (audience); register static API keys and bearer tokens here. Tokens the SDK's OAuth flow obtains are added by <see cref="ConfigureOAuth"/> and the binding handler.</summary>
    public GuardCredentialRegistry Credentials { get; }

    /// <summary>The absolute path of the JSON Lines evidence file, if <see cref="EvidenceOptions.JsonLinesPath"/> is set.</summary>
    public string? EvidencePath { get; }

    /// <summary>
    /// The hash chain's head of the <see cref="EvidencePath"/> file (lowercase hex SHA-256 of its last line written, see
    /// <see cref="JsonLinesEvidenceSink.ChainHead"/>), or <see langword="null"/> without such a file, before its first event,
    /// or with <see cref="EvidenceOptions.HashChain"/> off. Export it from time to time (a log server, a ticket): a file
    /// whose <see cref="JsonLinesEvidenceVerifier.Verify"/> head no longer equals an exported one lost lines at its end.
    /// </summary>
    public string? EvidenceChainHead => _evidenceFile?.ChainHead;

    /// <summary>
    /// What verifying the existing evidence file found when the engine was built (<see cref="EvidenceOptions.VerifyChainOnStart"/>),
    /// or <see langword="null"/> when it was not verified (option off, chain off, no file yet). Check
    /// <see cref="EvidenceChainReport.Intact"/> to decide whether to go on with a file someone may have changed.
    /// </summary>
    public EvidenceChainReport? EvidenceChainAtStart { get; }

    /// <summary>Names of the registered servers.</summary>
    public IReadOnlyCollection<string> ServerNames => Options.Servers.Keys;

    internal McpGuardOptions Options { get; }

    internal TimeProvider TimeProvider { get; }

    internal ILoggerFactory LoggerFactory { get; }

    internal ILogger Logger { get; }

    internal EvidenceRecorder Evidence { get; }

    internal ToolVisibilityStage Visibility { get; }

    internal GuardPipeline Pipeline { get; }

    internal ApprovalCoordinator Approvals { get; }

    internal Pinning.CatalogPinning? Pinning { get; }

    internal Isolation.ContentIsolation Isolation { get; }

    internal ServerRequests.ServerRequestGuard ServerRequests { get; }
    internal Credentials.CredentialGuard CredentialGuard { get; }

    /// <summary>
    /// Creates the credential binding handler for one server: put it in the <see cref="HttpClient"/> given to the SDK's
    /// <c>HttpClientTransport</c> for that server only. See <see cref="GuardCredentialBindingHandler"/>.
    /// </summary>
    /// <param name="serverName">Registration name.</param>
    /// <param name="resource">The server's URL (its canonical URI is the audience, RFC 8707); <see langword="null"/> uses <see cref="GuardAuthorityOptions.Resource"/>.</param>
    /// <param name="innerHandler">The next handler; <see langword="null"/> leaves <see cref="DelegatingHandler.InnerHandler"/> unset for a handler chain to fill (e.g. a slot inside a redirect follower). For standalone use pass <c>new SocketsHttpHandler { AllowAutoRedirect = false }</c>.</param>
    /// <returns>A new handler; one per server, never shared.</returns>
    /// <exception cref="McpGuardConnectionRefusedException">The server is not registered.</exception>
    /// <exception cref="InvalidOperationException">No resource URI was given or configured.</exception>
    public GuardCredentialBindingHandler CreateCredentialBindingHandler(string serverName, Uri? resource = null, HttpMessageHandler? innerHandler = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(serverName);
        RequireRegistered(serverName);
        var handler = new GuardCredentialBindingHandler(CredentialGuard, serverName, CredentialGuard.ResolveResource(serverName, resource));
        if (innerHandler is not null)
        {
            handler.InnerHandler = innerHandler;
        }

        return handler;
    }

    /// <summary>
    /// Applies the guard to the SDK's OAuth client options for one server: tokens it obtains are bound to the server's
    /// resource (a <see cref="GuardTokenCache"/> around <see cref="ModelContextProtocol.Authentication.ClientOAuthOptions.TokenCache"/>),
    /// the scopes it may request are limited to <see cref="GuardAuthorityOptions.Scopes"/> plus approved step-ups
    /// (<see cref="ModelContextProtocol.Authentication.ClientOAuthOptions.ScopeSelector"/>), and, when an
    /// <see cref="ModelContextProtocol.Authentication.ClientOAuthOptions.AuthorizationCallbackHandler"/> is set, an
    /// authorization request for another resource or for more scopes is refused before the user sees it.
    /// </summary>
    /// <param name="serverName">Registration name.</param>
    /// <param name="options">The options to change in place (one instance per server).</param>
    /// <param name="resource">The server's URL; <see langword="null"/> uses <see cref="GuardAuthorityOptions.Resource"/>.</param>
    /// <returns><paramref name="options"/>.</returns>
    /// <exception cref="McpGuardConnectionRefusedException">The server is not registered.</exception>
    /// <exception cref="InvalidOperationException">No resource URI was given or configured.</exception>
    public ModelContextProtocol.Authentication.ClientOAuthOptions ConfigureOAuth(string serverName, ModelContextProtocol.Authentication.ClientOAuthOptions options, Uri? resource = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(serverName);
        ArgumentNullException.ThrowIfNull(options);
        RequireRegistered(serverName);
        return OAuthConfigurator.Configure(CredentialGuard, serverName, CredentialGuard.ResolveResource(serverName, resource), options);
    }

    private void RequireRegistered(string serverName) => _ = RegistrationOf(serverName);

    internal McpGuard.Flow.FlowControl? Flow { get; }

    /// <summary>Wraps any client transport so that the guard enforces the registration <paramref name="serverName"/> on it.</summary>
    /// <param name="inner">The real transport (stdio, HTTP, stream).</param>
    /// <param name="serverName">Registration name (key of <see cref="McpGuardOptions.Servers"/>). An unknown name is refused at connect time.</param>
    /// <param name="principal">The agent and user acting through this connection; <see langword="null"/> for anonymous.</param>
    /// <param name="endpoint">How the server is reached, for evidence (command line or URL); defaults to <paramref name="inner"/>'s name.</param>
    /// <returns>The guarded transport; pass it to <see cref="McpClient.CreateAsync"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="inner"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="serverName"/> is empty.</exception>
    public GuardedClientTransport WrapTransport(IClientTransport inner, string serverName, GuardPrincipal? principal = null, string? endpoint = null)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentException.ThrowIfNullOrEmpty(serverName);
        return new GuardedClientTransport(this, inner, serverName, principal ?? GuardPrincipal.Anonymous, endpoint ?? inner.Name);
    }

    /// <summary>
    /// Creates the guarded stdio transport for a registration with <see cref="GuardServerOptions.Stdio"/> settings: scrubbed
    /// environment, the sandbox of <see cref="StdioLaunchOptions.Sandbox"/>, the exact command line recorded. The process
    /// starts when the transport connects; a required sandbox that is unavailable makes the connection fail with
    /// <see cref="McpGuardSandboxException"/> before anything starts.
    /// </summary>
    /// <param name="serverName">Registration name.</param>
    /// <param name="principal">The acting agent and user.</param>
    /// <returns>The guarded transport.</returns>
    /// <exception cref="McpGuardConnectionRefusedException">The server is not registered.</exception>
    /// <exception cref="InvalidOperationException">The registration has no <see cref="GuardServerOptions.Stdio"/> settings.</exception>
    public GuardedClientTransport CreateTransport(string serverName, GuardPrincipal? principal = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(serverName);
        if (!Options.Servers.TryGetValue(serverName, out GuardServerOptions? registration))
        {
            throw new McpGuardConnectionRefusedException(GuardDecision.Deny("The server is not registered with the guard.", "server.unregistered"), serverName);
        }

        StdioLaunchOptions stdio = registration.Stdio
            ?? throw new InvalidOperationException($"Server '{serverName}' has no Stdio launch settings; wrap your own transport with WrapTransport instead.");
        var launcher = new Stdio.StdioServerLauncher(serverName, stdio, LoggerFactory);
        return WrapTransport(launcher, serverName, principal, launcher.PlannedLaunch().CommandLine);
    }

    /// <summary>Connects a guarded <see cref="McpClient"/> to a registered stdio server in one call.</summary>
    /// <param name="serverName">Registration name.</param>
    /// <param name="principal">The acting agent and user.</param>
    /// <param name="clientOptions">SDK client options (handlers, protocol version); <see langword="null"/> for defaults.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The connected client. Dispose it to stop the server.</returns>
    /// <exception cref="McpGuardConnectionRefusedException">The server is not registered, is disabled, or reported an identity that does not match its registration.</exception>
    /// <exception cref="McpGuardSandboxException">The registration requires a sandbox that is unavailable, or a granted path is missing; the server was not started.</exception>
    /// <exception cref="InvalidOperationException">The registration has no stdio launch settings.</exception>
    public Task<McpClient> CreateClientAsync(string serverName, GuardPrincipal? principal = null, McpClientOptions? clientOptions = null, CancellationToken cancellationToken = default) =>
        ConnectAsync(CreateTransport(serverName, principal), clientOptions, cancellationToken);

    /// <summary>Connects a guarded <see cref="McpClient"/> over an already wrapped transport, turning a refused handshake into <see cref="McpGuardConnectionRefusedException"/>.</summary>
    /// <param name="transport">A transport from <see cref="WrapTransport"/> or <see cref="CreateTransport"/>.</param>
    /// <param name="clientOptions">SDK client options; <see langword="null"/> for defaults.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The connected client.</returns>
    /// <exception cref="McpGuardConnectionRefusedException">The guard refused the connection (for an HTTP block, the inner exception is the <see cref="McpGuardHttpPolicyException"/>).</exception>
    public async Task<McpClient> ConnectAsync(GuardedClientTransport transport, McpClientOptions? clientOptions = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transport);
        transport.HttpGuard?.ResetLastBlock();
        try
        {
            return await McpClient.CreateAsync(transport, clientOptions, LoggerFactory, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not McpGuardConnectionRefusedException && transport.HttpGuard?.LastBlock is { } block)
        {
            throw new McpGuardConnectionRefusedException(block.Decision!, transport.ServerName, block);
        }
        catch (Exception ex) when (ex is McpException or IOException or InvalidOperationException && transport.LastRefusal is { } refusal)
        {
            throw new McpGuardConnectionRefusedException(transport.LastRefusal!, transport.ServerName, ex);
        }
    }

    /// <summary>
    /// Builds an inventory of every registered server: identity, launch or URL, owner, authority, kill-switch state,
    /// pinned tools/prompts/templates with hashes, approvals, risk flags and drift.
    /// </summary>
    /// <returns>The inventory; render with <see cref="GuardInventory.ToJson"/> or <see cref="GuardInventory.ToMarkdown"/>.</returns>
    public GuardInventory GetInventory() => GuardInventory.Build(this);

    private void OnKillSwitchChanged(string server, string? tool, bool enabled, string? reason)
    {
        string target = tool is null ? server : server + "/" + tool;
        Diagnostics.Log.KillSwitch(Logger, target, enabled ? "enabled" : "disabled");
        GuardEvidence evidence = new GuardEvidence(GuardEvidenceKind.KillSwitchChanged, null, Evidence)
        {
            ServerName = server,
            ToolName = tool,
            Decision = enabled ? GuardDecisionKind.Allow : GuardDecisionKind.Deny,
            RuleId = tool is null ? "server.disabled" : "tool.disabled",
            Reason = enabled ? "Re-enabled by the host." : reason,
        };

        // Evidence sinks are async; the switch itself has already taken effect.
        _ = Evidence.WriteAsync(evidence).AsTask();
    }

    /// <summary>Verifies the evidence file at start; a broken chain (or an unreadable file) is logged and recorded as the first new event.</summary>
    private EvidenceChainReport VerifyEvidenceFile(string path)
    {
        EvidenceChainReport report;
        try
        {
            report = JsonLinesEvidenceVerifier.Verify(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            report = new EvidenceChainReport(false, 0, 0, null, "the file could not be read (" + ex.GetType().Name + ")", null);
        }

        if (!report.Intact)
        {
            Diagnostics.Log.EvidenceChainBroken(Logger, path, report.FirstBadLine ?? 0, report.Problem ?? string.Empty);
            GuardEvidence evidence = new GuardEvidence(GuardEvidenceKind.EvidenceChainBroken, null, Evidence)
            {
                Decision = GuardDecisionKind.Deny,
                RuleId = "evidence.chain-broken",
                Reason = report.Problem,
                Details = new JsonObject
                {
                    ["path"] = path,
                    ["firstBadLine"] = report.FirstBadLine,
                    ["linesRead"] = report.Lines,
                    ["chainedLines"] = report.ChainedLines,
                },
                NotVerified = ["Which lines after the first bad one were changed, and by whom: only that the file no longer is the chain it was written as."],
            };

            // The first event of this engine: it continues the chain after the damaged part.
            _ = Evidence.WriteAsync(evidence).AsTask();
        }

        return report;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        foreach (IAsyncDisposable owned in _owned)
        {
            await owned.DisposeAsync().ConfigureAwait(false);
        }
    }
}
