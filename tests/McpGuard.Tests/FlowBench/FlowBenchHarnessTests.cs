extern alias flowbench;

using flowbench::McpGuard.FlowBench;

namespace McpGuard.Tests.FlowBench;

/// <summary>
/// The AgentDojo replay harness (benchmarks/McpGuard.FlowBench) on a hand-written three-task fixture (not corpus data):
/// it must count an attack as succeeded when the guard lets its calls through and as prevented when the guard stops
/// them, so its figures can fail. Real parts: the SDK's in-process server over pipes and the real guard.
/// </summary>
public sealed class FlowBenchHarnessTests
{
    private static readonly AgentDojoCorpus Fixture = AgentDojoCorpus.Load(Path.Combine(AppContext.BaseDirectory, "FlowBench", "Fixtures"));

    [Fact]
    public async Task RunSuite_NoFlowPolicy_AttackCountedAsSucceeded()
    {
        IReadOnlyList<PairOutcome> outcomes = await FlowBenchRunner.RunSuiteAsync(Fixture, "mini", PolicyFiles.None, parallelism: 1);

        PairOutcome pair = Single(outcomes, "injection_task_0");
        Assert.True(pair.AttackCalls[0].Executed);
        Assert.True(pair.AttackSucceeded);
        Assert.Equal(1.0, BenchFigures.From("mini", outcomes).Asr);
    }

    [Fact]
    public async Task RunSuite_RecipientMustBeTrusted_AttackCountedAsPrevented()
    {
        IReadOnlyList<PairOutcome> outcomes = await FlowBenchRunner.RunSuiteAsync(Fixture, "mini", RecipientPolicy(trustPrompt: true), parallelism: 1);

        PairOutcome pair = Single(outcomes, "injection_task_0");
        Assert.True(pair.AttackCalls[0].Prompted);
        Assert.False(pair.AttackCalls[0].Approved);
        Assert.False(pair.AttackCalls[0].Executed);
        Assert.False(pair.AttackSucceeded);
        Assert.True(pair.UtilityWithoutApprovals);
    }

    [Fact]
    public async Task RunSuite_UserCallNeedsApproval_SimulatedUserApprovesIt()
    {
        IReadOnlyList<PairOutcome> outcomes = await FlowBenchRunner.RunSuiteAsync(Fixture, "mini", RecipientPolicy(trustPrompt: false), parallelism: 1);

        PairOutcome pair = Single(outcomes, "injection_task_0");
        Assert.True(pair.UserCalls[1].Prompted);
        Assert.True(pair.UserCalls[1].Executed);
        Assert.True(pair.Utility);
        Assert.False(pair.UtilityWithoutApprovals);
        Assert.Equal(1, pair.UserPrompts);
    }

    [Fact]
    public async Task RunSuite_AttackCallIdenticalToUserCall_ApprovedAndCountedAsFalseApproval()
    {
        IReadOnlyList<PairOutcome> outcomes = await FlowBenchRunner.RunSuiteAsync(Fixture, "mini", RecipientPolicy(trustPrompt: false), parallelism: 1);

        PairOutcome pair = Single(outcomes, "injection_task_1");
        Assert.Equal(1, pair.FalseApprovals);
        Assert.True(pair.AttackSucceeded);
    }

    [Fact]
    public async Task Figures_ToolFreeGoal_ReportedApartFromAttackRate()
    {
        IReadOnlyList<PairOutcome> outcomes = await FlowBenchRunner.RunSuiteAsync(Fixture, "mini", RecipientPolicy(trustPrompt: true), parallelism: 1);

        BenchFigures figures = BenchFigures.From("mini", outcomes);
        Assert.Equal(3, figures.Pairs);
        Assert.Equal(1, figures.ToolFreePairs);
        Assert.Equal(2, figures.AttackPairs);
        Assert.Equal(1, figures.AttackSuccesses);
    }

    [Fact]
    public void Synthesize_ValueNeededLater_InEarlierResult_AttackTextOnlyInSlotResult()
    {
        UserTask user = Fixture.UserTasks[0];
        InjectionTask attack = Fixture.InjectionTasks[0];

        IReadOnlyList<string> results = ResultSynthesizer.Synthesize(user.Prompt, user.Calls, attack.Goal, attack.Calls);

        Assert.Contains("Room 4.12", results[0], StringComparison.Ordinal);
        Assert.Contains("eve@attacker.example", results[0], StringComparison.Ordinal);
        Assert.DoesNotContain("bob@example.com", results[0], StringComparison.Ordinal);
        Assert.DoesNotContain("attacker", results[1], StringComparison.Ordinal);
    }

    private static PairOutcome Single(IReadOnlyList<PairOutcome> outcomes, string injectionTaskId) =>
        Assert.Single(outcomes, o => o.InjectionTaskId == injectionTaskId);

    // send_email's recipients must be trusted values (the prompt names bob@example.com); nothing else fires.
    private static BenchPolicy RecipientPolicy(bool trustPrompt) => new(
        "test",
        flow => flow.LoadPolicyJson("""
            {
              "Enabled": true,
              "Servers": { "mini": { "Tools": {
                "read_inbox": { "Labels": [ "untrusted-source" ] },
                "send_email": { "SinkKind": "email", "Destinations": [ "$.recipients[*]" ], "UntrustedDestinationAction": "RequireApproval" }
              } } },
              "LethalTrifecta": { "Enabled": false },
              "UntrustedBeforeHighImpact": { "Enabled": false },
              "ArgumentProvenance": { "Enabled": false }
            }
            """),
        [],
        trustPrompt);
}
