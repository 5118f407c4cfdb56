using Xunit.Abstractions;

namespace McpGuard.Tests.Integration.Conformance;

/// <summary>
/// The guarded client against the real MCP conformance suite: every client scenario (including every auth scenario)
/// that the unguarded SDK client passes, the guarded client passes too. See docs/conformance.md.
/// </summary>
public sealed class ConformanceTests(ConformanceSuiteFixture suite, ITestOutputHelper output) : IClassFixture<ConformanceSuiteFixture>
{
    public static TheoryData<string> Scenarios => new(ConformanceSuiteFixture.PinnedScenarios);

    public static TheoryData<string> BrokenClientScenarios => new(ConformanceSuiteFixture.BrokenClientScenarios);

    [Fact]
    public void ConformanceRunner_ListClientScenarios_MatchesPinnedList()
    {
        output.WriteLine(suite.Summary());
        Assert.Equal(ConformanceSuiteFixture.PinnedScenarios.Order(StringComparer.Ordinal), suite.ListedScenarios.Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Scenarios))]
    public void UnguardedClient_Scenario_MatchesSdkBaseline(string scenario)
    {
        ConformanceRun run = suite.Run(scenario, ConformanceClientMode.Unguarded);
        bool expectedToPass = !ConformanceSuiteFixture.KnownSdkFailures.Contains(scenario);
        Assert.True(
            run.Verdict.Passed == expectedToPass,
            $"The unguarded SDK client {(run.Verdict.Passed ? "passed" : "failed")} '{scenario}' ({run.Verdict}); the documented baseline says it " +
            $"{(expectedToPass ? "passes" : "fails")}. Update KnownSdkFailures and docs/conformance.md if the SDK changed. Results: {run.ResultDirectory}");
    }

    [Theory]
    [MemberData(nameof(Scenarios))]
    public void GuardedClient_Scenario_PassesWhenUnguardedPasses(string scenario)
    {
        ConformanceRun unguarded = suite.Run(scenario, ConformanceClientMode.Unguarded);
        ConformanceRun guarded = suite.Run(scenario, ConformanceClientMode.Guarded);
        output.WriteLine($"unguarded: {unguarded.Verdict}; guarded: {guarded.Verdict} after {guarded.Attempts} attempt(s)");
        Assert.True(
            !unguarded.Verdict.Passed || guarded.Verdict.Passed,
            $"The guarded client failed '{scenario}' that the unguarded client passes: {guarded.Verdict}. Results: {guarded.ResultDirectory}");
    }

    [Theory]
    [MemberData(nameof(Scenarios))]
    public void GuardedClient_Scenario_WentThroughTheGuard(string scenario)
    {
        // Every guarded session leaves evidence (ServerConnected, ConnectionClosed, or the HTTP block that refused it).
        ConformanceRun guarded = suite.Run(scenario, ConformanceClientMode.Guarded);
        string evidence = File.Exists(guarded.EvidencePath) ? File.ReadAllText(guarded.EvidencePath) : string.Empty;
        Assert.True(
            !guarded.Verdict.Passed || evidence.Contains("\"serverName\":\"conformance\"", StringComparison.Ordinal),
            $"The guarded run of '{scenario}' passed without McpGuard evidence in {guarded.EvidencePath}.");
    }

    [Fact]
    public void GuardedClient_ResourceMismatch_RefusedByTheGuardWithEvidence()
    {
        // The scenario's protected resource metadata names another resource: McpGuard's discovery policy refuses it
        // before the SDK's own check runs.
        ConformanceRun guarded = suite.Run("auth/resource-mismatch", ConformanceClientMode.Guarded);
        string evidence = File.Exists(guarded.EvidencePath) ? File.ReadAllText(guarded.EvidencePath) : string.Empty;
        Assert.Contains("\"ruleId\":\"oauth.resource-mismatch\"", evidence, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(BrokenClientScenarios))]
    public void BrokenClient_SkipsAuthAndCalls_FailsScenario(string scenario)
    {
        ConformanceRun broken = suite.Run(scenario, ConformanceClientMode.BrokenSkipAuth);
        Assert.False(broken.Verdict.Passed, $"A client that skips auth and the scenario's calls passed '{scenario}': the harness cannot tell pass from fail.");
    }

    [Fact]
    public void GuardedStrictClient_LoopbackNotAllowListed_RefusedWithEvidence()
    {
        ConformanceRun strict = suite.Run(ConformanceSuiteFixture.StrictScenario, ConformanceClientMode.GuardedStrict);
        string evidence = File.Exists(strict.EvidencePath) ? File.ReadAllText(strict.EvidencePath) : string.Empty;
        Assert.False(strict.Verdict.Passed);
        Assert.Contains("\"kind\":\"HttpRequestBlocked\"", evidence, StringComparison.Ordinal);
        Assert.Contains("\"ruleId\":\"http.", evidence, StringComparison.Ordinal);
    }
}
