using System.Reflection;

namespace McpGuard.Samples.FileAgent;

/// <summary>
/// Finds what is needed to launch the real <c>@modelcontextprotocol/server-filesystem</c>: <c>node</c> on the PATH and
/// the server's entry point in <c>samples/mcp-servers/node_modules</c>, which the build installed with <c>npm ci</c>
/// from the committed lock file (see <c>samples/mcp-servers/McpServers.targets</c>).
/// </summary>
internal static class ServerLocator
{
    private const string EntryPoint = "node_modules/@modelcontextprotocol/server-filesystem/dist/index.js";

    /// <summary>The absolute path of <c>node</c>, or <see langword="null"/> with <paramref name="error"/> set.</summary>
    public static string? FindNode(out string? error)
    {
        string[] names = OperatingSystem.IsWindows() ? ["node.exe", "node.cmd"] : ["node"];
        foreach (string directory in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (string name in names)
            {
                string candidate = Path.Combine(directory, name);
                if (File.Exists(candidate))
                {
                    error = null;
                    return candidate;
                }
            }
        }

        error = "'node' was not found on the PATH. Install Node.js 20 or later (https://nodejs.org) and run the sample again.";
        return null;
    }

    /// <summary>The absolute path of server-filesystem's <c>dist/index.js</c>, or <see langword="null"/> with <paramref name="error"/> set.</summary>
    public static string? FindFilesystemServer(out string? error)
    {
        string? directory = FromAssemblyMetadata() ?? WalkUpFrom(AppContext.BaseDirectory);
        if (directory is null)
        {
            error = "Could not find samples/mcp-servers. Run the sample from the repository with 'dotnet run --project samples/McpGuard.Samples.FileAgent -- --demo'.";
            return null;
        }

        string entry = Path.GetFullPath(Path.Combine(directory, EntryPoint));
        if (!File.Exists(entry))
        {
            error = $"The npm MCP servers are not installed ({entry} is missing). Build the sample again ('dotnet build samples/McpGuard.Samples.FileAgent'); the build runs 'npm ci' in {directory}.";
            return null;
        }

        error = null;
        return entry;
    }

    // McpServers.targets embeds the directory as [assembly: AssemblyMetadata("McpServersDirectory", "...")].
    private static string? FromAssemblyMetadata()
    {
        string? value = Assembly.GetEntryAssembly()?
            .GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "McpServersDirectory")?.Value;
        return value is { Length: > 0 } && Directory.Exists(value) ? value : null;
    }

    private static string? WalkUpFrom(string start)
    {
        for (DirectoryInfo? dir = new(start); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "samples", "mcp-servers");
            if (File.Exists(Path.Combine(candidate, "package-lock.json")))
            {
                return candidate;
            }
        }

        return null;
    }
}
