using McpGuard.Stdio;

namespace McpGuard;

/// <summary>Whether a local (stdio) server is launched inside a sandbox.</summary>
public enum StdioSandboxMode
{
    /// <summary>No sandbox: the server runs as the host user with the scrubbed environment only. It can read what the host user can read and open network connections.</summary>
    Off,

    /// <summary>
    /// Sandbox when possible: on Linux with a working bubblewrap the server runs sandboxed; otherwise (another OS, <c>bwrap</c>
    /// missing or failing its self-check) it runs without a sandbox, with the scrubbed environment, and the launch evidence
    /// says so and why.
    /// </summary>
    Preferred,

    /// <summary>Sandbox or nothing: when the sandbox cannot be set up the launch fails with <see cref="McpGuardSandboxException"/> (rule <c>stdio.sandbox-unavailable</c>) and the server is never started.</summary>
    Required,
}

/// <summary>
/// The sandbox a local (stdio) MCP server runs in. On Linux it is built with bubblewrap (<c>bwrap</c>, Debian package
/// <c>bubblewrap</c>): every namespace unshared (user, mount, PID, IPC, UTS, cgroup and, unless <see cref="AllowNetwork"/>,
/// network); no capabilities; a new session (no terminal injection); the server dies with the host; a read-only system
/// (<c>/usr</c>, <c>/bin</c>, <c>/lib*</c> and a few files of <c>/etc</c>); a private, empty <c>/tmp</c>; a fresh
/// <c>/proc</c> and a minimal <c>/dev</c>; and of the rest of the file system only the paths granted here.
/// </summary>
/// <remarks>
/// <para>Grant the server's own files too: its package directory (for <c>node .../dist/index.js</c>, the directory holding
/// <c>node_modules</c>) in <see cref="ReadOnlyPaths"/>. The command itself (<see cref="StdioLaunchOptions.Command"/>) is
/// bound read-only automatically when it lies outside the system directories. A <see cref="StdioLaunchOptions.WorkingDirectory"/>
/// must lie inside a granted path; without one the server starts in <c>/</c>.</para>
/// <para>Paths appear inside the sandbox at the same place as on the host, so the server's own arguments need no change.
/// Symbolic links in a granted path are followed on the host. Granting a directory grants everything below it.</para>
/// <para>See <c>docs/sandbox.md</c> for the exact command line and what the sandbox does not cover. Not thread-safe to
/// mutate; treat as immutable once the engine is built.</para>
/// </remarks>
public sealed class StdioSandboxOptions
{
    /// <summary>Whether the server is sandboxed.</summary>
    /// <value>Default: <see cref="StdioSandboxMode.Off"/> (opt in per server; <see cref="StdioSandboxMode.Required"/> for servers you do not trust).</value>
    public StdioSandboxMode Mode { get; set; } = StdioSandboxMode.Off;

    /// <summary>Absolute paths (directories or files) the server may read but not change. Everything below a directory is included.</summary>
    public List<string> ReadOnlyPaths { get; } = [];

    /// <summary>Absolute paths (directories or files) the server may read and change. A path may lie inside a read-only one (the deeper grant wins).</summary>
    public List<string> ReadWritePaths { get; } = [];

    /// <summary>Whether the server shares the host's network (and gets <c>/etc/resolv.conf</c>). Otherwise it has only its own, empty loopback interface: no connection to the host's loopback services, the LAN or the internet.</summary>
    /// <value>Default: <see langword="false"/>.</value>
    public bool AllowNetwork { get; set; }

    /// <summary>Absolute path of the <c>bwrap</c> executable; <see langword="null"/> looks for <c>bwrap</c> on the host's <c>PATH</c>, then <c>/usr/bin/bwrap</c>.</summary>
    /// <value>Default: <see langword="null"/>.</value>
    public string? BubblewrapPath { get; set; }

    /// <summary>Resource limits of the sandboxed server (memory and file size in bytes, open files, CPU time in seconds,
    /// <c>/tmp</c> size in bytes; POSIX <c>setrlimit(2)</c> via util-linux <c>prlimit</c>, bubblewrap <c>--size</c>); all off
    /// unless set. See <see cref="StdioResourceLimits"/>.</summary>
    public StdioResourceLimits Limits { get; } = new();

    internal bool HasSettings => ReadOnlyPaths.Count > 0 || ReadWritePaths.Count > 0 || AllowNetwork || BubblewrapPath is not null || Limits.IsSet;

    internal void Validate(string prefix, string? workingDirectory, List<string> failures)
    {
        if (Mode == StdioSandboxMode.Off)
        {
            if (HasSettings)
            {
                failures.Add($"{prefix}:Mode is Off but paths, network, limits or BubblewrapPath are set for a sandbox; set Mode to Preferred or Required, or remove them.");
            }

            return;
        }

        if (!Enum.IsDefined(Mode))
        {
            failures.Add($"{prefix}:Mode is {(int)Mode}; use Off, Preferred or Required.");
        }

        foreach ((string name, List<string> paths) in new[] { ("ReadOnlyPaths", ReadOnlyPaths), ("ReadWritePaths", ReadWritePaths) })
        {
            foreach (string path in paths)
            {
                if (SandboxPath.Problem(path) is { } problem)
                {
                    failures.Add($"{prefix}:{name} entry '{path}' {problem}");
                }
            }
        }

        Limits.Validate(prefix + ":Limits", failures);

        if (BubblewrapPath is { } bwrap && !SandboxPath.IsAbsolute(bwrap))
        {
            failures.Add($"{prefix}:BubblewrapPath '{bwrap}' is not an absolute path; give the full path of bwrap or leave it empty to search PATH.");
        }

        if (workingDirectory is { } wd && (!SandboxPath.IsAbsolute(wd) || !IsGranted(wd)))
        {
            failures.Add($"{prefix}: the working directory '{wd}' is not inside a granted path; add it (or a parent) to ReadOnlyPaths or ReadWritePaths, or leave WorkingDirectory empty.");
        }
    }

    internal bool IsGranted(string path)
    {
        string full = SandboxPath.Normalize(path);
        return ReadOnlyPaths.Concat(ReadWritePaths).Any(g => SandboxPath.Problem(g) is null && SandboxPath.IsSameOrBelow(full, SandboxPath.Normalize(g)));
    }
}
