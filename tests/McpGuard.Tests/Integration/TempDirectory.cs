namespace McpGuard.Tests.Integration;

/// <summary>A fresh directory under the system temp directory, deleted (recursively, links not followed) on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory(string prefix = "mcpguard-it-")
    {
        // Resolve links in the temp path itself (e.g. /tmp -> /private/tmp on macOS) so paths compare as the server sees them.
        string root = Path.GetFullPath(Path.GetTempPath());
        DirectoryInfo info = System.IO.Directory.CreateDirectory(Path.Combine(root, prefix + Guid.NewGuid().ToString("N")[..12]));
        FullPath = info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? info.FullName;
    }

    public string FullPath { get; }

    public string Combine(params string[] parts) => Path.Combine([FullPath, .. parts]);

    public void Dispose()
    {
        try
        {
            // Directory.Delete does not follow symbolic links to directories; it removes the link itself.
            System.IO.Directory.Delete(FullPath, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: a leftover temp directory must not fail a test.
        }
    }
}
