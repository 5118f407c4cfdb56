using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace McpGuard.Tests.Infrastructure;

/// <summary>One HTTP request as a loopback server received it.</summary>
public sealed record RecordedRequest(string Method, string PathAndQuery, IReadOnlyList<KeyValuePair<string, string>> Headers, string Body)
{
    /// <summary>Everything the server received, as text: request line, headers and body.</summary>
    public string AllText => Method + " " + PathAndQuery + "\n" + string.Join("\n", Headers.Select(h => h.Key + ": " + h.Value)) + "\n\n" + Body;

    public string? Header(string name) => Headers.FirstOrDefault(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value;
}

/// <summary>
/// A real HTTP server on 127.0.0.1 (System.Net.HttpListener on a free port) that records every request it receives —
/// request line, headers and body — so tests can prove whether a credential arrived.
/// </summary>
public sealed class LoopbackHttpServer : IAsyncDisposable
{
    private readonly HttpListener _listener;
    private readonly Func<RecordedRequest, HttpListenerResponse, Task> _handler;
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private readonly Task _loop;

    private LoopbackHttpServer(HttpListener listener, Uri baseUri, Func<RecordedRequest, HttpListenerResponse, Task> handler)
    {
        _listener = listener;
        BaseUri = baseUri;
        _handler = handler;
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>The server's base URI, <c>http://127.0.0.1:PORT/</c>.</summary>
    public Uri BaseUri { get; }

    public IReadOnlyList<RecordedRequest> Requests => [.. _requests];

    /// <summary>Starts a server; <paramref name="handler"/> writes the response (status, headers, body) for each recorded request.</summary>
    public static LoopbackHttpServer Start(Func<RecordedRequest, HttpListenerResponse, Task> handler)
    {
        for (int attempt = 0; ; attempt++)
        {
            int port;
            using (var probe = new TcpListener(IPAddress.Loopback, 0))
            {
                probe.Start();
                port = ((IPEndPoint)probe.LocalEndpoint).Port;
                probe.Stop();
            }

            var listener = new HttpListener();
            string prefix = $"http://127.0.0.1:{port}/";
            listener.Prefixes.Add(prefix);
            try
            {
                listener.Start();
                return new LoopbackHttpServer(listener, new Uri(prefix), handler);
            }
            catch (HttpListenerException) when (attempt < 10)
            {
                listener.Close();
            }
        }
    }

    /// <summary>Whether any request the server received contains <paramref name="text"/> anywhere (ordinal).</summary>
    public bool Received(string text) => Requests.Any(r => r.AllText.Contains(text, StringComparison.Ordinal));

    public static async Task WriteAsync(HttpListenerResponse response, int status, string? body = null, string contentType = "application/json")
    {
        response.StatusCode = status;
        if (body is not null)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(body);
            response.ContentType = contentType;
            response.ContentLength64 = bytes.Length;
            await response.OutputStream.WriteAsync(bytes);
        }

        response.Close();
    }

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            _ = Task.Run(async () =>
            {
                try
                {
                    string body;
                    using (var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8))
                    {
                        body = await reader.ReadToEndAsync();
                    }

                    var headers = new List<KeyValuePair<string, string>>();
                    foreach (string? key in context.Request.Headers.AllKeys)
                    {
                        if (key is not null)
                        {
                            headers.Add(new(key, context.Request.Headers[key] ?? string.Empty));
                        }
                    }

                    var recorded = new RecordedRequest(context.Request.HttpMethod, context.Request.Url!.PathAndQuery, headers, body);
                    _requests.Enqueue(recorded);
                    await _handler(recorded, context.Response);
                }
                catch (Exception)
                {
                    // A client that went away mid-request; the recording is what tests check.
                    try
                    {
                        context.Response.Abort();
                    }
                    catch (Exception)
                    {
                    }
                }
            });
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            _listener.Stop();
            _listener.Close();
        }
        catch (HttpListenerException)
        {
            // The managed HttpListener's Close looks the endpoint up again and can throw "Address already in use" when
            // another test's listener took the same port meanwhile (seen once in CI); cleanup only, not under test.
        }

        try
        {
            await _loop.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception)
        {
        }
    }
}

/// <summary>
/// The SDK's real MCP server (<see cref="InProcessServer"/>) behind a minimal Streamable HTTP front on a real loopback
/// socket (MCP "Streamable HTTP" transport, JSON responses): each POSTed JSON-RPC request is forwarded to the server and
/// its response returned as <c>application/json</c>; notifications get 202; GET/DELETE get 405 (allowed by the spec).
/// Every request is recorded. <see cref="Intercept"/> lets a test answer a request itself (401/403 challenges, redirects).
/// </summary>
public sealed class McpHttpServer : IAsyncDisposable
{
    private readonly InProcessServer _server;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private ITransport? _transport;

    private McpHttpServer(InProcessServer server)
    {
        _server = server;
        Http = LoopbackHttpServer.Start(HandleAsync);
    }

    public LoopbackHttpServer Http { get; }

    /// <summary>The MCP endpoint, <c>http://127.0.0.1:PORT/mcp</c>.</summary>
    public Uri Endpoint => new(Http.BaseUri, "mcp");

    /// <summary>Return <see langword="true"/> after writing a response to answer a request without the MCP server.</summary>
    public Func<RecordedRequest, HttpListenerResponse, Task<bool>>? Intercept { get; set; }

    /// <summary>How many <c>tools/call</c> requests reached the MCP server.</summary>
    public int ToolCalls => Http.Requests.Count(r => r.Body.Contains("\"tools/call\"", StringComparison.Ordinal));

    public static McpHttpServer Start(InProcessServer server) => new(server);

    private async Task HandleAsync(RecordedRequest request, HttpListenerResponse response)
    {
        if (Intercept is { } intercept && await intercept(request, response))
        {
            return;
        }

        if (request.Method != "POST")
        {
            await LoopbackHttpServer.WriteAsync(response, 405);
            return;
        }

        JsonRpcMessage? message = JsonSerializer.Deserialize<JsonRpcMessage>(request.Body, McpJsonUtilities.DefaultOptions);
        await _gate.WaitAsync();
        try
        {
            _transport ??= await _server.CreateClientTransport().ConnectAsync();
            await _transport.SendMessageAsync(message!);
            if (message is not JsonRpcRequest rpc)
            {
                await LoopbackHttpServer.WriteAsync(response, 202);
                return;
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while (await _transport.MessageReader.WaitToReadAsync(timeout.Token))
            {
                if (_transport.MessageReader.TryRead(out JsonRpcMessage? answer) && answer is JsonRpcMessageWithId withId && withId.Id.Equals(rpc.Id))
                {
                    await LoopbackHttpServer.WriteAsync(response, 200, JsonSerializer.Serialize(answer, McpJsonUtilities.DefaultOptions));
                    return;
                }
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Http.DisposeAsync();
        if (_transport is not null)
        {
            await _transport.DisposeAsync();
        }

        await _server.DisposeAsync();
    }
}
