using System.Text.Json;
using ModelContextProtocol.Client;

namespace McpGuard.Samples.FileAgent;

/// <summary>
/// Interactive mode: you play the agent. Every command becomes a real <c>tools/call</c> through the guard; calls
/// that need approval show the full request and ask you y/N.
/// </summary>
internal sealed class InteractiveShell(GuardedCalls calls, Sandbox sandbox, ConsoleLines input, TextWriter output)
{
    private const string Help = """
        commands:
          tools                        list the tools the guard lets the agent see
          list [path]                  list_directory (default: the sandbox)
          read <path>                  read_text_file
          write <path> <text...>       write_file (requires your approval)
          call <tool> <json-args>      any tool with raw JSON arguments, e.g. call move_file {"source":"a","destination":"b"}
          help                         this text
          quit                         stop the server and exit
        Relative paths in list/read/write are taken relative to the sandbox (a convenience of this shell);
        'call' sends its arguments unchanged.
        """;

    public async Task<int> RunAsync(CancellationToken cancellationToken = default)
    {
        output.WriteLine($"sandbox (the allowed root): {sandbox.Root}");
        output.WriteLine($"try: read notes.txt | read ../outside/secret.txt | read link-to-secret.txt | write hello.txt hi | call move_file {{...}}");
        output.WriteLine(Help);
        while (!cancellationToken.IsCancellationRequested)
        {
            output.Write("file-agent> ");
            output.Flush();
            string? line = await input.ReadLineAsync(cancellationToken);
            if (line is null)
            {
                output.WriteLine();
                return 0;
            }

            if (Console.IsInputRedirected)
            {
                output.WriteLine(TerminalText.Safe(line));
            }

            string[] words = line.Trim().Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (words.Length == 0)
            {
                continue;
            }

            string rest = words.Length > 1 ? words[1] : string.Empty;
            try
            {
                switch (words[0])
                {
                    case "quit" or "exit":
                        return 0;
                    case "help":
                        output.WriteLine(Help);
                        break;
                    case "tools":
                        await ShowToolsAsync(cancellationToken);
                        break;
                    case "list":
                        await RunAsync("list_directory", new() { ["path"] = InSandbox(rest.Length == 0 ? "." : rest) }, cancellationToken);
                        break;
                    case "read" when rest.Length > 0:
                        await RunAsync("read_text_file", new() { ["path"] = InSandbox(rest) }, cancellationToken);
                        break;
                    case "write" when rest.Split(' ', 2) is [var path, var text]:
                        await RunAsync("write_file", new() { ["path"] = InSandbox(path), ["content"] = text }, cancellationToken);
                        break;
                    case "call" when rest.Split(' ', 2) is [var tool, ..] parts:
                        await RunAsync(tool, ParseArguments(parts.Length > 1 ? parts[1] : "{}"), cancellationToken);
                        break;
                    default:
                        output.WriteLine("unknown command or missing argument; type 'help'");
                        break;
                }
            }
            catch (JsonException ex)
            {
                output.WriteLine($"invalid JSON arguments: {ex.Message}");
            }
        }

        return 0;
    }

    private async Task ShowToolsAsync(CancellationToken cancellationToken)
    {
        IList<McpClientTool> tools = await calls.Client.ListToolsAsync(cancellationToken: cancellationToken);
        foreach (McpClientTool tool in tools)
        {
            output.WriteLine($"  {TerminalText.Safe(tool.Name),-26} {TerminalText.Safe(tool.ProtocolTool.Title)}");
        }

        if (calls.Evidence.Last(GuardEvidenceKind.ToolsListed)?.Details?["hidden"]?.AsObject() is { Count: > 0 } hidden)
        {
            output.WriteLine($"  hidden by policy (the agent never sees these): {string.Join(", ", hidden.Select(h => TerminalText.Safe(h.Key)))}");
        }
    }

    private async Task RunAsync(string tool, Dictionary<string, object?> arguments, CancellationToken cancellationToken)
    {
        CallReport report = await calls.CallAsync(tool, arguments, cancellationToken);
        output.WriteLine($"guard: {TerminalText.Safe(tool)} -> {report.VerdictWithRule}{(report.Decision?.JsonPath is { } p ? " at " + p : string.Empty)}");
        if (report.Decision?.Reason is { } reason)
        {
            output.WriteLine($"       {TerminalText.Safe(reason)}");
        }

        output.WriteLine(report.Allowed ? "result from the server:" : "what the model sees:");
        TerminalText.WriteBlock(output, "  | ", report.Text);
    }

    private string InSandbox(string path) => Path.IsPathRooted(path) ? path : Path.Combine(sandbox.Root, path);

    private static Dictionary<string, object?> ParseArguments(string json)
    {
        using JsonDocument document = JsonDocument.Parse(json);
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            throw new JsonException("The arguments must be a JSON object.");
        }

        return document.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => (object?)p.Value.Clone());
    }
}
