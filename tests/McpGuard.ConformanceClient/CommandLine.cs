namespace McpGuard.ConformanceClient;

/// <summary>
/// Parsed command line: <c>[--guarded | --guarded-strict | --unguarded | --broken-skip-auth] [--evidence &lt;file&gt;] &lt;server-url&gt;</c>.
/// The conformance runner appends the scenario server's URL as the last argument.
/// </summary>
internal sealed record CommandLine(ClientMode Mode, Uri ServerUrl, string? EvidencePath)
{
    public const string Usage =
        "usage: McpGuard.ConformanceClient [--guarded | --guarded-strict | --unguarded | --broken-skip-auth] [--evidence <file.jsonl>] <server-url>\n" +
        "  The scenario comes from MCP_CONFORMANCE_SCENARIO, extra data from MCP_CONFORMANCE_CONTEXT (JSON).";

    public static CommandLine Parse(IReadOnlyList<string> args)
    {
        if (args.Count == 0)
        {
            throw new ArgumentException("The server URL (last argument) is missing.");
        }

        ClientMode mode = ClientMode.Unguarded;
        string? evidence = null;
        for (int i = 0; i < args.Count - 1; i++)
        {
            switch (args[i])
            {
                case "--guarded":
                    mode = ClientMode.Guarded;
                    break;
                case "--guarded-strict":
                    mode = ClientMode.GuardedStrict;
                    break;
                case "--unguarded":
                    mode = ClientMode.Unguarded;
                    break;
                case "--broken-skip-auth":
                    mode = ClientMode.BrokenSkipAuth;
                    break;
                case "--evidence" when i + 1 < args.Count - 1:
                    evidence = args[++i];
                    break;
                default:
                    throw new ArgumentException($"Unknown argument '{args[i]}'.");
            }
        }

        string last = args[^1];
        return Uri.TryCreate(last, UriKind.Absolute, out Uri? url) && (url.Scheme == Uri.UriSchemeHttp || url.Scheme == Uri.UriSchemeHttps)
            ? new CommandLine(mode, url, evidence)
            : throw new ArgumentException($"The last argument must be the server's http(s) URL, not '{last}'.");
    }
}
