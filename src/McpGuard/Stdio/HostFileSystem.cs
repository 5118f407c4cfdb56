namespace McpGuard.Stdio;

/// <summary>What a host path is, as far as building a sandbox needs to know.</summary>
internal enum HostPathKind
{
    Missing,
    Directory,
    File,
    SymbolicLink,
}

/// <summary>A probed host path: its kind and, for a symbolic link, the link text as stored (e.g. <c>usr/lib</c>).</summary>
internal readonly record struct HostPath(HostPathKind Kind, string? LinkTarget = null);

/// <summary>The host file system questions the sandbox builder asks; a seam so the argument builder is a pure function in unit tests.</summary>
internal interface IHostFileSystem
{
    /// <summary>Kind of <paramref name="path"/> without following a final symbolic link.</summary>
    HostPath Probe(string path);

    /// <summary>The fully resolved path (every symbolic link followed), or <see langword="null"/> if it does not exist.</summary>
    string? RealPath(string path);
}

/// <summary>The real host file system.</summary>
internal sealed class HostFileSystem : IHostFileSystem
{
    public static HostFileSystem Instance { get; } = new();

    public HostPath Probe(string path)
    {
        try
        {
            var info = new FileInfo(path);
            if (info.LinkTarget is { } target)
            {
                return new HostPath(HostPathKind.SymbolicLink, target);
            }

            return Directory.Exists(path) ? new HostPath(HostPathKind.Directory)
                : info.Exists ? new HostPath(HostPathKind.File)
                : new HostPath(HostPathKind.Missing);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return new HostPath(HostPathKind.Missing);
        }
    }

    public string? RealPath(string path)
    {
        try
        {
            if (!File.Exists(path) && !Directory.Exists(path))
            {
                return null;
            }

            FileSystemInfo? final = File.Exists(path) ? File.ResolveLinkTarget(path, returnFinalTarget: true) : Directory.ResolveLinkTarget(path, returnFinalTarget: true);
            return final?.FullName ?? Path.GetFullPath(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return null;
        }
    }
}
