using McpGuard.Tests.Infrastructure;
using System.Text;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace McpGuard.Benchmarks.Infrastructure;

/// <summary>
/// The benchmark scenario shared by the BenchmarkDotNet suites and <c>--quick</c>: one allowed call to
/// <c>read_file</c> with small arguments (<c>{"path":"/data/a.txt"}</c>) that returns a 4 KB text result.
/// </summary>
internal static class Scenario
{
    public const string ServerName = "bench";
    public const string ServerReportedName = "bench-server";
    public const string ToolName = "read_file";
    public const string AllowedRoot = "/data";
    public const int ResultChars = 4096;

    /// <summary>The result size of the 64 KB round trip (isolation target).</summary>
    public const int LargeResultChars = 64 * 1024;

    /// <summary>4,096 ASCII characters of text in lines, like a small file.</summary>
    public static readonly string ResultText = BuildResultText(ResultChars);

    /// <summary>65,536 characters of the same text.</summary>
    public static readonly string LargeResultText = BuildResultText(LargeResultChars);

    public static readonly IReadOnlyDictionary<string, object?> Arguments = new Dictionary<string, object?> { ["path"] = "/data/a.txt" };

    public static McpServerTool CreateTool(int resultChars = ResultChars)
    {
        string text = resultChars == LargeResultChars ? LargeResultText : resultChars == ResultChars ? ResultText : BuildResultText(resultChars);
        return McpServerTool.Create((string path) => text, new McpServerToolCreateOptions { Name = ToolName, Description = "Reads a file." });
    }

    /// <summary>One registered server; the tool allowed with an <see cref="ArgumentRule"/> on <c>$.path</c> so the constraint stage runs.</summary>
    /// <remarks>The foundation comparison runs the foundation stages; content isolation (sanitizer + injection detector on
    /// every result, a later capability with its own target) is measured separately by <see cref="ClientMode.GuardedIsolation"/>.</remarks>
    /// <param name="jsonLinesPath">The JSON Lines evidence file, or none.</param>
    /// <param name="isolation">Content isolation on.</param>
    /// <param name="pathCheck"><see langword="false"/> (diagnostic only): the rule on <c>$.path</c> checks its length
    /// instead of its allowed root, so the call makes no system call (see <see cref="ClientMode.GuardedNoPathCheck"/>).</param>
    public static McpGuardOptions CreateOptions(string? jsonLinesPath = null, bool isolation = false, bool pathCheck = true)
    {
        var options = new McpGuardOptions();
        var server = new GuardServerOptions { ExpectedName = ServerReportedName };
        var tool = new GuardToolOptions { Access = ToolAccess.Allow };
        var rule = new ArgumentRule { Path = "$.path" };
        if (pathCheck)
        {
            rule.AllowedRoots.Add(AllowedRoot);
        }
        else
        {
            rule.MaxLength = 4096;
        }

        tool.Arguments.Add(rule);
        server.Tools[ToolName] = tool;
        options.Servers[ServerName] = server;
        options.Evidence.LogEvents = false;
        options.Evidence.JsonLinesPath = jsonLinesPath;
        options.Isolation.Enabled = isolation;
        return options;
    }

    /// <summary>Throws unless <paramref name="result"/> is the expected successful 4 KB result (so a guard that denies cannot look fast).</summary>
    public static void Verify(CallToolResult result, string label, int resultChars = ResultChars)
    {
        // With isolation on, the default spotlighting (if any) may wrap the text: at least the whole text must arrive.
        if (result.IsError == true || result.Content.Count < 1 || result.Content.OfType<TextContentBlock>().Sum(b => b.Text.Length) < resultChars)
        {
            throw new InvalidOperationException($"{label}: the call did not return the expected {resultChars}-character result.");
        }
    }

    private static string BuildResultText(int chars)
    {
        var sb = new StringBuilder(chars + 80);
        for (int line = 0; sb.Length < chars; line++)
        {
            sb.Append("line ").Append(line.ToString("D4", System.Globalization.CultureInfo.InvariantCulture))
              .Append(": the quick brown fox jumps over the lazy dog; 0123456789.\n");
        }

        return sb.ToString(0, chars);
    }
}

/// <summary>An evidence sink that drops every event: measures the cost of building evidence, not of storing it.</summary>
internal sealed class NullEvidenceSink : IGuardEvidenceSink
{
    public ValueTask WriteAsync(GuardEvidence evidence, CancellationToken cancellationToken) => default;
}

/// <summary>How the client reaches the in-process server.</summary>
internal enum ClientMode
{
    /// <summary>The SDK's stream transport directly.</summary>
    Unguarded,

    /// <summary>Through McpGuard with a no-op evidence sink.</summary>
    Guarded,

    /// <summary>Through McpGuard with the JSON Lines file sink (temp file).</summary>
    GuardedJsonLines,

    /// <summary>Through McpGuard with content isolation on (its default): sanitizer and injection detector on the 4 KB result.</summary>
    GuardedIsolation,

    /// <summary>Through a decorator that only re-pumps incoming messages through a channel, like the guard does, with no policy work: isolates the hop.</summary>
    PassThroughPump,

    /// <summary>As <see cref="PassThroughPump"/>, with synchronous continuations on the decorator's channel.</summary>
    PassThroughInline,

    /// <summary>A decorator without a pump: messages are processed in the session's own read (the alternative design).</summary>
    PullThrough,

    /// <summary>Diagnostic: <see cref="Guarded"/> with the rule on <c>$.path</c> checking its length instead of its root,
    /// so the guard makes no system call; separates the cost of the path check's <c>readlink</c> from the rest.</summary>
    GuardedNoPathCheck,
}

/// <summary>One in-process server and one connected client, guarded or not.</summary>
internal sealed class RoundTripHarness : IAsyncDisposable
{
    private readonly InProcessServer _server;
    private readonly McpGuardEngine? _engine;
    private readonly string? _evidenceFile;

    private RoundTripHarness(InProcessServer server, McpClient client, McpGuardEngine? engine, string? evidenceFile)
    {
        _server = server;
        Client = client;
        _engine = engine;
        _evidenceFile = evidenceFile;
    }

    public McpClient Client { get; }

    public static async Task<RoundTripHarness> StartAsync(ClientMode mode, int resultChars = Scenario.ResultChars)
    {
        InProcessServer server = InProcessServer.Start(Scenario.ServerReportedName, "1.0.0", Scenario.CreateTool(resultChars));
        McpGuardEngine? engine = null;
        string? file = null;
        McpClient client;
        switch (mode)
        {
            case ClientMode.Unguarded:
                client = await McpClient.CreateAsync(server.CreateClientTransport());
                break;
            case ClientMode.PassThroughPump:
                client = await McpClient.CreateAsync(new PassThroughClientTransport(server.CreateClientTransport()));
                break;
            case ClientMode.PullThrough:
                client = await McpClient.CreateAsync(new PullClientTransport(server.CreateClientTransport()));
                break;
            case ClientMode.PassThroughInline:
                client = await McpClient.CreateAsync(new PassThroughClientTransport(server.CreateClientTransport(), inlineContinuations: true));
                break;
            case ClientMode.Guarded:
                engine = new McpGuardEngineBuilder(Scenario.CreateOptions()).AddEvidenceSink(new NullEvidenceSink()).Build();
                client = await engine.ConnectAsync(engine.WrapTransport(server.CreateClientTransport(), Scenario.ServerName));
                break;
            case ClientMode.GuardedNoPathCheck:
                engine = new McpGuardEngineBuilder(Scenario.CreateOptions(pathCheck: false)).AddEvidenceSink(new NullEvidenceSink()).Build();
                client = await engine.ConnectAsync(engine.WrapTransport(server.CreateClientTransport(), Scenario.ServerName));
                break;
            case ClientMode.GuardedIsolation:
                engine = new McpGuardEngineBuilder(Scenario.CreateOptions(isolation: true)).AddEvidenceSink(new NullEvidenceSink()).Build();
                client = await engine.ConnectAsync(engine.WrapTransport(server.CreateClientTransport(), Scenario.ServerName));
                break;
            case ClientMode.GuardedJsonLines:
                file = Path.Combine(Path.GetTempPath(), "mcpguard-bench-" + Guid.NewGuid().ToString("N") + ".jsonl");
                engine = new McpGuardEngineBuilder(Scenario.CreateOptions(file)).Build();
                client = await engine.ConnectAsync(engine.WrapTransport(server.CreateClientTransport(), Scenario.ServerName));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(mode));
        }

        var harness = new RoundTripHarness(server, client, engine, file);
        await client.ListToolsAsync();
        Scenario.Verify(await harness.CallAsync(), mode.ToString(), resultChars);
        return harness;
    }

    public ValueTask<CallToolResult> CallAsync() => Client.CallToolAsync(Scenario.ToolName, Scenario.Arguments);

    /// <summary>
    /// Calls the harnesses in turn until tiered compilation has settled: at least <paramref name="minCalls"/> calls each
    /// and <paramref name="minTime"/>, then on until a whole second passes without a method being compiled (at most 60 s
    /// in all). On the benchmark VM tier-1 recompilation of the round trip's methods went on for 10–24 s; a measurement
    /// that starts earlier times partly unoptimized code, more of it for the client with more code (the guard).
    /// </summary>
    /// <returns>How long the warm-up took.</returns>
    public static async Task<TimeSpan> SettleAsync(IReadOnlyList<RoundTripHarness> harnesses, int minCalls, TimeSpan minTime)
    {
        var total = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 0; i < minCalls || total.Elapsed < minTime; i++)
        {
            foreach (RoundTripHarness h in harnesses)
            {
                await h.CallAsync();
            }
        }

        while (total.Elapsed < TimeSpan.FromSeconds(60))
        {
            long before = System.Runtime.JitInfo.GetCompiledMethodCount();
            var window = System.Diagnostics.Stopwatch.StartNew();
            while (window.Elapsed < TimeSpan.FromSeconds(1))
            {
                foreach (RoundTripHarness h in harnesses)
                {
                    await h.CallAsync();
                }
            }

            if (System.Runtime.JitInfo.GetCompiledMethodCount() == before)
            {
                break;
            }
        }

        return total.Elapsed;
    }

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        await _server.DisposeAsync();
        if (_engine is not null)
        {
            await _engine.DisposeAsync();
        }

        if (_evidenceFile is not null)
        {
            File.Delete(_evidenceFile);
        }
    }
}
