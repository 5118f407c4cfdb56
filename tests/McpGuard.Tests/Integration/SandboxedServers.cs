using McpGuard.Stdio;
using ModelContextProtocol.Protocol;

namespace McpGuard.Tests.Integration;

/// <summary>Launch settings for the real npm servers inside the bubblewrap sandbox, and the bwrap precondition.</summary>
internal static class SandboxedServers
{
    /// <summary>
    /// The <c>bwrap</c> these tests use. A missing bubblewrap FAILS the calling test (never skips it): the test project's
    /// build installs it (eng/install-bubblewrap.sh, root + apt-get), so a missing one means that step could not run.
    /// </summary>
    public static string RequireBubblewrap()
    {
        BubblewrapStatus status = Bubblewrap.Locate(null);
        if (!status.Works)
        {
            Assert.Fail(
                "The sandbox tests need bubblewrap: " + status.Problem + ". The test project's build runs eng/install-bubblewrap.sh, "
                + "which installs the pinned Debian package when the build runs as root with apt-get (see the build output); "
                + "otherwise install it by hand (Debian 12: apt-get install bubblewrap=0.8.0-2+deb12u1).");
        }

        return status.Path!;
    }

    /// <summary><paramref name="stdio"/> with <see cref="StdioSandboxMode.Required"/>, the npm servers' directory granted read-only (the server's own code) and the given grants.</summary>
    public static StdioLaunchOptions Sandboxed(StdioLaunchOptions stdio, string[]? readOnly = null, string[]? readWrite = null)
    {
        RequireBubblewrap();
        stdio.Sandbox.Mode = StdioSandboxMode.Required;
        stdio.Sandbox.ReadOnlyPaths.Add(NpmMcpServers.Directory);
        stdio.Sandbox.ReadOnlyPaths.AddRange(readOnly ?? []);
        stdio.Sandbox.ReadWritePaths.AddRange(readWrite ?? []);
        return stdio;
    }

    /// <summary>The host process's environment plus <paramref name="extra"/>: a launch's parent environment without touching the test process's own (tests run in parallel).</summary>
    public static Dictionary<string, string> HostEnvironmentWith(IReadOnlyDictionary<string, string> extra)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            if (entry.Key is string k && entry.Value is string v)
            {
                env[k] = v;
            }
        }

        foreach ((string k, string v) in extra)
        {
            env[k] = v;
        }

        return env;
    }

    public static string Text(CallToolResult result) => string.Concat(result.Content.OfType<TextContentBlock>().Select(t => t.Text));
}
