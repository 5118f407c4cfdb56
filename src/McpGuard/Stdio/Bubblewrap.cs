using System.Collections.Concurrent;
using System.Diagnostics;

namespace McpGuard.Stdio;

/// <summary>Whether bubblewrap can sandbox a launch here, and if not, why.</summary>
/// <param name="Path">The <c>bwrap</c> executable, if found.</param>
/// <param name="Works">Whether it is usable: found on Linux and (when <paramref name="Checked"/>) passed the self-check.</param>
/// <param name="Checked">Whether the self-check ran (a real sandboxed <c>true</c> with the launch's namespace flags).</param>
/// <param name="Version">What <c>bwrap --version</c> printed.</param>
/// <param name="Problem">Why it cannot be used, phrased to follow "the sandbox is unavailable: ".</param>
internal sealed record BubblewrapStatus(string? Path, bool Works, bool Checked, string? Version, string? Problem);

/// <summary>
/// bubblewrap (<c>bwrap</c>, https://github.com/containers/bubblewrap, ≥ 0.8 for <c>--disable-userns</c>): finding it,
/// checking that it can create the sandbox on this kernel, and building its command line.
/// </summary>
internal static class Bubblewrap
{
    /// <summary>System directories bound read-only (or mirrored as the symbolic links they are on the host, e.g. <c>/lib → usr/lib</c>).</summary>
    internal static readonly string[] SystemDirectories = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];

    /// <summary>The parts of <c>/etc</c> a dynamically linked runtime needs (loader cache, users and groups for <c>getpwuid</c>, name service, time zone, TLS roots); bound read-only when present. No shadow files, no SSH or cloud configuration.</summary>
    internal static readonly string[] SystemEtcPaths =
    [
        "/etc/alternatives", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime", "/etc/timezone",
        "/etc/nsswitch.conf", "/etc/passwd", "/etc/group", "/etc/hosts", "/etc/host.conf", "/etc/gai.conf",
        "/etc/ssl", "/etc/ca-certificates", "/etc/ca-certificates.conf", "/etc/mime.types",
    ];

    /// <summary>Upper bound for each self-check process; reached only when something hangs.</summary>
    private static readonly TimeSpan s_checkTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Self-check results that passed, by <c>bwrap</c> path; failures are not cached so an installation is picked up.</summary>
    private static readonly ConcurrentDictionary<string, BubblewrapStatus> s_verified = new(StringComparer.Ordinal);

    /// <summary>Finds <c>bwrap</c> without running it: the configured path, else the host's <c>PATH</c>, else <c>/usr/bin/bwrap</c>.</summary>
    public static BubblewrapStatus Locate(string? configuredPath)
    {
        if (!OperatingSystem.IsLinux())
        {
            return new BubblewrapStatus(null, false, false, null, "sandboxing uses bubblewrap, which runs on Linux only; this host runs " + System.Runtime.InteropServices.RuntimeInformation.OSDescription);
        }

        string? path = configuredPath is { Length: > 0 }
            ? (File.Exists(configuredPath) ? configuredPath : null)
            : FindOnPath("bwrap", Environment.GetEnvironmentVariable("PATH"), HostFileSystem.Instance) ?? (File.Exists("/usr/bin/bwrap") ? "/usr/bin/bwrap" : null);
        if (path is null)
        {
            return new BubblewrapStatus(null, false, false, null, configuredPath is { Length: > 0 }
                ? $"bwrap was not found at the configured BubblewrapPath '{configuredPath}'"
                : "bwrap (bubblewrap) was not found on PATH or at /usr/bin/bwrap; install it (Debian/Ubuntu: apt-get install bubblewrap) or set Sandbox:BubblewrapPath");
        }

        return s_verified.TryGetValue(path, out BubblewrapStatus? verified) ? verified : new BubblewrapStatus(path, true, false, null, null);
    }

    /// <summary>Locates <c>bwrap</c> and, unless it already passed in this process, runs the self-check: <c>bwrap --version</c>, then <c>true</c> inside a sandbox with the same flags a launch uses.</summary>
    public static async Task<BubblewrapStatus> CheckAsync(string? configuredPath, CancellationToken cancellationToken)
    {
        BubblewrapStatus located = Locate(configuredPath);
        if (!located.Works || located.Checked)
        {
            return located;
        }

        string path = located.Path!;
        (int versionExit, string versionOut) = await RunAsync(path, ["--version"], cancellationToken).ConfigureAwait(false);
        string version = versionOut.Trim();
        if (versionExit != 0 || !version.StartsWith("bubblewrap", StringComparison.Ordinal))
        {
            return located with { Works = false, Checked = true, Problem = $"'{path}' is not a working bubblewrap (--version exited {versionExit})" };
        }

        var probe = new StdioLaunchOptions { Command = "true" };
        var environment = new Dictionary<string, string?>(StringComparer.Ordinal) { ["PATH"] = "/usr/bin:/bin" };
        (int exit, string output) = await RunAsync(path, BuildArguments(probe, environment, HostFileSystem.Instance), cancellationToken).ConfigureAwait(false);
        if (exit != 0)
        {
            string detail = output.Trim();
            detail = detail.Length > 300 ? detail[..300] + "…" : detail;
            return located with
            {
                Works = false,
                Checked = true,
                Version = version,
                Problem = $"{version} at '{path}' failed its self-check (exit {exit}: {detail}); the kernel may forbid the namespaces it needs (user namespaces, --disable-userns needs bubblewrap 0.8 or later)",
            };
        }

        BubblewrapStatus works = located with { Checked = true, Version = version };
        s_verified[path] = works;
        return works;
    }

    /// <summary>
    /// The arguments of <c>bwrap</c> (without <c>bwrap</c> itself) that run <paramref name="stdio"/> in its sandbox, ending
    /// with <c>--</c>, the server's command and its arguments. The environment is not on the command line: <c>bwrap</c>
    /// runs with exactly the scrubbed environment and hands it on, so values never appear in the process list or in evidence.
    /// </summary>
    /// <param name="stdio">The launch settings; <see cref="StdioLaunchOptions.Sandbox"/> supplies the grants.</param>
    /// <param name="environment">The scrubbed environment (its <c>PATH</c> locates the command on the host).</param>
    /// <param name="fs">The host file system.</param>
    public static List<string> BuildArguments(StdioLaunchOptions stdio, IReadOnlyDictionary<string, string?> environment, IHostFileSystem fs)
    {
        StdioSandboxOptions sandbox = stdio.Sandbox;
        var args = new List<string>
        {
            // Every namespace (user, mount, PID, IPC, UTS, cgroup, network); no nested user namespaces from inside.
            "--unshare-all", "--unshare-user", "--disable-userns",
        };
        if (sandbox.AllowNetwork)
        {
            args.Add("--share-net");
        }

        args.AddRange(["--die-with-parent", "--new-session", "--cap-drop", "ALL"]);
        args.AddRange(["--proc", "/proc", "--dev", "/dev"]);
        if (sandbox.Limits.TmpSizeBytes is { } tmpSize)
        {
            args.AddRange(["--size", tmpSize.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        }

        args.AddRange(["--tmpfs", "/tmp"]);
        foreach (string dir in SystemDirectories)
        {
            HostPath host = fs.Probe(dir);
            switch (host.Kind)
            {
                case HostPathKind.SymbolicLink:
                    args.AddRange(["--symlink", host.LinkTarget!, dir]);
                    break;
                case HostPathKind.Directory:
                    args.AddRange(["--ro-bind", dir, dir]);
                    break;
            }
        }

        foreach (string path in SystemEtcPaths)
        {
            args.AddRange(["--ro-bind-try", path, path]);
        }

        if (sandbox.AllowNetwork)
        {
            args.AddRange(["--ro-bind-try", "/etc/resolv.conf", "/etc/resolv.conf"]);
        }

        List<(string Path, bool Writable)> grants = Grants(sandbox);
        foreach (string path in CommandBindings(stdio, environment, fs, grants))
        {
            args.AddRange(["--ro-bind", path, path]);
        }

        foreach ((string path, bool writable) in grants)
        {
            args.AddRange([writable ? "--bind" : "--ro-bind", path, path]);
        }

        args.AddRange(["--chdir", stdio.WorkingDirectory is { Length: > 0 } wd ? SandboxPath.Normalize(wd) : "/"]);
        args.Add("--");
        if (sandbox.Limits.HasProcessLimits && PrlimitPath(fs) is { } prlimit)
        {
            // Resource limits set inside the sandbox, for the server and everything it starts (soft = hard: no raising them).
            args.Add(prlimit);
            args.AddRange(sandbox.Limits.PrlimitOptions());
            args.Add("--");
        }

        args.Add(stdio.Command);
        args.AddRange(stdio.Arguments);
        return args;
    }

    /// <summary>util-linux <c>prlimit</c> in the system directories the sandbox mounts, or <see langword="null"/>.</summary>
    internal static string? PrlimitPath(IHostFileSystem fs) => Array.Find(s_prlimitPaths, p => fs.Probe(p).Kind == HostPathKind.File);

    private static readonly string[] s_prlimitPaths = ["/usr/bin/prlimit", "/bin/prlimit"];

    /// <summary>The granted paths, normalized, shallow first so a deeper grant is mounted over (and wins against) a shallower one; for the same path read-write wins.</summary>
    public static List<(string Path, bool Writable)> Grants(StdioSandboxOptions sandbox) =>
    [
        .. sandbox.ReadOnlyPaths.Select(p => (Path: SandboxPath.Normalize(p), Writable: false))
            .Concat(sandbox.ReadWritePaths.Select(p => (Path: SandboxPath.Normalize(p), Writable: true)))
            .Distinct()
            .OrderBy(g => SandboxPath.Depth(g.Path))
            .ThenBy(g => g.Path, StringComparer.Ordinal)
            .ThenBy(g => g.Writable),
    ];

    /// <summary>The host paths that must be bound read-only so that the command can start: the executable found on the child's <c>PATH</c> and its final target, unless the system directories or a grant already cover them.</summary>
    internal static IEnumerable<string> CommandBindings(StdioLaunchOptions stdio, IReadOnlyDictionary<string, string?> environment, IHostFileSystem fs, List<(string Path, bool Writable)> grants)
    {
        string? resolved = stdio.Command.Contains('/', StringComparison.Ordinal)
            ? (stdio.Command.StartsWith('/') ? stdio.Command : null)
            : FindOnPath(stdio.Command, environment.TryGetValue("PATH", out string? p) ? p : null, fs);
        if (resolved is null)
        {
            yield break;
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (string candidate in new[] { resolved, fs.RealPath(resolved) ?? resolved }.Select(SandboxPath.Normalize))
        {
            bool covered = SystemDirectories.Any(d => SandboxPath.IsSameOrBelow(candidate, d)) || grants.Any(g => SandboxPath.IsSameOrBelow(candidate, g.Path));
            if (!covered && seen.Add(candidate))
            {
                yield return candidate;
            }
        }
    }

    internal static string? FindOnPath(string command, string? pathVariable, IHostFileSystem fs)
    {
        foreach (string dir in (pathVariable ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!dir.StartsWith('/'))
            {
                continue;
            }

            string candidate = dir.TrimEnd('/') + "/" + command;
            if (fs.Probe(candidate).Kind is HostPathKind.File or HostPathKind.SymbolicLink)
            {
                return candidate;
            }
        }

        return null;
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string fileName, IEnumerable<string> arguments, CancellationToken cancellationToken)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            CreateNoWindow = true,
            WorkingDirectory = "/",
        };
        foreach (string argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        startInfo.Environment.Clear();
        startInfo.Environment["PATH"] = "/usr/bin:/bin";

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(s_checkTimeout);
        Process process;
        try
        {
            process = Process.Start(startInfo) ?? throw new InvalidOperationException("Process.Start returned null.");
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
        {
            return (-1, ex.Message);
        }

        using (process)
        {
            process.StandardInput.Close();
            Task<string> stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
            Task<string> stderr = process.StandardError.ReadToEndAsync(timeout.Token);
            try
            {
                await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
                return (process.ExitCode, await stdout.ConfigureAwait(false) + await stderr.ConfigureAwait(false));
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                cancellationToken.ThrowIfCancellationRequested();
                return (-1, $"no answer within {s_checkTimeout.TotalSeconds:0} s");
            }
        }
    }
}
