// McpGuard file agent: a host that connects to the REAL @modelcontextprotocol/server-filesystem (npm, launched over
// stdio with a scrubbed environment) through McpGuard, and enforces the host's policy on every tool call.
//
//   dotnet run --project samples/McpGuard.Samples.FileAgent -- --demo     fixed script, no input; exit code 0 = all as expected
//   dotnet run --project samples/McpGuard.Samples.FileAgent               interactive: you type the agent's tool calls
//   options: --evidence <path>   where to write the JSON Lines evidence (default: next to the sandbox)
//            --verbose           McpGuard and SDK logs on stderr
using McpGuard;
using McpGuard.Samples.FileAgent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Client;

bool demo = args.Contains("--demo");
bool verbose = args.Contains("--verbose");
int evidenceArg = Array.IndexOf(args, "--evidence");
if (evidenceArg >= 0 && evidenceArg + 1 >= args.Length)
{
    Console.Error.WriteLine("--evidence needs a file path.");
    return 2;
}

// 1. Find node and the server that `dotnet build` installed from the committed lock file (npm ci).
string? node = ServerLocator.FindNode(out string? error);
string? serverEntry = node is null ? null : ServerLocator.FindFilesystemServer(out error);
if (node is null || serverEntry is null)
{
    Console.Error.WriteLine("error: " + error);
    return 2;
}

// 2. A fresh sandbox: the one directory the agent may use, plus an "outside" secret and a symlink pointing to it.
Sandbox sandbox = Sandbox.Create();
string evidencePath = Path.GetFullPath(evidenceArg >= 0 ? args[evidenceArg + 1] : sandbox.DefaultEvidenceFile);

var evidenceLog = new EvidenceLog();
var demoApprover = new RejectingApprover();
var stdin = new ConsoleLines(Console.In); // read only in interactive mode
var consoleApprover = new ConsoleApprover(stdin, Console.Out);

// 3. The quick start: register McpGuard and the host's policy.
var services = new ServiceCollection();
services.AddLogging(logging => logging
    .SetMinimumLevel(verbose ? LogLevel.Information : LogLevel.Warning)
    // The SDK first tries the 2026-07-28 handshake (server/discover) and logs a warning when an older server, like
    // this one, answers "method not found" before it falls back to initialize. Shown with --verbose.
    .AddFilter("ModelContextProtocol", verbose ? LogLevel.Information : LogLevel.Error)
    .AddSimpleConsole(o => o.SingleLine = true)
    .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace)); // logs go to stderr, the demo's lines to stdout

services.AddMcpGuard(guard =>
    {
        // Tools nobody configured are hidden: removed from tools/list AND denied when called by name (rule tool.hidden).
        // This is the default; it is spelled out here because it is the heart of the policy.
        guard.DefaultToolAccess = ToolAccess.Hidden;

        guard.Evidence.JsonLinesPath = evidencePath;

        guard.Servers["filesystem"] = new GuardServerOptions
        {
            // Pin the identity the server reports in its handshake; anything else is refused (server.identity-mismatch).
            ExpectedName = "secure-filesystem-server",
            ExpectedVersion = "0.2.0",

            // Launched by McpGuard over stdio. The child does NOT inherit the host's environment: it gets only PATH,
            // locale, time zone and temp directory (StdioLaunchOptions.BaselineVariables) - no tokens, no cloud keys.
            // On Linux with bubblewrap it also runs in a sandbox (docs/sandbox.md): it sees only its own code (read-only)
            // and the agent's directory, and has no network. Preferred: without bubblewrap it runs unsandboxed and says so.
            Stdio = new StdioLaunchOptions
            {
                Command = node,
                Arguments = { serverEntry, sandbox.Root },
                Sandbox =
                {
                    Mode = StdioSandboxMode.Preferred,
                    ReadOnlyPaths = { Path.GetFullPath(Path.Combine(Path.GetDirectoryName(serverEntry)!, "..", "..", "..")) }, // node_modules
                    ReadWritePaths = { sandbox.Root },

                    // A runaway server cannot eat the host: 1 GiB of heap, 16 MiB per file, 1,024 open files, 64 MiB of /tmp.
                    Limits = { MaxMemoryBytes = 1L << 30, MaxFileSizeBytes = 16L << 20, MaxOpenFiles = 1024, TmpSizeBytes = 64L << 20 },
                },
            },

            Owner = "samples",
        };

        // Every path argument must canonicalize (.., repeated separators, symbolic links) to a place under the sandbox.
        GuardServerOptions filesystem = guard.Servers["filesystem"];
        filesystem.Tools["list_directory"] = ReadTool(sandbox.Root);
        filesystem.Tools["read_text_file"] = ReadTool(sandbox.Root);
        filesystem.Tools["list_allowed_directories"] = new GuardToolOptions { Access = ToolAccess.Allow };

        // Writes are visible to the agent but each one needs a person's approval, and only inside the sandbox.
        filesystem.Tools["write_file"] = new GuardToolOptions
        {
            Access = ToolAccess.RequireApproval,
            Arguments = { new ArgumentRule { Path = "$.path", AllowedRoots = { sandbox.Root } } },
            RequiredProperties = { "path", "content" },
        };

        // Not listed, therefore hidden: read_file (deprecated alias), read_media_file, read_multiple_files, edit_file,
        // create_directory, list_directory_with_sizes, directory_tree, move_file, search_files, get_file_info.
    })
    .AddEvidenceSink(evidenceLog.WriteAsync)                    // in memory, to print each decision below
    .AddApprovalHandler(demo ? demoApprover.AskAsync : consoleApprover.AskAsync);

await using ServiceProvider provider = services.BuildServiceProvider();
McpGuardEngine engine = provider.GetRequiredService<McpGuardEngine>();

// 4. Launch the server and connect: one call gives a guarded McpClient for the registration.
Console.WriteLine($"launching: {node} {serverEntry} {sandbox.Root}");
McpClient client;
try
{
    client = await engine.CreateClientAsync("filesystem", new GuardPrincipal("file-agent", Environment.UserName));
}
catch (McpGuardConnectionRefusedException ex)
{
    Console.Error.WriteLine($"error: the guard refused the server: {ex.Decision?.RuleId}: {TerminalText.Safe(ex.Decision?.Reason)}");
    Console.Error.WriteLine($"evidence: {evidencePath}");
    return 3;
}

Console.WriteLine("server sandbox: " + engine.GetInventory().Servers.Single(s => s.Name == "filesystem").Sandbox);

int exitCode;
await using (client)
{
    Console.WriteLine($"connected: '{TerminalText.Safe(client.ServerInfo?.Name)}' {TerminalText.Safe(client.ServerInfo?.Version)} (protocol {client.NegotiatedProtocolVersion}); identity pinned, environment scrubbed");
    Console.WriteLine($"sandbox: {sandbox.Root}");
    Console.WriteLine();

    var calls = new GuardedCalls(client, evidenceLog);
    exitCode = demo
        ? await DemoScript.RunAsync(calls, sandbox, demoApprover, evidencePath, Console.Out)
        : await new InteractiveShell(calls, sandbox, stdin, Console.Out).RunAsync();
}

// Disposing the client stopped the server. The sandbox and the evidence stay for inspection.
if (!demo)
{
    Console.WriteLine($"evidence (JSON Lines): {evidencePath}");
    Console.WriteLine($"sandbox kept for inspection: {sandbox.RunDirectory}");
}

return exitCode;

// A read-only tool, allowed, with its `path` argument confined to the sandbox.
static GuardToolOptions ReadTool(string root) => new()
{
    Access = ToolAccess.Allow,
    Arguments = { new ArgumentRule { Path = "$.path", AllowedRoots = { root } } },
};
