using Microsoft.Extensions.Logging;

namespace McpGuard.ConformanceClient;

/// <summary>
/// Entry point. The conformance runner starts this program with the scenario in <c>MCP_CONFORMANCE_SCENARIO</c> and the
/// scenario server's URL as the last argument; exit code 0 means the client completed what the scenario expects.
/// </summary>
internal static class Program
{
    // Below the runner's --timeout (120 s in the tests) so the client reports its own timeout; generous for busy machines.
    private static readonly TimeSpan s_scenarioTimeout = TimeSpan.FromSeconds(110);

    public static async Task<int> Main(string[] args)
    {
        CommandLine commandLine;
        try
        {
            commandLine = CommandLine.Parse(args);
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine(ex.Message);
            Console.Error.WriteLine(CommandLine.Usage);
            return 2;
        }

        string scenario = Environment.GetEnvironmentVariable("MCP_CONFORMANCE_SCENARIO") ?? string.Empty;
        using ILoggerFactory loggerFactory = LoggerFactory.Create(logging => logging
            .SetMinimumLevel(LogLevel.Information)
            .AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; o.UseUtcTimestamp = true; })
            .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace));
        using var timeout = new CancellationTokenSource(s_scenarioTimeout);
        Console.WriteLine($"scenario '{scenario}', mode {commandLine.Mode}, server {commandLine.ServerUrl}");
        try
        {
            ScenarioContext context = ScenarioContext.Parse(Environment.GetEnvironmentVariable("MCP_CONFORMANCE_CONTEXT"));
            await using ConformanceHost host = ConformanceHost.Create(commandLine, Scenarios.ToolsCalled, loggerFactory);
            bool done = await Scenarios.RunAsync(scenario, context, host, loggerFactory, timeout.Token);
            Console.WriteLine(done ? "client: done" : "client: scenario not completed");
            return done ? 0 : 1;
        }
        catch (Exception ex)
        {
            // Report and exit non-zero instead of crashing: the runner records the exit code and both output streams.
            Console.Error.WriteLine($"client: scenario '{scenario}' failed: {ex}");
            return 1;
        }
    }
}
