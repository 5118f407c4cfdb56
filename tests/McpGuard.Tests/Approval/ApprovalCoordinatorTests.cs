using System.Text.Json.Nodes;
using McpGuard.Approval;
using McpGuard.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace McpGuard.Tests.Approval;

public sealed class ApprovalCoordinatorTests
{
    private static readonly TimeSpan s_bound = TimeSpan.FromSeconds(30);
    private static readonly GuardDecision[] s_reasons = [GuardDecision.RequireApproval("writes files", "tool.requires-approval")];

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero));
    private readonly ApprovalOptions _options = new() { Timeout = TimeSpan.FromSeconds(30) };

    private static ToolCallContext Call(string arguments = """{"path":"/tmp/a","content":"hello"}""", string requestId = "7", GuardSessionInfo? session = null, GuardToolDescriptor? tool = null)
    {
        McpGuardOptions options = TestCalls.Options(s =>
        {
            s.Authority.CredentialLabel = "github-app:read-only";
            s.Authority.Scopes.AddRange(["repo:read", "issues:write"]);
        });
        session ??= TestCalls.Session(options, principal: new GuardPrincipal("file-agent", "alice"));
        if (tool is not null)
        {
            session.WithCatalog(tool);
        }

        return TestCalls.Call(session, tool?.Name ?? "write_file", arguments, requestId);
    }

    private ApprovalCoordinator Coordinator(Func<ToolApprovalRequest, CancellationToken, ValueTask<ToolApprovalResponse>>? handler) =>
        new(handler is null ? null : new DelegateToolApprovalHandler(handler), _options, _time, NullLogger.Instance);

    private static async Task<(GuardDecision Decision, ApprovalEvidence Evidence)> Resolve(ApprovalCoordinator coordinator, ToolCallContext? call = null, CancellationToken cancellationToken = default) =>
        await coordinator.ResolveAsync(call ?? Call(), s_reasons, cancellationToken).AsTask().WaitAsync(s_bound);

    [Fact]
    public async Task ResolveAsync_NoHandler_DeniesNoHandler()
    {
        (GuardDecision d, ApprovalEvidence e) = await Resolve(Coordinator(null));

        Assert.Equal(("approval.no-handler", "no-handler"), (d.RuleId, e.Result));
    }

    [Fact]
    public async Task ResolveAsync_HandlerApproves_AllowsWithApprovedEvidence()
    {
        (GuardDecision d, ApprovalEvidence e) = await Resolve(Coordinator((r, _) => new(r.Approve("bob", "looks fine"))));

        Assert.Same(GuardDecision.Allow, d);
        Assert.Equal(("approved", "bob", "looks fine"), (e.Result, e.ApproverId, e.Comment));
    }

    [Fact]
    public async Task ResolveAsync_HandlerRejects_DeniesRejected()
    {
        (GuardDecision d, ApprovalEvidence e) = await Resolve(Coordinator((r, _) => new(r.Reject("bob"))));

        Assert.Equal((GuardDecisionKind.Deny, "approval.rejected", "rejected", "bob"), (d.Kind, d.RuleId, e.Result, e.ApproverId));
    }

    [Fact]
    public async Task ResolveAsync_HandlerThrowsAsynchronously_DeniesHandlerError()
    {
        (GuardDecision d, ApprovalEvidence e) = await Resolve(Coordinator(async (_, _) =>
        {
            await Task.Yield();
            throw new InvalidOperationException("UI crashed");
        }));

        Assert.Equal(("approval.handler-error", "handler-error"), (d.RuleId, e.Result));
    }

    [Fact]
    public async Task ResolveAsync_HandlerThrowsSynchronously_DeniesHandlerError()
    {
        (GuardDecision d, _) = await Resolve(Coordinator((_, _) => throw new InvalidOperationException("UI crashed")));

        Assert.Equal("approval.handler-error", d.RuleId);
    }

    [Fact]
    public async Task ResolveAsync_HandlerReturnsNull_DeniesHandlerError()
    {
        (GuardDecision d, _) = await Resolve(Coordinator((_, _) => new((ToolApprovalResponse)null!)));

        Assert.Equal("approval.handler-error", d.RuleId);
    }

    [Fact]
    public async Task ResolveAsync_AnswerForAnotherDigest_DeniesDigestMismatch()
    {
        (GuardDecision d, ApprovalEvidence e) = await Resolve(Coordinator((_, _) => new(new ToolApprovalResponse(new string('0', 64), true, "bob"))));

        Assert.Equal(("approval.digest-mismatch", "digest-mismatch"), (d.RuleId, e.Result));
    }

    [Fact]
    public async Task ResolveAsync_ApprovalOfEarlierRequestReplayed_DeniesDigestMismatch()
    {
        ToolApprovalResponse? earlier = null;
        await Resolve(Coordinator((r, _) => new(earlier = r.Approve("bob"))), Call(requestId: "1"));

        (GuardDecision d, _) = await Resolve(Coordinator((_, _) => new(earlier!)), Call(requestId: "2"));

        Assert.Equal("approval.digest-mismatch", d.RuleId);
    }

    [Fact]
    public async Task ResolveAsync_HandlerNeverAnswers_DeniesTimeoutWhenFakeTimePassesTimeout()
    {
        var never = new TaskCompletionSource<ToolApprovalResponse>();
        ValueTask<(GuardDecision, ApprovalEvidence)> pending = Coordinator((_, _) => new(never.Task)).ResolveAsync(Call(), s_reasons, default);
        Task<(GuardDecision Decision, ApprovalEvidence Evidence)> task = pending.AsTask();

        _time.Advance(_options.Timeout + TimeSpan.FromMilliseconds(1));
        (GuardDecision d, ApprovalEvidence e) = await task.WaitAsync(s_bound);

        Assert.Equal(("approval.timeout", "timeout"), (d.RuleId, e.Result));
    }

    [Fact]
    public async Task ResolveAsync_BeforeTimeout_StillPending()
    {
        var never = new TaskCompletionSource<ToolApprovalResponse>();
        Task<(GuardDecision, ApprovalEvidence)> task = Coordinator((_, _) => new(never.Task)).ResolveAsync(Call(), s_reasons, default).AsTask();

        _time.Advance(_options.Timeout - TimeSpan.FromMilliseconds(1));

        Assert.False(task.IsCompleted);
        never.SetResult(new ToolApprovalResponse("x", false));
        await task.WaitAsync(s_bound);
    }

    [Fact]
    public async Task ResolveAsync_Timeout_CancelsTheHandlersToken()
    {
        var observed = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        Task<(GuardDecision, ApprovalEvidence)> task = Coordinator(async (_, ct) =>
        {
            try
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, ct);
            }
            catch (OperationCanceledException)
            {
                observed.TrySetResult(true);
                throw;
            }

            throw new InvalidOperationException("unreachable");
        }).ResolveAsync(Call(), s_reasons, default).AsTask();

        _time.Advance(_options.Timeout + TimeSpan.FromSeconds(1));
        await task.WaitAsync(s_bound);

        Assert.True(await observed.Task.WaitAsync(s_bound));
    }

    /// <summary>
    /// Fake time that delays each timer by (1000 - n) ms, n counting timers created: of two timers with the same due
    /// time, the newer fires first and the older a little later. On the real clock their order is a race (the system
    /// timer queues give none); this pins the order in which the approval's WaitAsync timeout beats the timer of the
    /// token handed to the handler.
    /// </summary>
    private sealed class NewerTimersFirstTimeProvider(FakeTimeProvider inner) : TimeProvider
    {
        private int _created;

        public override DateTimeOffset GetUtcNow() => inner.GetUtcNow();

        public override long GetTimestamp() => inner.GetTimestamp();

        public override long TimestampFrequency => inner.TimestampFrequency;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
            inner.CreateTimer(callback, state, dueTime == Timeout.InfiniteTimeSpan ? dueTime : dueTime + TimeSpan.FromMilliseconds(1000 - Interlocked.Increment(ref _created)), period);
    }

    [Fact]
    public async Task ResolveAsync_TimeoutFiresBeforeTheHandlersTokenTimer_StillCancelsTheHandlersToken()
    {
        var observed = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var coordinator = new ApprovalCoordinator(
            new DelegateToolApprovalHandler(async (_, ct) =>
            {
                try
                {
                    await Task.Delay(Timeout.InfiniteTimeSpan, ct);
                }
                catch (OperationCanceledException)
                {
                    observed.TrySetResult(true);
                    throw;
                }

                throw new InvalidOperationException("unreachable");
            }),
            _options,
            new NewerTimersFirstTimeProvider(_time),
            NullLogger.Instance);
        Task<(GuardDecision Decision, ApprovalEvidence Evidence)> task = coordinator.ResolveAsync(Call(), s_reasons, default).AsTask();

        // Timer 1 (the handler's token) is due at Timeout + 999 ms, timer 2 (WaitAsync) at Timeout + 998 ms.
        _time.Advance(_options.Timeout + TimeSpan.FromMilliseconds(998));
        (GuardDecision d, _) = await task.WaitAsync(s_bound);
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal("approval.timeout", d.RuleId);
        Assert.True(await observed.Task.WaitAsync(s_bound));
    }

    [Fact]
    public async Task ResolveAsync_CallerCancels_DeniesCancelled()
    {
        using var cts = new CancellationTokenSource();
        var never = new TaskCompletionSource<ToolApprovalResponse>();
        Task<(GuardDecision, ApprovalEvidence)> task = Coordinator((_, _) => new(never.Task)).ResolveAsync(Call(), s_reasons, cts.Token).AsTask();

        await cts.CancelAsync();
        (GuardDecision d, ApprovalEvidence e) = await task.WaitAsync(s_bound);

        Assert.Equal(("approval.cancelled", "cancelled"), (d.RuleId, e.Result));
    }

    /// <summary>The handler must learn that the caller gave up (its UI can close the prompt), not wait for the approval timeout.</summary>
    [Fact]
    public async Task ResolveAsync_CallerCancels_HandlersTokenIsCancelled()
    {
        using var cts = new CancellationTokenSource();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var told = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task<(GuardDecision, ApprovalEvidence)> task = Coordinator(async (r, ct) =>
        {
            using CancellationTokenRegistration registration = ct.Register(() => told.TrySetResult());
            started.TrySetResult();
            await Task.Delay(Timeout.Infinite, ct);
            return r.Approve();
        }).ResolveAsync(Call(), s_reasons, cts.Token).AsTask();
        await started.Task.WaitAsync(s_bound);

        await cts.CancelAsync();
        (GuardDecision d, _) = await task.WaitAsync(s_bound);

        Assert.Equal("approval.cancelled", d.RuleId);
        await told.Task.WaitAsync(s_bound); // the approval timeout is fake time here: only the cancellation can tell it
    }

    [Fact]
    public async Task ResolveAsync_HandlerTakesFakeTime_RecordsDurationFromTimeProvider()
    {
        (_, ApprovalEvidence e) = await Resolve(Coordinator((r, _) =>
        {
            _time.Advance(TimeSpan.FromSeconds(3));
            return new(r.Approve());
        }));

        Assert.Equal(3000, e.DurationMs);
    }

    [Fact]
    public async Task ResolveAsync_Request_CarriesEverythingAnApproverNeeds()
    {
        string description = "Writes a file. " + new string('d', 10_000);
        GuardToolDescriptor tool = TestCalls.Tool("write_file", description, new JsonObject
        {
            ["title"] = "Write file",
            ["annotations"] = new JsonObject { ["destructiveHint"] = true },
        });
        string longContent = new('c', 100_000);
        ToolApprovalRequest? seen = null;

        await Resolve(Coordinator((r, _) => new((seen = r).Approve())), Call(arguments: new JsonObject { ["path"] = "/tmp/a", ["content"] = longContent }.ToJsonString(), tool: tool));

        Assert.NotNull(seen);
        Assert.Equal(("srv", "test-server", "1.0.0", "write_file", "Write file", description), (seen.ServerName, seen.Server!.Name, seen.Server.Version, seen.ToolName, seen.ToolTitle, seen.ToolDescription));
        Assert.True(seen.ToolAnnotations!.Value.GetProperty("destructiveHint").GetBoolean());
        Assert.Equal(longContent, seen.Arguments.GetProperty("content").GetString());
        Assert.Contains(longContent, seen.ArgumentsJson);
        Assert.Equal("github-app:read-only", seen.CredentialLabel);
        Assert.Equal(["repo:read", "issues:write"], seen.Scopes);
        Assert.Equal(("file-agent", "alice"), (seen.Principal.AgentId, seen.Principal.UserId));
        Assert.Equal(["tool.requires-approval"], seen.Reasons.Select(x => x.RuleId));
        Assert.Equal(_time.GetUtcNow(), seen.RequestedAt);
        Assert.Matches("^[0-9a-f]{64}$", seen.RequestDigest);
    }

    [Fact]
    public void ComputeDigest_SameCallTwice_IsStable()
    {
        ToolCallContext call = Call();

        Assert.Equal(ApprovalCoordinator.ComputeDigest(call, s_reasons), ApprovalCoordinator.ComputeDigest(call, s_reasons));
    }

    [Fact]
    public void ComputeDigest_EquivalentArgumentsInOtherOrder_IsStable()
    {
        McpGuardOptions options = TestCalls.Options();
        GuardSessionInfo session = TestCalls.Session(options);

        string a = ApprovalCoordinator.ComputeDigest(TestCalls.Call(session, "t", """{"a":1,"b":[true]}"""), s_reasons);
        string b = ApprovalCoordinator.ComputeDigest(TestCalls.Call(session, "t", """{ "b" : [ true ], "a" : 1.0 }"""), s_reasons);

        Assert.Equal(a, b);
    }

    public static TheoryData<string> Changes => ["arguments", "request id", "tool hash", "session", "agent", "user", "rules", "server identity"];

    [Theory]
    [MemberData(nameof(Changes))]
    public void ComputeDigest_AnyBoundFieldChanges_Changes(string change)
    {
        McpGuardOptions options = TestCalls.Options();
        GuardSessionInfo session = TestCalls.Session(options, principal: new GuardPrincipal("agent", "user"));
        GuardToolDescriptor tool = TestCalls.Tool("t", "v1");
        session.WithCatalog(tool);
        string baseline = ApprovalCoordinator.ComputeDigest(TestCalls.Call(session, "t", """{"a":1}""", "1"), s_reasons);

        IReadOnlyList<GuardDecision> reasons = s_reasons;
        ToolCallContext changed = change switch
        {
            "arguments" => TestCalls.Call(session, "t", """{"a":2}""", "1"),
            "request id" => TestCalls.Call(session, "t", """{"a":1}""", "2"),
            "tool hash" => TestCalls.Call(TestCalls.Session(options, principal: session.Principal).WithCatalog(TestCalls.Tool("t", "v2")), "t", """{"a":1}""", "1"),
            "session" => TestCalls.Call(TestCalls.Session(options, principal: session.Principal).WithCatalog(tool), "t", """{"a":1}""", "1"),
            "agent" => TestCalls.Call(TestCalls.Session(options, principal: new GuardPrincipal("other", "user")).WithCatalog(tool), "t", """{"a":1}""", "1"),
            "user" => TestCalls.Call(TestCalls.Session(options, principal: new GuardPrincipal("agent", "other")).WithCatalog(tool), "t", """{"a":1}""", "1"),
            "server identity" => TestCalls.Call(TestCalls.Session(options, principal: session.Principal, identity: new ServerIdentity("test-server", "2.0.0", "2025-11-25", null)).WithCatalog(tool), "t", """{"a":1}""", "1"),
            _ => TestCalls.Call(session, "t", """{"a":1}""", "1"),
        };
        if (change == "rules")
        {
            reasons = [GuardDecision.RequireApproval("other", "policy.custom")];
        }

        Assert.NotEqual(baseline, ApprovalCoordinator.ComputeDigest(changed, reasons));
    }
}
