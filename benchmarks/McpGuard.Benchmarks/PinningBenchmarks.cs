using McpGuard.Tests.Infrastructure;
using BenchmarkDotNet.Attributes;
using McpGuard.Benchmarks.Infrastructure;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace McpGuard.Benchmarks;

/// <summary>
/// Cost of catalog pinning: a <c>tools/list</c> of 100 tools (every tool canonicalized, hashed and compared with its
/// pin) and one <c>tools/call</c> (one dictionary lookup, no re-hashing), each against the same guard without pinning
/// and the unguarded client, over the SDK's real in-process server; and a <c>prompts/list</c> of 100 prompts (every
/// entry checked with the SDK's deserializer, and with pinning canonicalized, hashed and compared).
/// </summary>
[MemoryDiagnoser]
public class PinningBenchmarks
{
    private const int ToolCount = 100;
    private InProcessServer _server = null!;
    private InProcessServer _guardedServer = null!;
    private InProcessServer _pinnedServer = null!;
    private McpClient _unguarded = null!;
    private McpClient _guarded = null!;
    private McpClient _pinned = null!;
    private McpGuardEngine _guardedEngine = null!;
    private McpGuardEngine _pinnedEngine = null!;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _server = InProcessServer.Start(ServerOptions());
        _guardedServer = InProcessServer.Start(ServerOptions());
        _pinnedServer = InProcessServer.Start(ServerOptions());
        _unguarded = await McpClient.CreateAsync(_server.CreateClientTransport());

        _guardedEngine = new McpGuardEngineBuilder(Options(pinning: false)).AddEvidenceSink(new NullEvidenceSink()).Build();
        _guarded = await _guardedEngine.ConnectAsync(_guardedEngine.WrapTransport(_guardedServer.CreateClientTransport(), Scenario.ServerName));

        _pinnedEngine = new McpGuardEngineBuilder(Options(pinning: true)).AddEvidenceSink(new NullEvidenceSink()).Build();
        _pinned = await _pinnedEngine.ConnectAsync(_pinnedEngine.WrapTransport(_pinnedServer.CreateClientTransport(), Scenario.ServerName));

        // Steady state: the first listing pins (trust on first use); every measured listing matches its pins.
        if ((await _pinned.ListToolsAsync()).Count != ToolCount || (await _guarded.ListToolsAsync()).Count != ToolCount
            || (await _pinned.ListPromptsAsync()).Count != ToolCount || (await _guarded.ListPromptsAsync()).Count != ToolCount)
        {
            throw new InvalidOperationException("Expected every tool and prompt to be visible.");
        }
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _unguarded.DisposeAsync();
        await _guarded.DisposeAsync();
        await _pinned.DisposeAsync();
        await _guardedEngine.DisposeAsync();
        await _pinnedEngine.DisposeAsync();
        await _server.DisposeAsync();
        await _guardedServer.DisposeAsync();
        await _pinnedServer.DisposeAsync();
    }

    /// <summary>100-tool <c>tools/list</c>, unguarded.</summary>
    [Benchmark(Baseline = true)]
    [BenchmarkCategory("list")]
    public ValueTask<IList<McpClientTool>> ListTools100_Unguarded() => _unguarded.ListToolsAsync();

    /// <summary>100-tool <c>tools/list</c> through the guard without pinning (catalog hashing and visibility only).</summary>
    [Benchmark]
    [BenchmarkCategory("list")]
    public ValueTask<IList<McpClientTool>> ListTools100_Guarded() => _guarded.ListToolsAsync();

    /// <summary>100-tool <c>tools/list</c> through the guard with pinning: every tool compared with its pin.</summary>
    [Benchmark]
    [BenchmarkCategory("list")]
    public ValueTask<IList<McpClientTool>> ListTools100_GuardedPinned() => _pinned.ListToolsAsync();

    /// <summary>100-prompt <c>prompts/list</c>, unguarded.</summary>
    [Benchmark]
    [BenchmarkCategory("prompts")]
    public ValueTask<IList<McpClientPrompt>> ListPrompts100_Unguarded() => _unguarded.ListPromptsAsync();

    /// <summary>100-prompt <c>prompts/list</c> through the guard without pinning: each entry checked with the SDK's deserializer.</summary>
    [Benchmark]
    [BenchmarkCategory("prompts")]
    public ValueTask<IList<McpClientPrompt>> ListPrompts100_Guarded() => _guarded.ListPromptsAsync();

    /// <summary>100-prompt <c>prompts/list</c> through the guard with pinning: every prompt also compared with its pin.</summary>
    [Benchmark]
    [BenchmarkCategory("prompts")]
    public ValueTask<IList<McpClientPrompt>> ListPrompts100_GuardedPinned() => _pinned.ListPromptsAsync();

    /// <summary>One call on a 100-tool server through the guard without pinning.</summary>
    [Benchmark]
    [BenchmarkCategory("call")]
    public ValueTask<CallToolResult> Call_Guarded() => _guarded.CallToolAsync("tool_042", Scenario.Arguments);

    /// <summary>One call on a 100-tool server through the guard with pinning (per-call check is one lookup).</summary>
    [Benchmark]
    [BenchmarkCategory("call")]
    public ValueTask<CallToolResult> Call_GuardedPinned() => _pinned.CallToolAsync("tool_042", Scenario.Arguments);

    private static McpServerOptions ServerOptions()
    {
        var options = new McpServerOptions { ServerInfo = new Implementation { Name = Scenario.ServerReportedName, Version = "1.0.0" }, ToolCollection = [], PromptCollection = [] };
        foreach (McpServerTool tool in Tools())
        {
            options.ToolCollection.Add(tool);
        }

        foreach (McpServerPrompt prompt in Prompts())
        {
            options.PromptCollection.Add(prompt);
        }

        return options;
    }

    private static McpServerPrompt[] Prompts() =>
        [.. Enumerable.Range(0, ToolCount).Select(i => McpServerPrompt.Create(
            (string topic, int? length) => $"Summarize {topic}.",
            new McpServerPromptCreateOptions
            {
                Name = $"prompt_{i:D3}",
                Description = $"Prompt number {i}: asks for a summary of a topic in a given length. Use it when the user asks for summary {i}.",
            }))];

    private static McpServerTool[] Tools() =>
        [.. Enumerable.Range(0, ToolCount).Select(i => McpServerTool.Create(
            (string path, int? limit) => "ok",
            new McpServerToolCreateOptions
            {
                Name = $"tool_{i:D3}",
                Description = $"Tool number {i}: reads a record from the data store and returns it as text. Use it when the user asks for record {i}.",
                ReadOnly = true,
            }))];

    private static McpGuardOptions Options(bool pinning)
    {
        var options = new McpGuardOptions { DefaultToolAccess = ToolAccess.Allow };
        options.Servers[Scenario.ServerName] = new GuardServerOptions { ExpectedName = Scenario.ServerReportedName };
        options.Evidence.LogEvents = false;
        options.Pinning.Enabled = pinning;
        options.Isolation.Enabled = false; // measure pinning, not the metadata scan
        return options;
    }
}
