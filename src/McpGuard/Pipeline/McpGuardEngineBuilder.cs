using Microsoft.Extensions.Logging;

namespace McpGuard;

/// <summary>
/// Builds a <see cref="McpGuardEngine"/> without dependency injection. Custom policies run after the built-in stages,
/// in the order added. A built engine is immutable.
/// </summary>
/// <remarks>Not thread-safe; build once at startup.</remarks>
public sealed class McpGuardEngineBuilder
{
    private readonly List<IToolCallPolicy> _policies = [];
    private readonly List<IGuardEvidenceSink> _sinks = [];
    private readonly List<IInjectionDetector> _detectors = [];
    private IToolApprovalHandler? _approval;
    private ILoggerFactory? _loggerFactory;
    private TimeProvider? _timeProvider;
    private IPinStore? _pinStore;
    private ICatalogChangeApprovalHandler? _catalogReviewer;
    private IElicitationApprovalHandler? _elicitationApprover;
    private IScopeStepUpApprovalHandler? _stepUp;
    private readonly List<Action<GuardCredentialRegistry>> _credentials = [];

    /// <summary>Starts a builder over <paramref name="options"/>.</summary>
    /// <param name="options">The options; validated by <see cref="Build"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is <see langword="null"/>.</exception>
    public McpGuardEngineBuilder(McpGuardOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
    }

    /// <summary>The options being built.</summary>
    public McpGuardOptions Options { get; }

    /// <summary>Adds a custom policy after the built-in stages.</summary>
    /// <param name="policy">The policy.</param>
    /// <returns>This builder.</returns>
    public McpGuardEngineBuilder AddPolicy(IToolCallPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        _policies.Add(policy);
        return this;
    }

    /// <summary>Adds a custom policy from a delegate.</summary>
    /// <param name="policy">Returns the decision for a call.</param>
    /// <returns>This builder.</returns>
    public McpGuardEngineBuilder AddPolicy(Func<ToolCallContext, CancellationToken, ValueTask<GuardDecision>> policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return AddPolicy(new DelegateToolCallPolicy(policy));
    }

    /// <summary>Sets the approval handler called for RequireApproval decisions.</summary>
    /// <param name="handler">The handler.</param>
    /// <returns>This builder.</returns>
    public McpGuardEngineBuilder UseApprovalHandler(IToolApprovalHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        _approval = handler;
        return this;
    }

    /// <summary>Sets the approval handler from a delegate.</summary>
    /// <param name="handler">Answers an approval request.</param>
    /// <returns>This builder.</returns>
    public McpGuardEngineBuilder UseApprovalHandler(Func<ToolApprovalRequest, CancellationToken, ValueTask<ToolApprovalResponse>> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return UseApprovalHandler(new DelegateToolApprovalHandler(handler));
    }

    /// <summary>Adds an evidence sink.</summary>
    /// <param name="sink">The sink.</param>
    /// <returns>This builder.</returns>
    public McpGuardEngineBuilder AddEvidenceSink(IGuardEvidenceSink sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        _sinks.Add(sink);
        return this;
    }

    /// <summary>Adds an evidence sink from a delegate.</summary>
    /// <param name="sink">Writes one event.</param>
    /// <returns>This builder.</returns>
    public McpGuardEngineBuilder AddEvidenceSink(Func<GuardEvidence, CancellationToken, ValueTask> sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        return AddEvidenceSink(new DelegateEvidenceSink(sink));
    }

    /// <summary>Sets the logger factory (default: none).</summary>
    /// <param name="loggerFactory">The factory.</param>
    /// <returns>This builder.</returns>
    public McpGuardEngineBuilder UseLoggerFactory(ILoggerFactory loggerFactory)
    {
        _loggerFactory = loggerFactory;
        return this;
    }

    /// <summary>Sets the time source for timestamps and timeouts (default: <see cref="TimeProvider.System"/>).</summary>
    /// <param name="timeProvider">The time source.</param>
    /// <returns>This builder.</returns>
    public McpGuardEngineBuilder UseTimeProvider(TimeProvider timeProvider)
    {
        _timeProvider = timeProvider;
        return this;
    }

    /// <summary>Sets the pin store (default: <see cref="FilePinStore"/> at <see cref="PinningOptions.LockFilePath"/>, else in memory).</summary>
    /// <param name="store">The store.</param>
    /// <returns>This builder.</returns>
    public McpGuardEngineBuilder UsePinStore(IPinStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        _pinStore = store;
        return this;
    }

    /// <summary>Sets the reviewer for blocked catalog changes (re-approval of rug pulls); an approved change updates the pin store.</summary>
    /// <param name="reviewer">The reviewer.</param>
    /// <returns>This builder.</returns>
    public McpGuardEngineBuilder UseCatalogChangeApprovalHandler(ICatalogChangeApprovalHandler reviewer)
    {
        ArgumentNullException.ThrowIfNull(reviewer);
        _catalogReviewer = reviewer;
        return this;
    }

    /// <summary>Sets the reviewer for blocked catalog changes from a delegate.</summary>
    /// <param name="reviewer">Reviews one change.</param>
    /// <returns>This builder.</returns>
    public McpGuardEngineBuilder UseCatalogChangeApprovalHandler(Func<CatalogChangeRequest, CancellationToken, ValueTask<CatalogChangeDecision>> reviewer)
    {
        ArgumentNullException.ThrowIfNull(reviewer);
        return UseCatalogChangeApprovalHandler(new DelegateCatalogChangeApprovalHandler(reviewer));
    }

    /// <summary>Adds an injection detector; results and tool metadata are scanned by every detector and the highest score counts. With none added, the built-in detector is used.</summary>
    /// <param name="detector">The detector (thread-safe; must not throw: a throwing detector counts as a detection).</param>
    /// <returns>This builder.</returns>
    public McpGuardEngineBuilder AddInjectionDetector(IInjectionDetector detector)
    {
        ArgumentNullException.ThrowIfNull(detector);
        _detectors.Add(detector);
        return this;
    }

    /// <summary>Adds an injection detector from a delegate.</summary>
    /// <param name="detector">Scans one text.</param>
    /// <returns>This builder.</returns>
    public McpGuardEngineBuilder AddInjectionDetector(Func<string, ScanTarget, CancellationToken, ValueTask<InjectionScan>> detector)
    {
        ArgumentNullException.ThrowIfNull(detector);
        return AddInjectionDetector(new Isolation.DelegateInjectionDetector(detector));
    }

    /// <summary>Sets the host's decision point for flagged elicitation requests (see <see cref="ElicitationOptions"/>); without one, flagged requests are declined.</summary>
    /// <param name="handler">The handler.</param>
    /// <returns>This builder.</returns>
    public McpGuardEngineBuilder UseElicitationApprovalHandler(IElicitationApprovalHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        _elicitationApprover = handler;
        return this;
    }

    /// <summary>Sets the decision point for flagged elicitation requests from a delegate.</summary>
    /// <param name="handler">Decides on one flagged request.</param>
    /// <returns>This builder.</returns>
    public McpGuardEngineBuilder UseElicitationApprovalHandler(Func<ElicitationApprovalRequest, CancellationToken, ValueTask<ElicitationApprovalDecision>> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return UseElicitationApprovalHandler(new DelegateElicitationApprovalHandler(handler));
    }

    /// <summary>Sets the handler asked when a server demands scopes beyond its configured list (scope step-up); without one, step-ups are refused.</summary>
    /// <param name="handler">The handler.</param>
    /// <returns>This builder.</returns>
    public McpGuardEngineBuilder UseScopeStepUpApprovalHandler(IScopeStepUpApprovalHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        _stepUp = handler;
        return this;
    }

    /// <summary>Sets the scope step-up handler from a delegate.</summary>
    /// <param name="handler">Answers one step-up request.</param>
    /// <returns>This builder.</returns>
    public McpGuardEngineBuilder UseScopeStepUpApprovalHandler(Func<ScopeStepUpRequest, CancellationToken, ValueTask<ScopeStepUpResponse>> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return UseScopeStepUpApprovalHandler(new DelegateScopeStepUpApprovalHandler(handler));
    }

    /// <summary>Registers a static credential the host holds (see <see cref="GuardCredentialRegistry.Add"/>).</summary>
    /// <param name="label">The host's label.</param>
    /// <param name="resource">The resource (MCP server URI) it was issued for.</param>
    /// <param name="secret">The secret value.</param>
    /// <param name="scopes">The scopes it carries.</param>
    /// <param name="serverName">Optionally, the only server whose handler may send it.</param>
    /// <returns>This builder.</returns>
    public McpGuardEngineBuilder AddCredential(string label, Uri resource, string secret, IEnumerable<string>? scopes = null, string? serverName = null)
    {
        string[] scopeList = [.. scopes ?? []];
        _credentials.Add(r => r.Add(label, resource, secret, scopeList, serverName));
        return this;
    }

    /// <summary>Validates the options and builds the engine.</summary>
    /// <returns>The engine.</returns>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">The options are invalid; the message says what to change.</exception>
    /// <exception cref="McpGuardPinStoreException">Pinning is enabled and the lock file is corrupt or hand-edited.</exception>
    /// <exception cref="ArgumentException">A credential added with <see cref="AddCredential"/> is invalid.</exception>
    public McpGuardEngine Build()
    {
        var registry = new GuardCredentialRegistry(Options.Credentials.MinimumSecretLength);
        foreach (Action<GuardCredentialRegistry> add in _credentials)
        {
            add(registry);
        }

        return new(Options, _policies, _approval, _sinks, _loggerFactory, _timeProvider, _pinStore, _catalogReviewer, _detectors, _elicitationApprover, registry, _stepUp);
    }
}
