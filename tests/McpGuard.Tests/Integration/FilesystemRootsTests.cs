using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

#pragma warning disable MCP9005 // roots are deprecated in 2026-07-28, but server-filesystem uses them: that is what is guarded here

namespace McpGuard.Tests.Integration;

/// <summary>
/// Roots against the real npm <c>@modelcontextprotocol/server-filesystem</c>, which replaces its allowed directories
/// with whatever roots the client returns (its command-line directory is <c>sandbox/</c>). The host's roots handler
/// offers <c>/</c>, the parent directory and <c>outside/</c> next to the allowed <c>sandbox/project</c>; the guard must
/// keep the server's access to the allowed root. The tools have no path constraints here, so the server's own access
/// check is what is tested; the control test shows that a wide root really widens the server's access.
/// </summary>
[Trait("Category", "Integration")]
public sealed class FilesystemRootsTests : IDisposable
{
    private readonly FilesystemLayout _layout = new();
    private readonly string _project;
    private readonly string _projectFile;
    private volatile string[] _offered;

    public FilesystemRootsTests()
    {
        _project = Directory.CreateDirectory(Path.Combine(_layout.Sandbox, "project")).FullName;
        _projectFile = Path.Combine(_project, "readme.txt");
        File.WriteAllText(_projectFile, "project readme");
        _offered = ["/", Path.GetDirectoryName(_layout.Sandbox)!, _layout.Outside, _project];
    }

    public void Dispose() => _layout.Dispose();

    private Task<GuardedNpmServer> StartAsync(string allowedRoot) => GuardedNpmServer.StartAsync(
        "filesystem",
        NpmMcpServers.Filesystem(_layout.Sandbox),
        server =>
        {
            server.ExpectedName = "secure-filesystem-server";
            server.Tools["read_text_file"] = new GuardToolOptions();
            server.Tools["list_allowed_directories"] = new GuardToolOptions();
            server.Roots.AllowedRoots.Add(allowedRoot);
        },
        clientOptions: new McpClientOptions
        {
            Handlers = new McpClientHandlers
            {
                RootsHandler = (_, _) => ValueTask.FromResult(new ListRootsResult { Roots = [.. _offered.Select(p => new Root { Uri = new Uri(p).AbsoluteUri })] }),
            },
        });

    private static string Text(CallToolResult result) => string.Concat(result.Content.OfType<TextContentBlock>().Select(b => b.Text));

    /// <summary>Polls the server's own view until it reports <paramref name="expected"/> (it applies roots asynchronously after it asked for them).</summary>
    private static async Task<string> WaitForAllowedDirectoriesAsync(GuardedNpmServer server, string expected)
    {
        string last = string.Empty;
        for (int i = 0; i < 200; i++)
        {
            last = Text(await server.CallToolAsync("list_allowed_directories"));
            if (last.Split('\n', StringSplitOptions.TrimEntries).Contains(expected))
            {
                return last;
            }

            await Task.Delay(100);
        }

        return last;
    }

    private Dictionary<string, object?> Read(string path) => new() { ["path"] = path };

    [Fact]
    public async Task RootsList_HostOffersWideRoots_ServerAccessStaysInsideAllowedRoot()
    {
        await using GuardedNpmServer server = await StartAsync(_project);

        string allowed = await WaitForAllowedDirectoriesAsync(server, _project);
        CallToolResult secret = await server.CallToolAsync("read_text_file", Read(_layout.SecretPath));
        CallToolResult inside = await server.CallToolAsync("read_text_file", Read(_projectFile));
        CallToolResult sibling = await server.CallToolAsync("read_text_file", Read(_layout.HelloPath));

        Assert.Equal([_project], allowed.Split('\n', StringSplitOptions.TrimEntries).Where(l => l.StartsWith('/')).ToArray());
        Assert.True(secret.IsError, Text(secret));
        Assert.DoesNotContain(_layout.SecretContent, Text(secret), StringComparison.Ordinal);
        Assert.Equal("project readme", Text(inside));
        Assert.True(sibling.IsError, "the server's access narrowed to the allowed root, below its command-line directory");
        GuardEvidence outcome = Assert.Single(server.Evidence.OfKind(GuardEvidenceKind.ServerRequestOutcome), e => e.Method == "roots/list");
        Assert.Equal(3, outcome.Details!["droppedCount"]!.GetValue<int>());
    }

    [Fact]
    public async Task RootsListChanged_HostNowOffersOnlyRoot_ServerKeepsItsNarrowAccess()
    {
        await using GuardedNpmServer server = await StartAsync(_project);
        await WaitForAllowedDirectoriesAsync(server, _project);
        int mark = server.Evidence.Events.Count;

        _offered = ["/"];
        await server.Client.SendNotificationAsync(NotificationMethods.RootsListChangedNotification, new RootsListChangedNotificationParams());
        await server.Evidence.WaitForAsync(e => e.Kind == GuardEvidenceKind.ServerRequestOutcome && server.Evidence.Events.Skip(mark).Contains(e), timeoutMs: 20_000);
        CallToolResult secret = await server.CallToolAsync("read_text_file", Read(_layout.SecretPath));

        Assert.True(secret.IsError, Text(secret));
        Assert.DoesNotContain(_layout.SecretContent, Text(secret), StringComparison.Ordinal);
        Assert.Contains(_project, Text(await server.CallToolAsync("list_allowed_directories")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RootsList_ControlWithRootAllowed_WideRootReallyWidensServerAccess()
    {
        // Control: if the guard let "/" through, the server would read outside its command-line directory.
        await using GuardedNpmServer server = await StartAsync("/");

        await WaitForAllowedDirectoriesAsync(server, "/");
        CallToolResult secret = await server.CallToolAsync("read_text_file", Read(_layout.SecretPath));

        Assert.Equal(_layout.SecretContent, Text(secret));
    }
}
