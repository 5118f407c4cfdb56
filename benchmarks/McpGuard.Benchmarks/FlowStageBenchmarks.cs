using System.Collections.Frozen;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using McpGuard.Flow;
using McpGuard.Json;
using ModelContextProtocol.Protocol;

namespace McpGuard.Benchmarks;

/// <summary>
/// Per-call cost of the flow stage with an empty session history and with a long one (issue #6: it must not grow
/// linearly with history length for ordinary rules). The history is built through the real hooks: each earlier call
/// was evaluated, sent and answered with a result that carries fresh e-mail addresses and URLs, so the value set, the
/// label provenance and the sequence automata are all populated. Rules: the lethal trifecta, untrusted content before a
/// high-impact call, argument-level provenance, a destination that must be trusted, and two sequence rules.
/// </summary>
[MemoryDiagnoser]
public class FlowStageBenchmarks
{
    private const string Server = "mail";
    private static readonly string[] s_tools = ["read_inbox", "search_web", "read_contacts", "get_secret", "list_files"];

    private FlowStage _stage = null!;
    private GuardSessionInfo _session = null!;
    private ToolCallContext _sinkCall = null!;
    private ToolCallContext _readCall = null!;
    private ToolCallContext _resultCall = null!;
    private JsonRpcResponse _result = null!;

    /// <summary>Number of calls already in the session before the measured call.</summary>
    [Params(0, 10, 1000)]
    public int History { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var options = new McpGuardOptions();
        options.Servers[Server] = new GuardServerOptions();
        FlowOptions flow = options.Flow;
        flow.Enabled = true;
        flow.LabelTool(Server, "read_inbox", FlowLabels.UntrustedSource, FlowLabels.PrivateData);
        flow.LabelTool(Server, "search_web", FlowLabels.UntrustedSource);
        flow.LabelTool(Server, "read_contacts", FlowLabels.PrivateData);
        flow.LabelTool(Server, "get_secret", FlowLabels.CredentialAccess);
        FlowToolOptions send = flow.Tool(Server, "send_email");
        send.SinkKind = "email";
        send.Destinations.Add("$.to[*]");
        send.UntrustedDestinationAction = FlowAction.RequireApproval;
        flow.LethalTrifecta.ExemptTrustedDestinations = true;
        flow.Sequences.Add(new FlowSequenceRule { Name = "secret-then-send", Steps = { "credential-access", "sink" }, Window = 20 });
        flow.Sequences.Add(new FlowSequenceRule { Name = "web-inbox-send", Steps = { "tool:search_web", "tool:read_inbox", "sink:email" }, Window = 50 });
        McpGuardOptionsValidator.ThrowIfInvalid(options);

        var control = new FlowControl(flow, TimeProvider.System);
        _stage = new FlowStage(control);
        _session = new GuardSessionInfo(Server, options.Servers[Server], GuardPrincipal.Anonymous, "bench", DateTimeOffset.UnixEpoch);
        _session.ReplaceCatalog(
            s_tools.Append("send_email").ToFrozenDictionary(n => n, Descriptor, StringComparer.Ordinal),
            merge: false);
        control.Attach(_session);
        _session.Flow.AddTrustedInput("Please summarize my inbox and send the summary to bob@corp.example and carol@corp.example.");

        for (int i = 0; i < History; i++)
        {
            ToolCallContext call = Context(s_tools[i % s_tools.Length], new JsonObject { ["query"] = "q" + i.ToString(CultureInfo.InvariantCulture) }, i);
            _stage.EvaluateCallAsync(call, CancellationToken.None).AsTask().GetAwaiter().GetResult();
            FlowControl.OnSent(call);
            FlowControl.OnResponse(call, Response(i, ResultText(i)));
        }

        _sinkCall = Context("send_email", new JsonObject
        {
            ["to"] = new JsonArray("bob@corp.example", "mallory@evil.example"),
            ["subject"] = "Summary",
            ["body"] = "Here is the summary. Details at https://site7.example/page/7 and a note for user3@host3.example.",
        }, -1);
        _readCall = Context("read_inbox", new JsonObject { ["query"] = "today" }, -2);
        _resultCall = Context("search_web", new JsonObject { ["query"] = "news" }, -3);
        _result = Response(-3, string.Concat(Enumerable.Repeat(ResultText(0) + " ", 16)));
    }

    /// <summary>A sink call with two recipients and a body: every rule runs (destination trust, value lookups, trifecta, sequences).</summary>
    [Benchmark]
    public GuardDecision EvaluateSinkCall() => _stage.EvaluateCallAsync(_sinkCall, CancellationToken.None).Result;

    /// <summary>A read call: labels and sequence automata only.</summary>
    [Benchmark]
    public GuardDecision EvaluateReadCall() => _stage.EvaluateCallAsync(_readCall, CancellationToken.None).Result;

    /// <summary>Recording a call: sent hook plus mining a ~4 KB untrusted result for values.</summary>
    [Benchmark]
    public void RecordResult()
    {
        _stage.EvaluateCallAsync(_resultCall, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        FlowControl.OnSent(_resultCall);
        FlowControl.OnResponse(_resultCall, _result);
    }

    private static string ResultText(int i) =>
        $"From: user{i}@host{i % 97}.example. Subject: update {i}. See https://site{i}.example/page/{i} for details; reply by Friday. Thanks, team.";

    private static JsonRpcResponse Response(int id, string text) => new()
    {
        Id = new RequestId(id),
        Result = new JsonObject { ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = text }) },
    };

    private static GuardToolDescriptor Descriptor(string name)
    {
        var json = new JsonObject { ["name"] = name, ["inputSchema"] = new JsonObject { ["type"] = "object" } };
        byte[] canonical = JsonCanonicalizer.ToCanonicalBytes(json);
        return new GuardToolDescriptor(name, json, canonical, JsonCanonicalizer.Sha256Hex(canonical));
    }

    private ToolCallContext Context(string tool, JsonObject arguments, int id)
    {
        byte[] canonical = JsonCanonicalizer.ToCanonicalBytes(arguments);
        using JsonDocument document = JsonDocument.Parse(canonical);
        return new ToolCallContext(_session, id.ToString(CultureInfo.InvariantCulture), tool, _session.Tools[tool], document.RootElement.Clone(), canonical, JsonCanonicalizer.Sha256Hex(canonical));
    }
}
