using McpGuard.Stdio;

namespace McpGuard.Tests.Stdio;

/// <summary>
/// The <c>bwrap</c> argument builder as a pure function. The host file system is a fixed table here (a Debian-like
/// layout) so each test states exactly what the host has; the real host is exercised by the sandbox integration tests.
/// </summary>
public sealed class BubblewrapArgumentsTests
{
    private static readonly Dictionary<string, string?> Env = new(StringComparer.Ordinal) { ["PATH"] = "/usr/local/bin:/usr/bin:/bin", ["LANG"] = "C.UTF-8" };

    private sealed class TableFileSystem(Dictionary<string, HostPath> paths, Dictionary<string, string>? real = null) : IHostFileSystem
    {
        public HostPath Probe(string path) => paths.TryGetValue(path, out HostPath p) ? p : new HostPath(HostPathKind.Missing);

        public string? RealPath(string path) => real is not null && real.TryGetValue(path, out string? r) ? r : paths.ContainsKey(path) ? path : null;
    }

    private static TableFileSystem Debian(Dictionary<string, HostPath>? extra = null, Dictionary<string, string>? real = null)
    {
        var paths = new Dictionary<string, HostPath>(StringComparer.Ordinal)
        {
            ["/usr"] = new(HostPathKind.Directory),
            ["/bin"] = new(HostPathKind.SymbolicLink, "usr/bin"),
            ["/sbin"] = new(HostPathKind.SymbolicLink, "usr/sbin"),
            ["/lib"] = new(HostPathKind.SymbolicLink, "usr/lib"),
            ["/lib64"] = new(HostPathKind.SymbolicLink, "usr/lib64"),
            ["/usr/bin/node"] = new(HostPathKind.File),
            ["/srv/data"] = new(HostPathKind.Directory),
        };
        foreach ((string k, HostPath v) in extra ?? [])
        {
            paths[k] = v;
        }

        return new TableFileSystem(paths, real);
    }

    private static StdioLaunchOptions Node(Action<StdioSandboxOptions>? sandbox = null)
    {
        var stdio = new StdioLaunchOptions { Command = "node", Arguments = { "/srv/app/index.js", "--flag value" } };
        stdio.Sandbox.Mode = StdioSandboxMode.Required;
        sandbox?.Invoke(stdio.Sandbox);
        return stdio;
    }

    /// <summary>Index of the option <paramref name="option"/> followed by <paramref name="values"/>, or -1.</summary>
    private static int IndexOf(List<string> args, string option, params string[] values)
    {
        for (int i = 0; i + values.Length < args.Count; i++)
        {
            if (args[i] == option && values.Select((v, j) => args[i + 1 + j] == v).All(b => b))
            {
                return i;
            }
        }

        return -1;
    }

    [Fact]
    public void BuildArguments_Default_UnsharesEveryNamespaceDropsCapabilitiesNewSessionDiesWithParent()
    {
        List<string> args = Bubblewrap.BuildArguments(Node(), Env, Debian());

        Assert.Equal(["--unshare-all", "--unshare-user", "--disable-userns"], args.Take(3));
        Assert.Contains("--die-with-parent", args);
        Assert.Contains("--new-session", args);
        Assert.True(IndexOf(args, "--cap-drop", "ALL") >= 0);
        Assert.DoesNotContain("--share-net", args);
    }

    [Fact]
    public void BuildArguments_Default_NoNetworkNoResolvConf()
    {
        List<string> args = Bubblewrap.BuildArguments(Node(), Env, Debian());

        Assert.DoesNotContain("--share-net", args);
        Assert.DoesNotContain("/etc/resolv.conf", args);
    }

    [Fact]
    public void BuildArguments_AllowNetwork_SharesNetworkAndResolver()
    {
        List<string> args = Bubblewrap.BuildArguments(Node(s => s.AllowNetwork = true), Env, Debian());

        Assert.Contains("--share-net", args);
        Assert.True(IndexOf(args, "--ro-bind-try", "/etc/resolv.conf", "/etc/resolv.conf") >= 0);
    }

    [Fact]
    public void BuildArguments_Default_FreshProcMinimalDevPrivateTmp()
    {
        List<string> args = Bubblewrap.BuildArguments(Node(), Env, Debian());

        Assert.True(IndexOf(args, "--proc", "/proc") >= 0);
        Assert.True(IndexOf(args, "--dev", "/dev") >= 0);
        Assert.True(IndexOf(args, "--tmpfs", "/tmp") >= 0);
        Assert.DoesNotContain("/sys", args);
        Assert.DoesNotContain("/home", args);
        Assert.DoesNotContain("/root", args);
    }

    [Fact]
    public void BuildArguments_SystemDirectories_ReadOnlyAndHostSymlinksMirrored()
    {
        List<string> args = Bubblewrap.BuildArguments(Node(), Env, Debian());

        Assert.True(IndexOf(args, "--ro-bind", "/usr", "/usr") >= 0);
        Assert.True(IndexOf(args, "--symlink", "usr/lib", "/lib") >= 0);
        Assert.True(IndexOf(args, "--symlink", "usr/bin", "/bin") >= 0);
        Assert.DoesNotContain("/lib32", args);
        Assert.DoesNotContain("--bind", args);
    }

    [Fact]
    public void BuildArguments_EtcSubset_NoShadowNoWholeEtc()
    {
        List<string> args = Bubblewrap.BuildArguments(Node(), Env, Debian());

        Assert.True(IndexOf(args, "--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache") >= 0);
        Assert.DoesNotContain("/etc", args);
        Assert.DoesNotContain(args, a => a.Contains("shadow", StringComparison.Ordinal) || a.Contains("ssh", StringComparison.Ordinal));
    }

    [Fact]
    public void BuildArguments_Grants_ReadOnlyAndReadWriteBinds()
    {
        List<string> args = Bubblewrap.BuildArguments(Node(s =>
        {
            s.ReadOnlyPaths.Add("/srv/app/");
            s.ReadWritePaths.Add("/srv/data");
        }), Env, Debian());

        Assert.True(IndexOf(args, "--ro-bind", "/srv/app", "/srv/app") >= 0);
        Assert.True(IndexOf(args, "--bind", "/srv/data", "/srv/data") >= 0);
    }

    [Fact]
    public void BuildArguments_GrantUnderTmp_MountedAfterPrivateTmp()
    {
        List<string> args = Bubblewrap.BuildArguments(Node(s => s.ReadOnlyPaths.Add("/tmp/work")), Env, Debian());

        Assert.True(IndexOf(args, "--ro-bind", "/tmp/work", "/tmp/work") > IndexOf(args, "--tmpfs", "/tmp"));
    }

    [Fact]
    public void BuildArguments_NestedGrants_DeeperMountedLaterWhateverTheOrderGiven()
    {
        List<string> args = Bubblewrap.BuildArguments(Node(s =>
        {
            s.ReadWritePaths.Add("/srv/app/cache");
            s.ReadOnlyPaths.Add("/srv/app");
        }), Env, Debian());

        Assert.True(IndexOf(args, "--bind", "/srv/app/cache", "/srv/app/cache") > IndexOf(args, "--ro-bind", "/srv/app", "/srv/app"));
    }

    [Fact]
    public void BuildArguments_GrantWithDotDot_NormalizedBeforeBinding()
    {
        List<string> args = Bubblewrap.BuildArguments(Node(s => s.ReadOnlyPaths.Add("/srv/app/../data/./x")), Env, Debian());

        Assert.True(IndexOf(args, "--ro-bind", "/srv/data/x", "/srv/data/x") >= 0);
        Assert.DoesNotContain(args, a => a.Contains("..", StringComparison.Ordinal) && a.StartsWith('/'));
    }

    [Fact]
    public void BuildArguments_CommandAfterTerminatorWithArgumentsVerbatim()
    {
        List<string> args = Bubblewrap.BuildArguments(Node(), Env, Debian());

        Assert.Equal(["--", "node", "/srv/app/index.js", "--flag value"], args.TakeLast(4));
    }

    [Fact]
    public void BuildArguments_NoWorkingDirectory_ChdirRoot()
    {
        List<string> args = Bubblewrap.BuildArguments(Node(), Env, Debian());

        Assert.True(IndexOf(args, "--chdir", "/") >= 0);
    }

    [Fact]
    public void BuildArguments_WorkingDirectory_Chdir()
    {
        StdioLaunchOptions stdio = Node(s => s.ReadOnlyPaths.Add("/srv/app"));
        stdio.WorkingDirectory = "/srv/app";

        Assert.True(IndexOf(Bubblewrap.BuildArguments(stdio, Env, Debian()), "--chdir", "/srv/app") >= 0);
    }

    [Fact]
    public void BuildArguments_EnvironmentValues_NeverOnTheCommandLine()
    {
        var env = new Dictionary<string, string?>(Env) { ["GITHUB_TOKEN"] = "ghp_value_that_must_not_appear" };

        List<string> args = Bubblewrap.BuildArguments(Node(), env, Debian());

        Assert.DoesNotContain(args, a => a.Contains("ghp_value", StringComparison.Ordinal) || a == "GITHUB_TOKEN");
        Assert.DoesNotContain("--setenv", args);
    }

    [Fact]
    public void BuildArguments_CommandOnSystemPath_NotBoundAgain()
    {
        List<string> args = Bubblewrap.BuildArguments(Node(), Env, Debian());

        Assert.DoesNotContain("/usr/bin/node", args);
    }

    [Fact]
    public void BuildArguments_CommandOutsideSystem_BoundReadOnly()
    {
        TableFileSystem fs = Debian(new() { ["/opt/node22/bin/node"] = new(HostPathKind.File) });
        var env = new Dictionary<string, string?>(StringComparer.Ordinal) { ["PATH"] = "/opt/node22/bin:/usr/bin" };

        List<string> args = Bubblewrap.BuildArguments(Node(), env, fs);

        Assert.True(IndexOf(args, "--ro-bind", "/opt/node22/bin/node", "/opt/node22/bin/node") >= 0);
    }

    [Fact]
    public void BuildArguments_SystemCommandLinkingOutside_TargetBoundReadOnly()
    {
        TableFileSystem fs = Debian(
            new() { ["/usr/local/bin/node"] = new(HostPathKind.SymbolicLink, "/opt/node22/bin/node"), ["/opt/node22/bin/node"] = new(HostPathKind.File) },
            new() { ["/usr/local/bin/node"] = "/opt/node22/bin/node" });

        List<string> args = Bubblewrap.BuildArguments(Node(), Env, fs);

        Assert.True(IndexOf(args, "--ro-bind", "/opt/node22/bin/node", "/opt/node22/bin/node") >= 0);
        Assert.DoesNotContain("/usr/local/bin/node", args);
    }

    [Fact]
    public void BuildArguments_SameInput_SameArguments()
    {
        Assert.Equal(Bubblewrap.BuildArguments(Node(s => s.ReadOnlyPaths.Add("/srv/app")), Env, Debian()), Bubblewrap.BuildArguments(Node(s => s.ReadOnlyPaths.Add("/srv/app")), Env, Debian()));
    }

    [Fact]
    public void BuildArguments_ProcessLimits_PrlimitRunsTheServerWithSoftEqualHard()
    {
        var fs = Debian(new() { ["/usr/bin/prlimit"] = new(HostPathKind.File) });
        List<string> args = Bubblewrap.BuildArguments(Node(s =>
        {
            s.Limits.MaxMemoryBytes = 512L * 1024 * 1024;
            s.Limits.MaxFileSizeBytes = 10_000_000;
            s.Limits.MaxOpenFiles = 256;
            s.Limits.MaxCpuSeconds = 3600;
        }), Env, fs);

        int separator = args.IndexOf("--");
        Assert.Equal(
            ["/usr/bin/prlimit", "--data=536870912:536870912", "--fsize=10000000:10000000", "--nofile=256:256", "--cpu=3600:3600", "--", "node", "/srv/app/index.js", "--flag value"],
            args.Skip(separator + 1));
        Assert.DoesNotContain("--size", args);
    }

    [Fact]
    public void BuildArguments_OnlySomeLimits_OnlyThoseOptions()
    {
        var fs = Debian(new() { ["/usr/bin/prlimit"] = new(HostPathKind.File) });
        List<string> args = Bubblewrap.BuildArguments(Node(s => s.Limits.MaxOpenFiles = 64), Env, fs);

        Assert.Equal(["/usr/bin/prlimit", "--nofile=64:64", "--", "node"], args.Skip(args.IndexOf("--") + 1).Take(4));
    }

    [Fact]
    public void BuildArguments_TmpSize_SizesThePrivateTmpOnly()
    {
        List<string> args = Bubblewrap.BuildArguments(Node(s => s.Limits.TmpSizeBytes = 8 * 1024 * 1024), Env, Debian());

        Assert.True(IndexOf(args, "--size", "8388608", "--tmpfs", "/tmp") >= 0);
        Assert.Equal(["node", "/srv/app/index.js", "--flag value"], args.Skip(args.IndexOf("--") + 1)); // no prlimit for /tmp alone
    }

    [Fact]
    public void BuildArguments_NoLimits_ServerRunsDirectlyAfterSeparator()
    {
        List<string> args = Bubblewrap.BuildArguments(Node(), Env, Debian(new() { ["/usr/bin/prlimit"] = new(HostPathKind.File) }));

        Assert.Equal(["node", "/srv/app/index.js", "--flag value"], args.Skip(args.IndexOf("--") + 1));
        Assert.DoesNotContain("--size", args);
    }
}
