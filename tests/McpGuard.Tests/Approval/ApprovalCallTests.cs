using System.Text.Json.Nodes;
using McpGuard.Approval;
using McpGuard.ServerRequests;
using McpGuard.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace McpGuard.Tests.Approval;

/// <summary>
/// How one approval handler call ends (<see cref="ApprovalCall"/>), in particular an answer that arrives only once the
/// timeout has passed: the timers that would end the wait first are stopped here, so the answer reaches the guard and
/// must still be refused, for the tool approval and the elicitation review alike.
/// </summary>
public sealed class ApprovalCallTests
{
    private static readonly TimeSpan s_bound = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);

    /// <summary>A clock the test moves by hand whose timers never fire: no timeout can end a wait before the handler answers.</summary>
    private sealed class StoppedTimersTimeProvider : TimeProvider
    {
        private long _ticks = 1_000_000;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref _ticks);

        public override DateTimeOffset GetUtcNow() => new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero).AddTicks(Interlocked.Read(ref _ticks));

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) => new StoppedTimer();

        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);

        private sealed class StoppedTimer : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => true;

            public void Dispose()
            {
            }

            public ValueTask DisposeAsync() => default;
        }
    }

    [Theory]
    [InlineData(-1, "Answered")]
    [InlineData(0, "Late")]
    [InlineData(1, "Late")]
    public async Task AskAsync_HandlerTakesAboutTheTimeout_AnsweredOnlyBeforeIt(int ticksPastTimeout, string expected)
    {
        var time = new StoppedTimersTimeProvider();

        (ApprovalCallEnding ending, string? answer, Exception? failure, double ms) = await ApprovalCall.AskAsync(
            _ =>
            {
                time.Advance(s_timeout + TimeSpan.FromTicks(ticksPastTimeout));
                return new ValueTask<string>("yes");
            },
            s_timeout,
            time,
            CancellationToken.None).AsTask().WaitAsync(s_bound);

        Assert.Equal(Enum.Parse<ApprovalCallEnding>(expected), ending);
        Assert.Equal("yes", answer);
        Assert.Null(failure);
        Assert.Equal((s_timeout + TimeSpan.FromTicks(ticksPastTimeout)).TotalMilliseconds, ms, 6);
    }

    [Fact]
    public async Task AskAsync_HandlerThrows_FailedWithTheException()
    {
        var boom = new InvalidOperationException("approval UI crashed");

        (ApprovalCallEnding ending, string? answer, Exception? failure, _) = await ApprovalCall.AskAsync<string>(
            _ => throw boom, s_timeout, new StoppedTimersTimeProvider(), CancellationToken.None).AsTask().WaitAsync(s_bound);

        Assert.Equal((ApprovalCallEnding.Failed, null), (ending, answer));
        Assert.Same(boom, failure);
    }

    [Fact]
    public async Task ToolApproval_ApprovedAfterTheTimeout_DeniedAsTimeout()
    {
        var time = new StoppedTimersTimeProvider();
        var coordinator = new ApprovalCoordinator(
            new DelegateToolApprovalHandler((r, _) =>
            {
                time.Advance(s_timeout + TimeSpan.FromSeconds(5));
                return new(r.Approve("bob", "sorry, was at lunch"));
            }),
            new ApprovalOptions { Timeout = s_timeout },
            time,
            NullLogger.Instance);
        ToolCallContext call = TestCalls.Call(TestCalls.Session(TestCalls.Options()), "write_file", """{"path":"/tmp/a"}""");

        (GuardDecision d, ApprovalEvidence e) = await coordinator
            .ResolveAsync(call, [GuardDecision.RequireApproval("writes files", "tool.requires-approval")], default).AsTask().WaitAsync(s_bound);

        Assert.Equal((GuardDecisionKind.Deny, "approval.timeout"), (d.Kind, d.RuleId));
        Assert.Equal(("timeout", "bob"), (e.Result, e.ApproverId)); // who answered late is kept
        Assert.Equal(35_000, e.DurationMs, 6);
    }

    [Fact]
    public async Task ElicitationReview_ApprovedAfterTheTimeout_Declined()
    {
        var time = new StoppedTimersTimeProvider();
        McpGuardOptions options = TestCalls.Options();
        options.Approval.Timeout = s_timeout;
        var guard = new ServerRequestGuard(
            options,
            new DelegateElicitationApprovalHandler((r, _) =>
            {
                time.Advance(s_timeout + TimeSpan.FromSeconds(1));
                return new(r.Approve("carol"));
            }),
            time,
            NullLogger.Instance);
        var parameters = new JsonObject
        {
            ["mode"] = "form",
            ["message"] = "Card details",
            ["requestedSchema"] = new JsonObject { ["type"] = "object", ["properties"] = new JsonObject { ["cardNumber"] = new JsonObject { ["type"] = "string" } } },
        };

        (bool approved, GuardDecision d, ApprovalEvidence e) = await guard.ReviewElicitationAsync(
            TestCalls.Session(options), "5", parameters, [GuardDecision.RequireApproval("asks for a card number", "elicitation.secret-field")], default).AsTask().WaitAsync(s_bound);

        Assert.False(approved);
        Assert.Equal((GuardDecisionKind.Deny, "approval.timeout"), (d.Kind, d.RuleId));
        Assert.Equal(("timeout", "carol"), (e.Result, e.ApproverId));
    }
}
