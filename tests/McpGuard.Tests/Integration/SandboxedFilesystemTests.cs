using System.Security.Cryptography;
using System.Text.Json;
using ModelContextProtocol.Protocol;

namespace McpGuard.Tests.Integration;

/// <summary>
/// The real <c>server-filesystem</c> with <c>/</c> as its allowed directory, so the server itself would serve any file:
/// once inside the bubblewrap sandbox (only <c>granted/</c> read-only and <c>writable/</c> read-write) and once without
/// a sandbox as the control that shows the server's own policy lets every read through.
/// </summary>
public sealed class SandboxedFilesystemFixture : IAsyncLifetime
{
    private readonly TempDirectory _root = new("mcpguard-sandbox-");

    public SandboxedFilesystemFixture()
    {
        Granted = Directory.CreateDirectory(_root.Combine("granted")).FullName;
        Writable = Directory.CreateDirectory(_root.Combine("writable")).FullName;
        Outside = Directory.CreateDirectory(_root.Combine("outside")).FullName;
        GrantedFile = Path.Combine(Granted, "notes.txt");
        File.WriteAllText(GrantedFile, GrantedContent);
        SecretFile = Path.Combine(Outside, "credentials");
        File.WriteAllText(SecretFile, SecretContent);
    }

    public string Granted { get; }

    public string Writable { get; }

    public string Outside { get; }

    public string GrantedFile { get; }

    public string GrantedContent { get; } = "granted " + RandomNumberGenerator.GetHexString(16, lowercase: true);

    public string SecretFile { get; }

    public string SecretContent { get; } = "aws_secret_access_key = " + RandomNumberGenerator.GetHexString(40, lowercase: true);

    internal GuardedNpmServer Sandboxed { get; private set; } = null!;

    internal GuardedNpmServer Unsandboxed { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        try
        {
            Sandboxed = await GuardedNpmServer.StartAsync(
                "filesystem-sandboxed",
                SandboxedServers.Sandboxed(NpmMcpServers.Filesystem("/"), readOnly: [Granted], readWrite: [Writable]),
                Allow);
            Unsandboxed = await GuardedNpmServer.StartAsync("filesystem-unsandboxed", NpmMcpServers.Filesystem("/"), Allow);
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
            await (Sandboxed?.DisposeAsync() ?? ValueTask.CompletedTask);
            await (Unsandboxed?.DisposeAsync() ?? ValueTask.CompletedTask);
        }
        finally
        {
            _root.Dispose();
        }
    }

    private static void Allow(GuardServerOptions server)
    {
        server.ExpectedName = "secure-filesystem-server";
        server.Tools["read_text_file"] = new GuardToolOptions { Access = ToolAccess.Allow };
        server.Tools["write_file"] = new GuardToolOptions { Access = ToolAccess.Allow };
    }
}

[Trait("Category", "Integration")]
public sealed class SandboxedFilesystemTests(SandboxedFilesystemFixture fixture) : IClassFixture<SandboxedFilesystemFixture>
{
    private static Dictionary<string, object?> PathArg(string path) => new() { ["path"] = path };

    [Fact]
    public async Task ReadTextFile_GrantedDirectory_ReturnsContent()
    {
        CallToolResult result = await fixture.Sandboxed.CallToolAsync("read_text_file", PathArg(fixture.GrantedFile));

        Assert.NotEqual(true, result.IsError);
        Assert.Contains(fixture.GrantedContent, SandboxedServers.Text(result), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadTextFile_OutsideGrantWhileServerAllowsRoot_FailsInsideSandbox()
    {
        CallToolResult result = await fixture.Sandboxed.CallToolAsync("read_text_file", PathArg(fixture.SecretFile));

        Assert.True(result.IsError);
        Assert.DoesNotContain(fixture.SecretContent, SandboxedServers.Text(result), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadTextFile_OutsideGrantWithoutSandbox_ServerReadsIt()
    {
        // Control: the same server and arguments without the sandbox serve the file, so only the sandbox stops the read above.
        CallToolResult result = await fixture.Unsandboxed.CallToolAsync("read_text_file", PathArg(fixture.SecretFile));

        Assert.NotEqual(true, result.IsError);
        Assert.Contains(fixture.SecretContent, SandboxedServers.Text(result), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadTextFile_HostFileOutsideEveryGrant_FailsInsideSandbox()
    {
        // The test assembly: on the host, readable by this user, next to (not inside) the granted npm directory.
        string hostFile = typeof(SandboxedFilesystemTests).Assembly.Location;
        Assert.True(File.Exists(hostFile));

        CallToolResult result = await fixture.Sandboxed.CallToolAsync("read_text_file", PathArg(hostFile));

        Assert.True(result.IsError);
    }

    [Fact]
    public async Task WriteFile_ReadOnlyGrant_FailsAndHostFileUnchanged()
    {
        CallToolResult result = await fixture.Sandboxed.CallToolAsync("write_file", new Dictionary<string, object?> { ["path"] = fixture.GrantedFile, ["content"] = "overwritten" });

        Assert.True(result.IsError);
        Assert.Equal(fixture.GrantedContent, await File.ReadAllTextAsync(fixture.GrantedFile));
    }

    [Fact]
    public async Task WriteFile_ReadOnlyGrantNewFile_FailsAndNothingCreated()
    {
        string target = Path.Combine(fixture.Granted, "new-" + Guid.NewGuid().ToString("N") + ".txt");

        CallToolResult result = await fixture.Sandboxed.CallToolAsync("write_file", new Dictionary<string, object?> { ["path"] = target, ["content"] = "x" });

        Assert.True(result.IsError);
        Assert.False(File.Exists(target));
    }

    [Fact]
    public async Task WriteFile_ReadWriteGrant_WritesHostFile()
    {
        string target = Path.Combine(fixture.Writable, "out-" + Guid.NewGuid().ToString("N") + ".txt");

        CallToolResult result = await fixture.Sandboxed.CallToolAsync("write_file", new Dictionary<string, object?> { ["path"] = target, ["content"] = "written in the sandbox" });

        Assert.NotEqual(true, result.IsError);
        Assert.Equal("written in the sandbox", await File.ReadAllTextAsync(target));
    }

    [Fact]
    public void ServerLaunched_Sandboxed_RecordsExactBubblewrapCommandLine()
    {
        GuardEvidence launched = Assert.Single(fixture.Sandboxed.Evidence.OfKind(GuardEvidenceKind.ServerLaunched));
        string bwrap = SandboxedServers.RequireBubblewrap();

        Assert.StartsWith(bwrap + " --unshare-all --unshare-user --disable-userns ", launched.Endpoint, StringComparison.Ordinal);
        Assert.EndsWith($" -- node {NpmMcpServers.FilesystemEntryPoint} /", launched.Endpoint, StringComparison.Ordinal);
        Assert.Contains($" --ro-bind {fixture.Granted} {fixture.Granted} ", launched.Endpoint, StringComparison.Ordinal);
        Assert.Contains($" --bind {fixture.Writable} {fixture.Writable} ", launched.Endpoint, StringComparison.Ordinal);
        Assert.Equal(launched.Endpoint, launched.Details!["commandLine"]!.GetValue<string>());
        Assert.True(launched.Details!["sandboxed"]!.GetValue<bool>());
        Assert.Equal(launched.Endpoint, fixture.Sandboxed.Evidence.OfKind(GuardEvidenceKind.ServerConnected).Single().Endpoint);
    }

    [Fact]
    public void ServerLaunched_Unsandboxed_SaysSoAndRecordsServerCommandLine()
    {
        GuardEvidence launched = Assert.Single(fixture.Unsandboxed.Evidence.OfKind(GuardEvidenceKind.ServerLaunched));

        Assert.Equal($"node {NpmMcpServers.FilesystemEntryPoint} /", launched.Endpoint);
        Assert.False(launched.Details!["sandboxed"]!.GetValue<bool>());
        Assert.Contains(launched.NotVerified, n => n.Contains("without a sandbox", StringComparison.Ordinal));
    }

    [Fact]
    public void GetInventory_SandboxedServer_ShowsBubblewrapCommandLineAndGrants()
    {
        GuardInventory inventory = fixture.Sandboxed.Engine.GetInventory();
        InventoryServer server = Assert.Single(inventory.Servers);
        GuardEvidence launched = fixture.Sandboxed.Evidence.OfKind(GuardEvidenceKind.ServerLaunched).Single();

        Assert.Equal(launched.Endpoint, server.Endpoint);
        Assert.StartsWith("Required: bubblewrap (bubblewrap ", server.Sandbox, StringComparison.Ordinal);
        Assert.Contains("network: none", server.Sandbox, StringComparison.Ordinal);
        Assert.Contains($"read-write: {fixture.Writable}", server.Sandbox, StringComparison.Ordinal);
        using JsonDocument json = JsonDocument.Parse(inventory.ToJson());
        Assert.Equal(launched.Endpoint, json.RootElement.GetProperty("servers")[0].GetProperty("endpoint").GetString());
        string markdown = inventory.ToMarkdown();
        Assert.Contains("| sandbox | Required: bubblewrap", markdown, StringComparison.Ordinal);
        Assert.Contains("```\n" + launched.Endpoint + "\n```", markdown, StringComparison.Ordinal);
    }
}
