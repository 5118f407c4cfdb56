using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using McpGuard.Evidence;
using McpGuard.Json;
using McpGuard.Pipeline;

namespace McpGuard.Pinning;

/// <summary>The pin verdict for one catalog item in one session.</summary>
internal enum PinStatus
{
    Match,
    Warned,
    NeedsApproval,
    Blocked,
}

/// <summary>Pin verdict plus the hash it was computed for, so a call is checked against the exact definition it would reach.</summary>
internal sealed record PinState(PinStatus Status, string Sha256, CatalogItemDiff? Diff);

/// <summary>
/// Catalog pinning and drift control (rug-pull defence). Compares every listed item with its pin by the SHA-256 of
/// the RFC 8785 canonical raw JSON, diffs changed items semantically, and reacts per risk (warn, require approval at
/// the next call, block until re-approved). Trust on first use pins everything seen in the session in which a server
/// is first pinned (so a server that adds tools right after start-up is tolerated); later sessions enforce.
/// </summary>
/// <remarks>Thread-safe. The per-call check is one dictionary lookup (no hashing).</remarks>
internal sealed class CatalogPinning
{
    private readonly PinningOptions _options;
    private readonly IPinStore _store;
    private readonly ICatalogChangeApprovalHandler? _reviewer;
    private readonly EvidenceRecorder _evidence;
    private readonly TimeSpan _reviewTimeout;
    private readonly object _gate = new();
    private readonly SemaphoreSlim _saveGate = new(1, 1);
    private readonly ConcurrentDictionary<string, string> _firstUseSessions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Server, string Key), CatalogItemDiff> _lastDrift = new();
    private readonly PinLockFile _lock;

    public CatalogPinning(PinningOptions options, IPinStore store, ICatalogChangeApprovalHandler? reviewer, EvidenceRecorder evidence, TimeSpan reviewTimeout)
    {
        _options = options;
        _store = store;
        _reviewer = reviewer;
        _evidence = evidence;
        _reviewTimeout = reviewTimeout;
        _lock = store.Load();
    }

    public PinningOptions Options => _options;

    internal IReadOnlyDictionary<(string Server, string Key), CatalogItemDiff> LastDrift => _lastDrift;

    internal PinLockFile Snapshot()
    {
        lock (_gate)
        {
            byte[] bytes = JsonSerializer.SerializeToUtf8Bytes(_lock, PinningJsonContext.Default.PinLockFile);
            return JsonSerializer.Deserialize(bytes, PinningJsonContext.Default.PinLockFile)!;
        }
    }

    /// <summary>Checks one listing of items of <paramref name="kind"/> against the pins and returns each item's state.</summary>
    public async ValueTask<FrozenDictionary<string, PinState>> CheckAsync(
        GuardSessionInfo session, CatalogItemKind kind, IReadOnlyDictionary<string, GuardToolDescriptor> listed, bool completeListing, CancellationToken cancellationToken)
    {
        bool firstUse;
        PinnedServer pinned;
        lock (_gate)
        {
            if (!_lock.Servers.TryGetValue(session.ServerName, out pinned!))
            {
                pinned = new PinnedServer
                {
                    ReportedName = session.ServerIdentity?.Name,
                    ReportedVersion = session.ServerIdentity?.Version,
                    InstructionsSha256 = InstructionsHash(session.ServerIdentity?.Instructions),
                    Endpoint = session.Endpoint,
                };
                _lock.Servers[session.ServerName] = pinned;
                _firstUseSessions[session.ServerName] = session.SessionId;
            }

            // Audit-only pins on first sight like trust-on-first-use (it needs a baseline to report drift against); it just never blocks.
            firstUse = _options.Mode != PinningMode.Strict
                && _firstUseSessions.TryGetValue(session.ServerName, out string? firstSession)
                && firstSession == session.SessionId;
        }

        await CheckServerAsync(session, pinned).ConfigureAwait(false);

        var states = new Dictionary<string, PinState>(listed.Count, StringComparer.Ordinal);
        var newPins = new List<PinnedItem>();
        var unmatchedPins = new Dictionary<string, PinnedItem>(StringComparer.Ordinal);
        var renamedFromNames = new HashSet<string>(StringComparer.Ordinal);
        lock (_gate)
        {
            foreach ((string key, PinnedItem item) in pinned.Items)
            {
                if (item.Kind == kind && !listed.ContainsKey(item.Name))
                {
                    unmatchedPins[NameFreeHash(item.Definition)] = item;
                }
            }
        }

        foreach ((string name, GuardToolDescriptor item) in listed)
        {
            string key = FilePinStore.PinKey(kind, name);
            PinnedItem? pin;
            lock (_gate)
            {
                pinned.Items.TryGetValue(key, out pin);
            }

            if (pin is not null && string.Equals(pin.Sha256, item.MetadataSha256, StringComparison.Ordinal))
            {
                states[name] = new PinState(PinStatus.Match, item.MetadataSha256, null);
                continue;
            }

            // A new name carrying a vanished pin's exact definition is a rename, never a first-use addition.
            PinnedItem? renamedFrom = null;
            if (pin is null && unmatchedPins.Count > 0)
            {
                unmatchedPins.TryGetValue(NameFreeHash(item.RawJson), out renamedFrom);
            }

            if (pin is null && firstUse && renamedFrom is null)
            {
                newPins.Add(NewPin(kind, item, "trust-on-first-use"));
                states[name] = new PinState(PinStatus.Match, item.MetadataSha256, null);
                continue;
            }

            CatalogItemDiff diff;
            if (pin is null)
            {
                diff = CatalogDiffer.Diff(kind, name, null, null, item.RawJson, item.MetadataSha256);
                if (renamedFrom is not null)
                {
                    renamedFromNames.Add(renamedFrom.Name);
                    var findings = new List<CatalogFinding>
                    {
                        new(ChangeKind.ItemRenamed, "$.name", ChangeRisk.High,
                            $"The pinned item '{renamedFrom.Name}' reappeared as '{name}' with the same definition; a renamed tool can shadow or impersonate another.",
                            renamedFrom.Name, name),
                    };
                    findings.AddRange(diff.Findings.Where(f => f.Kind != ChangeKind.ItemAdded));
                    diff = diff with { PinnedSha256 = renamedFrom.Sha256, Findings = findings, Risk = ChangeRisk.High };
                }
            }
            else
            {
                diff = CatalogDiffer.Diff(kind, name, pin.Definition, pin.Sha256, item.RawJson, item.MetadataSha256);
            }

            states[name] = await ReactAsync(session, kind, item, pin is null, diff, newPins, cancellationToken).ConfigureAwait(false);
        }

        if (completeListing)
        {
            foreach (PinnedItem gone in unmatchedPins.Values)
            {
                if (!renamedFromNames.Contains(gone.Name))
                {
                    CatalogItemDiff removed = CatalogDiffer.Diff(kind, gone.Name, gone.Definition, gone.Sha256, null, null);
                    await RecordDriftAsync(session, removed, DriftReaction.Warn, "removed").ConfigureAwait(false);
                }
            }
        }

        if (newPins.Count > 0)
        {
            await PersistAsync(session, pinned, newPins, cancellationToken).ConfigureAwait(false);
        }

        return states.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private async ValueTask<PinState> ReactAsync(
        GuardSessionInfo session, CatalogItemKind kind, GuardToolDescriptor item, bool isNew, CatalogItemDiff diff, List<PinnedItem> newPins, CancellationToken cancellationToken)
    {
        DriftReaction reaction = _options.Mode switch
        {
            PinningMode.AuditOnly => DriftReaction.Warn,
            PinningMode.Strict when isNew => DriftReaction.Block,
            _ => _options.ReactionFor(diff.Risk),
        };

        _lastDrift[(session.ServerName, FilePinStore.PinKey(kind, item.Name))] = diff;
        if (reaction == DriftReaction.Block)
        {
            CatalogChangeDecision? decision = await ReviewAsync(session, diff, cancellationToken).ConfigureAwait(false);
            if (decision is { Approved: true })
            {
                newPins.Add(NewPin(kind, item, decision.ApproverId ?? "approved"));
                await RecordDriftAsync(session, diff, reaction, "approved", decision).ConfigureAwait(false);
                return new PinState(PinStatus.Match, item.MetadataSha256, diff);
            }

            await RecordDriftAsync(session, diff, reaction, "blocked", decision).ConfigureAwait(false);
            return new PinState(PinStatus.Blocked, item.MetadataSha256, diff);
        }

        await RecordDriftAsync(session, diff, reaction, reaction == DriftReaction.RequireApproval ? "approval-at-call" : "warned").ConfigureAwait(false);
        return new PinState(reaction == DriftReaction.RequireApproval ? PinStatus.NeedsApproval : PinStatus.Warned, item.MetadataSha256, diff);
    }

    private async ValueTask<CatalogChangeDecision?> ReviewAsync(GuardSessionInfo session, CatalogItemDiff diff, CancellationToken cancellationToken)
    {
        if (_reviewer is null)
        {
            return null;
        }

        try
        {
            var request = new CatalogChangeRequest(session.ServerName, session.ServerIdentity, session.Endpoint, diff, _options.Mode);
            using var timeout = new CancellationTokenSource(_reviewTimeout, _evidence.TimeProvider);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
            return await _reviewer.ReviewAsync(request, linked.Token).AsTask()
                .WaitAsync(_reviewTimeout, _evidence.TimeProvider, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return new CatalogChangeDecision(false, null, $"The reviewer failed with {ex.GetType().Name}.");
        }
    }

    /// <summary>The per-call check: one lookup, no hashing.</summary>
    public static GuardDecision EvaluateCall(ToolCallContext context)
    {
        if (context.Tool is not { } tool || context.Session.PinStates is not { } states)
        {
            return GuardDecision.Allow;
        }

        if (!states.TryGetValue(tool.Name, out PinState? state) || !string.Equals(state.Sha256, tool.MetadataSha256, StringComparison.Ordinal))
        {
            return GuardDecision.Deny("The tool's current definition was not checked against its pin.", "catalog.unchecked");
        }

        return state.Status switch
        {
            PinStatus.Blocked => GuardDecision.Deny(
                state.Diff is { PinnedSha256: null } ? "The tool is not pinned and has not been approved." : $"The tool's definition changed after it was pinned (risk {state.Diff?.Risk}) and the change is not approved.",
                state.Diff is { PinnedSha256: null } ? "catalog.unpinned" : "catalog.drift-blocked"),
            PinStatus.NeedsApproval => GuardDecision.RequireApproval(
                "The tool's definition changed after it was pinned: " + Summarize(state.Diff), "catalog.changed"),
            _ => GuardDecision.Allow,
        };
    }

    private static string Summarize(CatalogItemDiff? diff) =>
        diff is null ? "(no diff)" : $"risk {diff.Risk}; " + string.Join("; ", diff.Findings.Take(5).Select(f => $"{f.Kind} {f.Path}"));

    private async ValueTask CheckServerAsync(GuardSessionInfo session, PinnedServer pinned)
    {
        ServerIdentity? identity = session.ServerIdentity;
        if (identity is null || session.Items.ContainsKey("mcpguard.pinning.server-checked"))
        {
            return;
        }

        session.Items["mcpguard.pinning.server-checked"] = true;
        var findings = new List<CatalogFinding>();
        if (pinned.ReportedName != identity.Name || pinned.ReportedVersion != identity.Version)
        {
            findings.Add(new CatalogFinding(ChangeKind.IdentityChanged, "$.serverInfo", ChangeRisk.Medium, "The server reports another name or version than when it was pinned.",
                $"{pinned.ReportedName} {pinned.ReportedVersion}", $"{identity.Name} {identity.Version}"));
        }

        string? instructions = InstructionsHash(identity.Instructions);
        if (pinned.InstructionsSha256 != instructions)
        {
            List<string> cues = identity.Instructions is { } text ? CatalogDiffer.FindInstructionCues(text) : [];
            findings.Add(new CatalogFinding(ChangeKind.InstructionsChanged, "$.instructions", cues.Count > 0 ? ChangeRisk.High : ChangeRisk.Medium,
                "The server's instructions (added to the model's context by many hosts) changed since they were pinned."));
        }

        if (findings.Count > 0)
        {
            var diff = new CatalogItemDiff(CatalogItemKind.Server, session.ServerName, pinned.InstructionsSha256, instructions, findings.Max(f => f.Risk), findings);
            _lastDrift[(session.ServerName, "server:")] = diff;
            await RecordDriftAsync(session, diff, DriftReaction.Warn, "warned").ConfigureAwait(false);
        }
    }

    private PinnedItem NewPin(CatalogItemKind kind, GuardToolDescriptor item, string approvedBy) => new()
    {
        Kind = kind,
        Name = item.Name,
        Sha256 = item.MetadataSha256,
        ApprovedBy = approvedBy,
        ApprovedAt = _evidence.TimeProvider.GetUtcNow(),
        Definition = item.RawJson,
    };

    private async ValueTask PersistAsync(GuardSessionInfo session, PinnedServer pinned, List<PinnedItem> newPins, CancellationToken cancellationToken)
    {
        PinLockFile snapshot;
        lock (_gate)
        {
            foreach (PinnedItem pin in newPins)
            {
                pinned.Items[FilePinStore.PinKey(pin.Kind, pin.Name)] = pin;
                _lastDrift.TryRemove((session.ServerName, FilePinStore.PinKey(pin.Kind, pin.Name)), out _);
            }

            pinned.Endpoint ??= session.Endpoint;
            byte[] bytes = JsonSerializer.SerializeToUtf8Bytes(_lock, PinningJsonContext.Default.PinLockFile);
            snapshot = JsonSerializer.Deserialize(bytes, PinningJsonContext.Default.PinLockFile)!;
        }

        await _saveGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _store.SaveAsync(snapshot, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _saveGate.Release();
        }

        var names = new JsonArray();
        foreach (PinnedItem pin in newPins)
        {
            names.Add((JsonNode?)JsonValue.Create(FilePinStore.PinKey(pin.Kind, pin.Name) + " " + pin.Sha256[..12] + " by " + pin.ApprovedBy));
        }

        await _evidence.WriteAsync(new GuardEvidence(GuardEvidenceKind.CatalogPinned, session, _evidence)
        {
            Reason = $"{newPins.Count} item(s) pinned.",
            Details = new JsonObject { ["pins"] = names },
        }, CancellationToken.None).ConfigureAwait(false);
    }

    private ValueTask<bool> RecordDriftAsync(GuardSessionInfo session, CatalogItemDiff diff, DriftReaction reaction, string outcome, CatalogChangeDecision? decision = null)
    {
        JsonNode? diffJson = JsonSerializer.SerializeToNode(diff, PinningJsonContext.Default.CatalogItemDiff);
        return _evidence.WriteAsync(new GuardEvidence(GuardEvidenceKind.CatalogDrift, session, _evidence)
        {
            ToolName = diff.ItemKind == CatalogItemKind.Tool ? diff.Name : null,
            ToolMetadataSha256 = diff.CurrentSha256,
            Decision = outcome == "blocked" ? GuardDecisionKind.Deny : outcome == "approval-at-call" ? GuardDecisionKind.RequireApproval : GuardDecisionKind.Allow,
            RuleId = outcome switch
            {
                "blocked" => diff.PinnedSha256 is null ? "catalog.unpinned" : "catalog.drift-blocked",
                "approval-at-call" => "catalog.changed",
                "removed" => "catalog.item-removed",
                _ => "catalog.drift",
            },
            Reason = $"{diff.ItemKind} '{diff.Name}' drifted from its pin (risk {diff.Risk}); reaction {reaction}; outcome {outcome}."
                + (decision is { ApproverId: { } who } ? $" Reviewed by {who}." : string.Empty),
            Details = new JsonObject { ["diff"] = diffJson, ["reaction"] = reaction.ToString(), ["outcome"] = outcome },
            NotVerified = ["A matching pin proves the definition is unchanged, not that the server behaves as described."],
        });
    }

    private static string? InstructionsHash(string? instructions) =>
        instructions is null ? null : JsonCanonicalizer.Sha256Hex(Encoding.UTF8.GetBytes(instructions));

    /// <summary>Hash of an item's definition without its <c>name</c>, for rename detection.</summary>
    private static string NameFreeHash(JsonElement definition)
    {
        JsonNode? node = JsonNode.Parse(definition.GetRawText());
        if (node is JsonObject obj)
        {
            obj.Remove("name");
        }

        return JsonCanonicalizer.Sha256Hex(node);
    }
}

/// <summary>The per-call pinning stage.</summary>
internal sealed class PinningStage : GuardStage
{
    public override string Name => "pinning";

    public override ValueTask<GuardDecision> EvaluateCallAsync(ToolCallContext context, CancellationToken cancellationToken) =>
        new(CatalogPinning.EvaluateCall(context));
}
