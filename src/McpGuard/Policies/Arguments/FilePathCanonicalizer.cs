namespace McpGuard.Policies.Arguments;

/// <summary>
/// Canonicalizes file paths the way the file system will see them: absolute, no <c>.</c>/<c>..</c>, no repeated
/// separators, every symbolic link resolved (at most <see cref="MaxLinkHops"/> hops).
/// </summary>
/// <remarks>
/// Two resolutions are computed because servers differ: <see cref="ResolvePhysical"/> applies <c>..</c> after links
/// are followed (what the kernel does with <c>open("a/link/../x")</c>), while lexical resolution applies <c>..</c>
/// first (what Node's <c>path.resolve</c> followed by <c>fs.realpath</c> does, as in <c>server-filesystem</c>).
/// A path is accepted only when both land under an allowed root. Not covered: Windows short (8.3) names and
/// alternate data streams, Unicode normalization differences (macOS NFD), and files that change between this check
/// and the server's access (TOCTOU). Stateless; thread-safe.
/// </remarks>
internal static class FilePathCanonicalizer
{
    public const int MaxLinkHops = 40;

    private static readonly char[] s_separators = OperatingSystem.IsWindows() ? ['\\', '/'] : ['/'];

    public static bool IsCaseInsensitive(PathCaseSensitivity mode) => mode switch
    {
        PathCaseSensitivity.Sensitive => false,
        PathCaseSensitivity.Insensitive => true,
        _ => OperatingSystem.IsWindows() || OperatingSystem.IsMacOS(),
    };

    /// <summary>Canonical form of a configured root directory.</summary>
    public static string CanonicalizeRoot(string root) => ResolvePhysical(Path.GetFullPath(root));

    /// <summary>Both resolutions of an absolute path: physical (OS semantics) and lexical (Node semantics).</summary>
    public static (string Physical, string Lexical) Canonicalize(string absolutePath)
    {
        // Already canonical in form and no link on the way: both resolutions are the path itself (same strings the
        // general walk below would build, without building them).
        if (IsSimpleAbsolute(absolutePath) && UnixLink.TryWalkWithoutLinks(absolutePath))
        {
            return (absolutePath, absolutePath);
        }

        return CanonicalizeByWalk(absolutePath);
    }

    /// <summary><see cref="Canonicalize"/> without the shortcut for simple paths.</summary>
    internal static (string Physical, string Lexical) CanonicalizeByWalk(string absolutePath)
    {
        string physical = ResolvePhysical(absolutePath);
        string full = Path.GetFullPath(absolutePath);

        // No '.'/'..' segments to apply first: both resolutions walk the same components, so resolve only once.
        return (physical, string.Equals(full, absolutePath, StringComparison.Ordinal) ? physical : ResolvePhysical(full));
    }

    /// <summary>Resolves <paramref name="absolutePath"/> component by component, following links as the kernel does.</summary>
    /// <exception cref="IOException">A link loop or more than <see cref="MaxLinkHops"/> links.</exception>
    public static string ResolvePhysical(string absolutePath)
    {
        string root = Path.GetPathRoot(absolutePath) ?? throw new ArgumentException("Path is not rooted.", nameof(absolutePath));
        if (root.Length == 0)
        {
            throw new ArgumentException("Path is not rooted.", nameof(absolutePath));
        }

        var resolved = new List<string>();
        var pending = new LinkedList<string>(absolutePath[root.Length..].Split(s_separators, StringSplitOptions.RemoveEmptyEntries));
        int hops = 0;

        // Index in 'resolved' of the first component that does not exist: nothing below it exists, so nothing there can be a link.
        int missingFrom = -1;
        while (pending.First is { } first)
        {
            string part = first.Value;
            pending.RemoveFirst();
            if (part == ".")
            {
                continue;
            }

            if (part == "..")
            {
                if (resolved.Count > 0)
                {
                    resolved.RemoveAt(resolved.Count - 1);
                }

                if (missingFrom >= 0 && resolved.Count <= missingFrom)
                {
                    missingFrom = -1;
                }

                continue;
            }

            if (missingFrom >= 0)
            {
                resolved.Add(part);
                continue;
            }

            string candidate = Join(root, resolved, part);
            string? target = TryGetLinkTarget(candidate, out bool exists);
            if (target is null)
            {
                if (!exists)
                {
                    missingFrom = resolved.Count;
                }

                resolved.Add(part);
                continue;
            }

            if (++hops > MaxLinkHops)
            {
                throw new IOException($"More than {MaxLinkHops} symbolic links while resolving a path.");
            }

            string[] targetParts = target[(Path.GetPathRoot(target)?.Length ?? 0)..].Split(s_separators, StringSplitOptions.RemoveEmptyEntries);
            if (Path.IsPathRooted(target))
            {
                root = Path.GetPathRoot(target)!;
                resolved.Clear();
            }

            for (int i = targetParts.Length - 1; i >= 0; i--)
            {
                pending.AddFirst(targetParts[i]);
            }
        }

        return Join(root, resolved, null);
    }

    /// <summary>
    /// Whether <paramref name="path"/> is a Unix absolute path already in canonical form: starts with <c>/</c>, no empty,
    /// <c>.</c> or <c>..</c> component, no trailing separator, no NUL, and not the root alone.
    /// </summary>
    internal static bool IsSimpleAbsolute(string path)
    {
        if (OperatingSystem.IsWindows() || path.Length < 2 || path[0] != '/' || path[^1] == '/')
        {
            return false;
        }

        int componentStart = 1;
        for (int i = 1; i <= path.Length; i++)
        {
            char c = i < path.Length ? path[i] : '/';
            if (c == '\0')
            {
                return false;
            }

            if (c != '/')
            {
                continue;
            }

            int length = i - componentStart;
            if (length == 0 || (path[componentStart] == '.' && (length == 1 || (length == 2 && path[componentStart + 1] == '.'))))
            {
                return false;
            }

            componentStart = i + 1;
        }

        return true;
    }

    /// <summary>Whether <paramref name="path"/> equals <paramref name="root"/> or lies beneath it (both canonical).</summary>
    public static bool IsUnder(string path, string root, bool ignoreCase)
    {
        StringComparison comparison = ignoreCase ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        string trimmedRoot = root.Length > 1 ? root.TrimEnd(s_separators) : root;
        if (trimmedRoot.Length == 0 || Path.GetPathRoot(trimmedRoot) == trimmedRoot)
        {
            return path.StartsWith(trimmedRoot, comparison);
        }

        if (path.Length == trimmedRoot.Length)
        {
            return path.Equals(trimmedRoot, comparison);
        }

        return path.Length > trimmedRoot.Length
            && path.StartsWith(trimmedRoot, comparison)
            && Array.IndexOf(s_separators, path[trimmedRoot.Length]) >= 0;
    }

    private static string? TryGetLinkTarget(string path, out bool exists)
    {
        if (UnixLink.TryProbe(path, out exists, out string? unixTarget))
        {
            return unixTarget;
        }

        exists = true;
        try
        {
            // Attributes come from lstat; -1 means the path does not exist (no exception thrown, no readlink needed).
            var info = new FileInfo(path);
            FileAttributes attributes = info.Attributes;
            if ((int)attributes == -1)
            {
                exists = false;
                return null;
            }

            if ((attributes & FileAttributes.ReparsePoint) == 0)
            {
                return null;
            }

            return info.LinkTarget;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static string Join(string root, List<string> parts, string? last)
    {
        char separator = Path.DirectorySeparatorChar;
        int length = root.Length + (last?.Length + 1 ?? 0);
        foreach (string p in parts)
        {
            length += p.Length + 1;
        }

        var sb = new System.Text.StringBuilder(length).Append(root);
        bool needsSeparator = root.Length > 0 && root[^1] != separator && root[^1] != '/';
        foreach (string p in parts)
        {
            if (needsSeparator)
            {
                sb.Append(separator);
            }

            sb.Append(p);
            needsSeparator = true;
        }

        if (last is not null)
        {
            if (needsSeparator)
            {
                sb.Append(separator);
            }

            sb.Append(last);
        }

        return sb.ToString();
    }
}
