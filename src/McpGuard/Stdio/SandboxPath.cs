namespace McpGuard.Stdio;

/// <summary>Checks and normalizes host paths named in a sandbox configuration.</summary>
internal static class SandboxPath
{
    /// <summary>Directories no grant may name or lie in: kernel interfaces the sandbox replaces with its own.</summary>
    private static readonly string[] s_forbiddenRoots = ["/proc", "/sys", "/dev"];

    /// <summary>Whether <paramref name="path"/> is an absolute POSIX path (sandbox paths are Linux paths on every OS the configuration is validated on).</summary>
    public static bool IsAbsolute(string path) => path.Length > 0 && path[0] == '/' && !path.Contains('\0', StringComparison.Ordinal);

    /// <summary>Lexical POSIX normalization of an absolute path: collapses <c>//</c>, <c>.</c> and <c>..</c>, no trailing slash (except <c>/</c>).</summary>
    public static string Normalize(string path)
    {
        var parts = new List<string>();
        foreach (string part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == "..")
            {
                if (parts.Count > 0)
                {
                    parts.RemoveAt(parts.Count - 1);
                }
            }
            else if (part != ".")
            {
                parts.Add(part);
            }
        }

        return "/" + string.Join('/', parts);
    }

    /// <summary>Number of components of a normalized path (<c>/</c> has 0).</summary>
    public static int Depth(string normalized) => normalized == "/" ? 0 : normalized.Count(c => c == '/');

    public static bool IsSameOrBelow(string path, string root) =>
        string.Equals(path, root, StringComparison.Ordinal) || (root == "/" ? path.StartsWith('/') : path.StartsWith(root + "/", StringComparison.Ordinal));

    /// <summary>Why <paramref name="path"/> cannot be granted, or <see langword="null"/> if it can.</summary>
    public static string? Problem(string path)
    {
        if (string.IsNullOrEmpty(path) || !IsAbsolute(path))
        {
            return "is not an absolute path; grant a fully qualified path such as /srv/data.";
        }

        string full = Normalize(path);
        if (full == "/")
        {
            return "is the root directory, which would undo the sandbox; grant the specific directories the server needs.";
        }

        return s_forbiddenRoots.Any(r => IsSameOrBelow(full, r))
            ? "lies in /proc, /sys or /dev, which the sandbox provides itself; remove it."
            : null;
    }
}
