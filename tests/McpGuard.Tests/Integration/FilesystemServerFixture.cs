using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace McpGuard.Tests.Integration;

/// <summary>
/// A temp layout for <c>server-filesystem</c>: <c>sandbox/</c> (the only allowed directory, with <c>hello.txt</c>),
/// a sibling <c>outside/secret.txt</c>, and <c>sandbox/link</c>, a symbolic link to <c>outside/</c>. Deleted on dispose.
/// </summary>
internal sealed class FilesystemLayout : IDisposable
{
    private readonly TempDirectory _root = new();

    public FilesystemLayout()
    {
        Sandbox = Directory.CreateDirectory(_root.Combine("sandbox")).FullName;
        Outside = Directory.CreateDirectory(_root.Combine("outside")).FullName;
        HelloPath = Path.Combine(Sandbox, "hello.txt");
        File.WriteAllText(HelloPath, HelloContent);
        SecretPath = Path.Combine(Outside, "secret.txt");
        File.WriteAllText(SecretPath, SecretContent);
        LinkPath = Path.Combine(Sandbox, "link");
        Directory.CreateSymbolicLink(LinkPath, Outside);
    }

    public string Sandbox { get; }

    public string Outside { get; }

    public string HelloPath { get; }

    public string HelloContent { get; } = "hello from the sandbox " + RandomNumberGenerator.GetHexString(16, lowercase: true);

    public string SecretPath { get; }

    public string SecretContent { get; } = "SECRET-" + RandomNumberGenerator.GetHexString(32, lowercase: true);

    public string LinkPath { get; }

    /// <summary><c>sandbox/../outside/secret.txt</c>, unnormalized.</summary>
    public string TraversalPath => Sandbox + Path.DirectorySeparatorChar + ".." + Path.DirectorySeparatorChar + "outside" + Path.DirectorySeparatorChar + "secret.txt";

    /// <summary><c>sandbox/link/secret.txt</c>: inside the sandbox by name, outside after the link.</summary>
    public string SymlinkPath => Path.Combine(LinkPath, "secret.txt");

    /// <summary>
    /// Guard settings used by the filesystem tests: <c>read_text_file</c> and <c>list_directory</c> allowed,
    /// <c>write_file</c> requires approval, each with <c>$.path</c> under the sandbox; every other tool is hidden.
    /// </summary>
    public void Configure(GuardServerOptions server)
    {
        server.ExpectedName = "secure-filesystem-server";
        server.Tools["read_text_file"] = WithSandboxPath(ToolAccess.Allow);
        server.Tools["list_directory"] = WithSandboxPath(ToolAccess.Allow);
        server.Tools["write_file"] = WithSandboxPath(ToolAccess.RequireApproval);
    }

    private GuardToolOptions WithSandboxPath(ToolAccess access)
    {
        var tool = new GuardToolOptions { Access = access };
        var rule = new ArgumentRule { Path = "$.path" };
        rule.AllowedRoots.Add(Sandbox);
        tool.Arguments.Add(rule);
        return tool;
    }

    public void Dispose() => _root.Dispose();
}

/// <summary>An approval handler whose answer each test sets; records every request it receives. Rejects by default.</summary>
internal sealed class ScriptedApprovalHandler : IToolApprovalHandler
{
    private readonly ConcurrentQueue<ToolApprovalRequest> _requests = new();

    public Func<ToolApprovalRequest, ToolApprovalResponse> Answer { get; set; } = request => request.Reject("test");

    public IReadOnlyList<ToolApprovalRequest> Requests => [.. _requests];

    public ValueTask<ToolApprovalResponse> RequestApprovalAsync(ToolApprovalRequest request, CancellationToken cancellationToken)
    {
        _requests.Enqueue(request);
        return ValueTask.FromResult(Answer(request));
    }
}

/// <summary>One real <c>server-filesystem</c> process per test class on <see cref="FilesystemLayout.Sandbox"/>, behind the guard.</summary>
public sealed class FilesystemServerFixture : IAsyncLifetime
{
    internal FilesystemLayout Layout { get; } = new();

    internal ScriptedApprovalHandler Approvals { get; } = new();

    internal GuardedNpmServer Server { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        try
        {
            Server = await GuardedNpmServer.StartAsync(
                "filesystem",
                NpmMcpServers.Filesystem(Layout.Sandbox),
                Layout.Configure,
                approvalHandler: Approvals);
        }
        catch
        {
            Layout.Dispose();
            throw;
        }
    }

    public async Task DisposeAsync()
    {
        try
        {
            if (Server is not null)
            {
                await Server.DisposeAsync();
            }
        }
        finally
        {
            Layout.Dispose();
        }
    }
}
