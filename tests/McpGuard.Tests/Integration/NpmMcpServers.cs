using System.Reflection;

namespace McpGuard.Tests.Integration;

/// <summary>
/// Where the real npm MCP servers are: the directory that <c>McpServers.targets</c> installs with <c>npm ci</c> and
/// embeds in this assembly as <c>[AssemblyMetadata("McpServersDirectory", ...)]</c>.
/// </summary>
internal static class NpmMcpServers
{
    private static readonly Lazy<string> s_directory = new(FindDirectory);

    /// <summary>The <c>samples/mcp-servers</c> directory.</summary>
    public static string Directory => s_directory.Value;

    /// <summary>Entry point of <c>@modelcontextprotocol/server-everything</c> (bin <c>mcp-server-everything</c>).</summary>
    public static string EverythingEntryPoint => EntryPoint("server-everything");

    /// <summary>Entry point of <c>@modelcontextprotocol/server-filesystem</c> (bin <c>mcp-server-filesystem</c>).</summary>
    public static string FilesystemEntryPoint => EntryPoint("server-filesystem");

    /// <summary>Launch settings for <c>server-everything</c> over stdio: <c>node dist/index.js stdio</c>.</summary>
    public static StdioLaunchOptions Everything()
    {
        var stdio = new StdioLaunchOptions { Command = "node", WorkingDirectory = Directory };
        stdio.Arguments.Add(EverythingEntryPoint);
        stdio.Arguments.Add("stdio");
        return stdio;
    }

    /// <summary>Launch settings for <c>server-filesystem</c> over stdio with <paramref name="allowedDirectories"/> as its command-line roots.</summary>
    public static StdioLaunchOptions Filesystem(params string[] allowedDirectories)
    {
        var stdio = new StdioLaunchOptions { Command = "node", WorkingDirectory = Directory };
        stdio.Arguments.Add(FilesystemEntryPoint);
        stdio.Arguments.AddRange(allowedDirectories);
        return stdio;
    }

    private static string EntryPoint(string package)
    {
        string path = Path.Combine(Directory, "node_modules", "@modelcontextprotocol", package, "dist", "index.js");
        return File.Exists(path)
            ? path
            : throw new InvalidOperationException($"'{path}' is missing; the test project's build installs the npm servers (McpServers.targets). Rebuild the test project.");
    }

    private static string FindDirectory()
    {
        string? directory = typeof(NpmMcpServers).Assembly
            .GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "McpServersDirectory")?.Value;
        return directory is { Length: > 0 }
            ? Path.GetFullPath(directory)
            : throw new InvalidOperationException("The test assembly has no [AssemblyMetadata(\"McpServersDirectory\")]; it is set by samples/mcp-servers/McpServers.targets.");
    }
}
