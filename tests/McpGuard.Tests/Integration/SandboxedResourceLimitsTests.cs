using System.Diagnostics;
using McpGuard.Stdio;
using ModelContextProtocol.Protocol;

namespace McpGuard.Tests.Integration;

/// <summary>
/// Resource limits (<see cref="StdioSandboxOptions.Limits"/>) with the real bubblewrap and util-linux <c>prlimit</c>: the
/// real <c>server-filesystem</c> inside the sandbox with a per-file size limit and a small <c>/tmp</c>, next to the same
/// server in the same sandbox without limits as the control, so only the limits can make the writes fail.
/// </summary>
public sealed class SandboxedResourceLimitsFixture : IAsyncLifetime
{
    public const long FileLimit = 256 * 1024;
    public const long TmpLimit = 512 * 1024;
    public const long MemoryLimit = 1024L * 1024 * 1024;

    private readonly TempDirectory _root = new("mcpguard-limits-");

    public SandboxedResourceLimitsFixture()
    {
        Writable = Directory.CreateDirectory(_root.Combine("writable")).FullName;
    }

    public string Writable { get; }

    internal GuardedNpmServer Limited { get; private set; } = null!;

    internal GuardedNpmServer Unlimited { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        try
        {
            StdioLaunchOptions limited = SandboxedServers.Sandboxed(NpmMcpServers.Filesystem(Writable, "/tmp"), readWrite: [Writable]);
            limited.Sandbox.Limits.MaxFileSizeBytes = FileLimit;
            limited.Sandbox.Limits.TmpSizeBytes = TmpLimit;
            limited.Sandbox.Limits.MaxMemoryBytes = MemoryLimit;
            limited.Sandbox.Limits.MaxOpenFiles = 256;
            Limited = await GuardedNpmServer.StartAsync("filesystem-limited", limited, Allow);
            Unlimited = await GuardedNpmServer.StartAsync("filesystem-unlimited", SandboxedServers.Sandboxed(NpmMcpServers.Filesystem(Writable, "/tmp"), readWrite: [Writable]), Allow);
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    public async Task DisposeAsync()
    {
        try
        {
            await (Limited?.DisposeAsync() ?? ValueTask.CompletedTask);
            await (Unlimited?.DisposeAsync() ?? ValueTask.CompletedTask);
        }
        finally
        {
            _root.Dispose();
        }
    }

    private static void Allow(GuardServerOptions server)
    {
        server.ExpectedName = "secure-filesystem-server";
        server.Tools["write_file"] = new GuardToolOptions { Access = ToolAccess.Allow };
        server.Tools["read_text_file"] = new GuardToolOptions { Access = ToolAccess.Allow };
    }
}

[Trait("Category", "Integration")]
public sealed class SandboxedResourceLimitsTests(SandboxedResourceLimitsFixture fixture) : IClassFixture<SandboxedResourceLimitsFixture>
{
    private static Dictionary<string, object?> Write(string path, int length) => new() { ["path"] = path, ["content"] = new string('x', length) };

    [Fact]
    public async Task WriteFile_LargerThanTheFileLimit_FailsAndTheHostFileStaysWithinIt_UnlimitedControlWritesIt()
    {
        int length = (int)SandboxedResourceLimitsFixture.FileLimit + 64 * 1024;
        string limitedTarget = Path.Combine(fixture.Writable, "big-" + Guid.NewGuid().ToString("N") + ".txt");
        string controlTarget = Path.Combine(fixture.Writable, "big-" + Guid.NewGuid().ToString("N") + ".txt");

        CallToolResult limited = await fixture.Limited.CallToolAsync("write_file", Write(limitedTarget, length));
        CallToolResult control = await fixture.Unlimited.CallToolAsync("write_file", Write(controlTarget, length));

        Assert.True(limited.IsError);
        Assert.True(!File.Exists(limitedTarget) || new FileInfo(limitedTarget).Length <= SandboxedResourceLimitsFixture.FileLimit);
        Assert.NotEqual(true, control.IsError);
        Assert.Equal(length, new FileInfo(controlTarget).Length);
    }

    [Fact]
    public async Task WriteFile_WithinTheFileLimit_Succeeds()
    {
        string target = Path.Combine(fixture.Writable, "small-" + Guid.NewGuid().ToString("N") + ".txt");

        CallToolResult result = await fixture.Limited.CallToolAsync("write_file", Write(target, 4096));

        Assert.NotEqual(true, result.IsError);
        Assert.Equal(4096, new FileInfo(target).Length);
    }

    [Fact]
    public async Task WriteFile_PrivateTmpBeyondItsSize_FailsWhileEachFileIsWithinTheFileLimit()
    {
        // Three files of 200 KiB: each below the 256 KiB file limit, together above the 512 KiB /tmp.
        var outcomes = new List<bool>();
        var control = new List<bool>();
        for (int i = 0; i < 3; i++)
        {
            string name = "/tmp/part-" + i + "-" + Guid.NewGuid().ToString("N");
            outcomes.Add((await fixture.Limited.CallToolAsync("write_file", Write(name, 200 * 1024))).IsError == true);
            control.Add((await fixture.Unlimited.CallToolAsync("write_file", Write(name, 200 * 1024))).IsError == true);
        }

        Assert.Equal([false, false, true], outcomes);
        Assert.Equal([false, false, false], control);
    }

    [Fact]
    public void ServerLaunched_RecordsTheLimitsAndThePrlimitCommandLine()
    {
        GuardEvidence launched = Assert.Single(fixture.Limited.Evidence.OfKind(GuardEvidenceKind.ServerLaunched));

        Assert.Contains($" --size {SandboxedResourceLimitsFixture.TmpLimit} --tmpfs /tmp ", launched.Endpoint, StringComparison.Ordinal);
        Assert.Contains($" -- /usr/bin/prlimit --data={SandboxedResourceLimitsFixture.MemoryLimit}:{SandboxedResourceLimitsFixture.MemoryLimit} --fsize=262144:262144 --nofile=256:256 -- node ", launched.Endpoint, StringComparison.Ordinal);
        Assert.Equal(SandboxedResourceLimitsFixture.FileLimit, launched.Details!["resourceLimits"]!["maxFileSizeBytes"]!.GetValue<long>());
        Assert.Null(launched.Details["resourceLimitsNotApplied"]);
        Assert.Null(Assert.Single(fixture.Unlimited.Evidence.OfKind(GuardEvidenceKind.ServerLaunched)).Details!["resourceLimits"]);
    }

    /// <summary>The plan's real bwrap command line with <c>cat /proc/self/limits</c> as the "server": the kernel's own view
    /// of the limits inside the sandbox, soft and hard.</summary>
    [Fact]
    public async Task Plan_KernelSeesEveryLimitSoftAndHard()
    {
        var stdio = new StdioLaunchOptions { Command = "/bin/cat", Arguments = { "/proc/self/limits" } };
        stdio.Sandbox.Mode = StdioSandboxMode.Required;
        SandboxedServers.RequireBubblewrap();
        stdio.Sandbox.Limits.MaxMemoryBytes = 300L * 1024 * 1024;
        stdio.Sandbox.Limits.MaxFileSizeBytes = 5_000_000;
        stdio.Sandbox.Limits.MaxOpenFiles = 99;
        stdio.Sandbox.Limits.MaxCpuSeconds = 77;

        StdioLaunchPlan plan = await StdioLaunchPlanner.PrepareAsync(stdio, CancellationToken.None);
        Assert.Null(plan.Refusal);
        var start = new ProcessStartInfo(plan.FileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in plan.Arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(start)!;
        Task<string> error = process.StandardError.ReadToEndAsync();
        string output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(GuardedNpmServer.Timeout);

        // Not the exit code: about one bwrap run in a hundred started from the test host ends with 137 (SIGKILL) after
        // the command wrote all its output, with or without prlimit; the output is the kernel's view, read in full.
        Assert.True(output.Contains("Max realtime timeout", StringComparison.Ordinal), $"exit {process.ExitCode}: {await error}\n{output}\n{plan.CommandLine}");
        Assert.Matches(@"Max data size\s+314572800\s+314572800\s+bytes", output);
        Assert.Matches(@"Max file size\s+5000000\s+5000000\s+bytes", output);
        Assert.Matches(@"Max open files\s+99\s+99\s+files", output);
        Assert.Matches(@"Max cpu time\s+77\s+77\s+seconds", output);
    }
}
