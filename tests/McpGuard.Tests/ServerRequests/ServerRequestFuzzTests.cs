using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using McpGuard.Tests.Infrastructure;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace McpGuard.Tests.ServerRequests;

/// <summary>
/// Randomized server-to-client requests (JSON-RPC path) from a scripted raw server (<see cref="ScriptedServer"/>; no real
/// server sends these on demand) to a host with real roots, sampling and elicitation handlers behind the guard and the
/// SDK's real client. Invariants: every request the server sends is answered exactly once (a reused id's duplicate is
/// dropped, the first still answered once); the sampling handler never runs while sampling is off; no root outside the
/// allowed one reaches the server; the session still works afterwards.
/// </summary>
public sealed class ServerRequestFuzzTests
{
    private const string Registration = "fuzz-requests";

    /// <summary>One request: its method, its params (a plausible shape or anything) and whether it reuses the previous id.</summary>
    public sealed record Request(string Method, JsonTree Params, bool Plausible, bool ReuseId);

    public sealed record Script(Request[] Requests)
    {
        public override string ToString() => string.Join(" ; ", Requests.Select(r => r.ToString()));
    }

    private static readonly string[] s_methods = ["roots/list", "sampling/createMessage", "elicitation/create", "ping", "x/unknown", "tools/call", ""];

    private static Arbitrary<Script> Scripts() =>
        Gen.Choose(1, 8).SelectMany(n => Gen.ArrayOf(
                Gen.Zip(Gen.Zip(Gen.Elements(s_methods), JsonGenerators.JsonTree().Generator), Gen.Zip(Gen.Elements(true, true, false), Gen.Frequency((6, Gen.Constant(false)), (1, Gen.Constant(true)))))
                    .Select(t => new Request(t.Item1.Item1, t.Item1.Item2, t.Item2.Item1, t.Item2.Item2)),
                n))
            .Select(r => new Script(r))
            .ToArbitrary();

    [Property(MaxTest = 80)]
    public Property ServerRequests_ArbitraryBurst_EachAnsweredOnceAndPolicyHeld() =>
        Prop.ForAll(Scripts(), script => Task.Run(() => RunAsync(script)).GetAwaiter().GetResult());

    private static JsonNode? Params(Request r) => !r.Plausible ? r.Params.Node?.DeepClone() : r.Method switch
    {
        "sampling/createMessage" => new JsonObject
        {
            ["maxTokens"] = 10,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = new JsonObject { ["type"] = "text", ["text"] = r.Params.ToString() } }),
        },
        "elicitation/create" => new JsonObject
        {
            ["message"] = r.Params.ToString(),
            ["requestedSchema"] = new JsonObject { ["type"] = "object", ["properties"] = new JsonObject { ["theme"] = new JsonObject { ["type"] = "string" } } },
        },
        _ => new JsonObject(),
    };

    private static async Task RunAsync(Script script)
    {
        int samplings = 0;
        var answers = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        await using var server = new ScriptedServer { Tools = [ScriptedServer.Tool("echo")] };
        server.On(string.Empty, request =>
        {
            answers.AddOrUpdate(request.IdJson, 1, (_, n) => n + 1); // an answer from the client to one of the server's requests
            return Task.CompletedTask;
        });
        var clientOptions = new McpClientOptions
        {
            Handlers = new McpClientHandlers
            {
                RootsHandler = (_, _) => ValueTask.FromResult(new ListRootsResult { Roots = [new Root { Uri = "file:///" }, new Root { Uri = "file:///srv/allowed/sub" }] }),
                SamplingHandler = (_, _, _) =>
                {
                    Interlocked.Increment(ref samplings);
                    return ValueTask.FromResult(new CreateMessageResult { Model = "m", Role = Role.Assistant, Content = [new TextContentBlock { Text = "x" }] });
                },
                ElicitationHandler = (_, _) => ValueTask.FromResult(new ElicitResult { Action = "accept", Content = new Dictionary<string, JsonElement> { ["theme"] = JsonSerializer.SerializeToElement("dark") } }),
            },
        };
        var options = new McpGuardOptions { DefaultToolAccess = ToolAccess.Allow };
        var registration = new GuardServerOptions();
        registration.Roots.AllowedRoots.Add("/srv/allowed");
        options.Servers[Registration] = registration;
        await using GuardedConnection c = await GuardedConnection.ConnectAsync(server.CreateClientTransport(), options, Registration, null, null, clientOptions);

        // Ids: a fresh number per request, or the previous request's id again (a reuse the guard drops while the first is
        // open; once the first is answered, the id may be used again, so a reused id is answered once or once per send).
        var sends = new Dictionary<string, int>(StringComparer.Ordinal);
        int next = 1000;
        string? previous = null;
        foreach (Request r in script.Requests)
        {
            string id = r.ReuseId && previous is not null ? previous : (next++).ToString(System.Globalization.CultureInfo.InvariantCulture);
            previous = id;
            sends[id] = sends.GetValueOrDefault(id) + 1;
            await server.SendAsync(new JsonObject { ["jsonrpc"] = "2.0", ["id"] = int.Parse(id, System.Globalization.CultureInfo.InvariantCulture), ["method"] = r.Method, ["params"] = Params(r) });
        }

        // The session still works, and every request is answered by then (the client answers in order of arrival or sooner).
        CallToolResult call = await c.Client.CallToolAsync("echo", cancellationToken: c.Token);
        Assert.Equal("ok:echo", Assert.IsType<TextContentBlock>(Assert.Single(call.Content)).Text);
        DateTime deadline = DateTime.UtcNow.AddSeconds(10);
        while (!sends.Keys.All(answers.ContainsKey) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        await Task.Delay(20); // a second answer, if there were one, would be here by now
        string[] missing = [.. sends.Keys.Where(id => !answers.ContainsKey(id))];
        Assert.True(missing.Length == 0, $"Not answered: {string.Join(", ", missing)}");
        Assert.All(sends, s => Assert.True(answers[s.Key] <= s.Value, $"id {s.Key} sent {s.Value} times, answered {answers[s.Key]} times"));
        Assert.DoesNotContain(answers.Keys, id => !sends.ContainsKey(id)); // no answer to a request never sent
        Assert.Equal(0, Volatile.Read(ref samplings)); // sampling is off unless the registration enables it

        foreach (ScriptedRequest answer in server.Received.Where(m => m.Method.Length == 0 && m.Message["result"]?["roots"] is JsonArray))
        {
            foreach (JsonNode? root in (JsonArray)answer.Message["result"]!["roots"]!)
            {
                string uri = root!["uri"]!.GetValue<string>();
                Assert.True(uri.StartsWith("file:///srv/allowed", StringComparison.Ordinal), $"root {uri} reached the server");
            }
        }
    }
}
