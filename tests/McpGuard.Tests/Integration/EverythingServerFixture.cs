using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace McpGuard.Tests.Integration;

/// <summary>
/// One real <c>server-everything</c> process per test class, behind a guard that allows only <c>echo</c> and
/// <c>gzip-file-as-resource</c> (whose <c>data</c> URL may only point at <c>https://example.invalid</c>); every other
/// tool, including <c>get-env</c>, is hidden by the default. Counts the <c>notifications/tools/list_changed</c> the
/// client receives through the guard.
/// </summary>
public sealed class EverythingServerFixture : IAsyncLifetime
{
    public const string ServerName = "everything";
    public const string UrlTool = "gzip-file-as-resource";
    public static readonly string[] AllowedTools = ["echo", UrlTool];

    private int _listChangedNotifications;

    internal GuardedNpmServer Server { get; private set; } = null!;

    public int ListChangedNotifications => Volatile.Read(ref _listChangedNotifications);

    public async Task InitializeAsync()
    {
        var clientOptions = new McpClientOptions();
        clientOptions.Handlers.NotificationHandlers =
        [
            new(NotificationMethods.ToolListChangedNotification, (_, _) =>
            {
                Interlocked.Increment(ref _listChangedNotifications);
                return ValueTask.CompletedTask;
            }),
        ];

        Server = await GuardedNpmServer.StartAsync(
            ServerName,
            NpmMcpServers.Everything(),
            server =>
            {
                server.ExpectedName = "mcp-servers/everything";
                server.Tools["echo"] = new GuardToolOptions { Access = ToolAccess.Allow };
                var gzip = new GuardToolOptions { Access = ToolAccess.Allow };
                var url = new ArgumentRule { Path = "$.data" };
                url.AllowedHosts.Add("example.invalid");
                gzip.Arguments.Add(url);
                server.Tools[UrlTool] = gzip;
            },
            clientOptions: clientOptions);
    }

    public async Task DisposeAsync()
    {
        if (Server is not null)
        {
            await Server.DisposeAsync();
        }
    }
}
