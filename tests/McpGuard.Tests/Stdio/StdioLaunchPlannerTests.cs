using McpGuard.Stdio;

namespace McpGuard.Tests.Stdio;

/// <summary>
/// Launch decisions of <see cref="StdioLaunchPlanner.Decide"/> for each sandbox mode and bubblewrap state. The bubblewrap
/// state is given as a value here (the real lookup and self-check run in the sandbox integration tests).
/// </summary>
public sealed class StdioLaunchPlannerTests
{
    private static readonly BubblewrapStatus Working = new("/usr/bin/bwrap", true, true, "bubblewrap 0.8.0", null);
    private static readonly BubblewrapStatus Missing = new(null, false, false, null, "bwrap was not found");

    private static StdioLaunchOptions Stdio(StdioSandboxMode mode, params string[] readOnly)
    {
        var stdio = new StdioLaunchOptions { Command = "node", Arguments = { "server.js" }, ParentEnvironment = new Dictionary<string, string> { ["PATH"] = "/usr/bin" } };
        stdio.Sandbox.Mode = mode;
        stdio.Sandbox.ReadOnlyPaths.AddRange(readOnly);
        return stdio;
    }

    private static StdioLaunchPlan Decide(StdioLaunchOptions stdio, BubblewrapStatus? status) =>
        StdioLaunchPlanner.Decide(stdio, stdio.BuildEnvironment(), status, HostFileSystem.Instance);

    [Fact]
    public void Decide_Off_RunsServerDirectly()
    {
        StdioLaunchPlan plan = Decide(Stdio(StdioSandboxMode.Off), null);

        Assert.False(plan.Sandboxed);
        Assert.Null(plan.Refusal);
        Assert.Equal("node server.js", plan.CommandLine);
    }

    [Fact]
    public void Decide_RequiredAndBubblewrapMissing_RefusedWithRule()
    {
        StdioLaunchPlan plan = Decide(Stdio(StdioSandboxMode.Required), Missing);

        Assert.Equal("stdio.sandbox-unavailable", plan.Refusal?.RuleId);
        Assert.Contains("bwrap was not found", plan.Refusal!.Reason, StringComparison.Ordinal);
        Assert.False(plan.Sandboxed);
    }

    [Fact]
    public void Decide_PreferredAndBubblewrapMissing_RunsDirectlyAndSaysWhy()
    {
        StdioLaunchPlan plan = Decide(Stdio(StdioSandboxMode.Preferred), Missing);

        Assert.Null(plan.Refusal);
        Assert.False(plan.Sandboxed);
        Assert.Equal("the sandbox is unavailable: bwrap was not found", plan.NotSandboxedReason);
        Assert.Equal("node server.js", plan.CommandLine);
    }

    [Fact]
    public void Decide_RequiredAndWorking_RunsBubblewrapWithServerLast()
    {
        StdioLaunchPlan plan = Decide(Stdio(StdioSandboxMode.Required, "/usr/share"), Working);

        Assert.True(plan.Sandboxed);
        Assert.Equal("/usr/bin/bwrap", plan.FileName);
        Assert.Equal(["--", "node", "server.js"], plan.Arguments.TakeLast(3));
        Assert.StartsWith("/usr/bin/bwrap --unshare-all ", plan.CommandLine, StringComparison.Ordinal);
        Assert.EndsWith(" -- node server.js", plan.CommandLine, StringComparison.Ordinal);
    }

    [Fact]
    public void Decide_GrantMissingOnHost_RefusedWithRule()
    {
        StdioLaunchPlan plan = Decide(Stdio(StdioSandboxMode.Preferred, "/nonexistent-" + Guid.NewGuid().ToString("N")), Working);

        Assert.Equal("stdio.sandbox-path-missing", plan.Refusal?.RuleId);
    }

    [Fact]
    public void ToEvidenceDetails_Sandboxed_NamesNotValuesOfVariables()
    {
        StdioLaunchOptions stdio = Stdio(StdioSandboxMode.Required, "/usr/share");
        stdio.Environment["API_TOKEN"] = "value-that-must-not-appear";

        string details = Decide(stdio, Working).ToEvidenceDetails().ToJsonString();

        Assert.Contains("\"API_TOKEN\"", details, StringComparison.Ordinal);
        Assert.DoesNotContain("value-that-must-not-appear", details, StringComparison.Ordinal);
        Assert.Contains("\"sandboxed\":true", details, StringComparison.Ordinal);
        Assert.Contains("\"readOnlyPaths\":[\"/usr/share\"]", details, StringComparison.Ordinal);
    }

    private sealed class WithoutPrlimit : IHostFileSystem
    {
        public HostPath Probe(string path) => path.EndsWith("/prlimit", StringComparison.Ordinal) ? new HostPath(HostPathKind.Missing) : HostFileSystem.Instance.Probe(path);

        public string? RealPath(string path) => HostFileSystem.Instance.RealPath(path);
    }

    [Theory]
    [InlineData(StdioSandboxMode.Required)]
    [InlineData(StdioSandboxMode.Preferred)]
    public void Decide_ProcessLimitsWithoutPrlimit_RequiredRefusesPreferredSandboxesAndSaysSo(StdioSandboxMode mode)
    {
        StdioLaunchOptions stdio = Stdio(mode, "/usr/share");
        stdio.Sandbox.Limits.MaxMemoryBytes = 256L * 1024 * 1024;

        StdioLaunchPlan plan = StdioLaunchPlanner.Decide(stdio, stdio.BuildEnvironment(), Working, new WithoutPrlimit());

        if (mode == StdioSandboxMode.Required)
        {
            Assert.Equal("stdio.sandbox-unavailable", plan.Refusal?.RuleId);
            Assert.Contains("prlimit", plan.Refusal!.Reason, StringComparison.Ordinal);
        }
        else
        {
            Assert.Null(plan.Refusal);
            Assert.True(plan.Sandboxed);
            Assert.DoesNotContain("--data=268435456:268435456", plan.Arguments);
            Assert.Contains("prlimit", plan.LimitsNotAppliedReason, StringComparison.Ordinal);
            Assert.Contains("prlimit", plan.ToEvidenceDetails()["resourceLimitsNotApplied"]!.GetValue<string>(), StringComparison.Ordinal);
            Assert.Contains("NOT applied", plan.Summary, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Validate_LimitsOutOfRangeOrWithoutSandbox_NamedFailures()
    {
        var failures = new List<string>();
        var off = new StdioSandboxOptions();
        off.Limits.MaxOpenFiles = 100;
        off.Validate("S", null, failures);
        var on = new StdioSandboxOptions { Mode = StdioSandboxMode.Required };
        on.Limits.MaxMemoryBytes = 1024;
        on.Limits.MaxOpenFiles = 4;
        on.Limits.TmpSizeBytes = 0;
        on.Limits.MaxCpuSeconds = -1;
        on.Limits.MaxFileSizeBytes = 10;
        on.Validate("T", null, failures);

        Assert.Contains(failures, f => f.StartsWith("S:Mode is Off", StringComparison.Ordinal) && f.Contains("limits", StringComparison.Ordinal));
        foreach (string name in new[] { "MaxMemoryBytes", "MaxOpenFiles", "TmpSizeBytes", "MaxCpuSeconds", "MaxFileSizeBytes" })
        {
            Assert.Contains(failures, f => f.StartsWith("T:Limits:" + name + " is ", StringComparison.Ordinal));
        }
    }
}
