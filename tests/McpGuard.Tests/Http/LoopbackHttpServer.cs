using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace McpGuard.Tests.Http;

/// <summary>
/// A real Kestrel HTTP server on one loopback address (127.0.0.0/8 is all loopback on Linux, so 127.0.0.2 stands in for an
/// "internal" host). Counts accepted TCP connections (not only requests), so a test can prove an address was never contacted.
/// </summary>
internal sealed class LoopbackHttpServer : IAsyncDisposable
{
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private WebApplication? _app;
    private int _connections;

    private LoopbackHttpServer()
    {
    }

    public int Port { get; private set; }

    public IPAddress Address { get; private set; } = IPAddress.Loopback;

    /// <summary>TCP connections accepted so far.</summary>
    public int Connections => Volatile.Read(ref _connections);

    public IReadOnlyList<RecordedRequest> Requests => [.. _requests];

    /// <summary>Whether the server speaks TLS (started with HTTPS options).</summary>
    public bool Https { get; private set; }

    public string BaseUrl => $"{(Https ? "https" : "http")}://{(Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? "[" + Address + "]" : Address.ToString())}:{Port}";

    /// <summary>Starts the server; with <paramref name="https"/> it speaks TLS (Kestrel's <c>UseHttps</c>: certificate, client certificate mode).</summary>
    public static async Task<LoopbackHttpServer> StartAsync(string address, RequestDelegate handler, int port = 0, Action<HttpsConnectionAdapterOptions>? https = null)
    {
        var server = new LoopbackHttpServer { Address = IPAddress.Parse(address), Https = https is not null };
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(server.Address, port, listen =>
        {
            listen.Use(next => connection =>
            {
                Interlocked.Increment(ref server._connections);
                return next(connection);
            });
            if (https is not null)
            {
                listen.UseHttps(https);
            }
        }));
        WebApplication app = builder.Build();
        app.Run(async context =>
        {
            server._requests.Enqueue(new RecordedRequest(
                context.Request.Method,
                context.Request.Path + context.Request.QueryString,
                context.Request.Headers.Authorization.ToString(),
                context.Request.Headers.Cookie.ToString(),
                context.Connection.ClientCertificate?.Thumbprint));
            await handler(context);
        });
        await app.StartAsync();
        server._app = app;
        string bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Port = new Uri(bound).Port;
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _app.StopAsync(stop.Token);
            await _app.DisposeAsync();
        }
    }
}

internal sealed record RecordedRequest(string Method, string PathAndQuery, string Authorization, string Cookie, string? ClientCertificateThumbprint = null);
