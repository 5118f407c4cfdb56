namespace McpGuard;

/// <summary>
/// How to launch a local MCP server over stdio (MCP spec, "Transports / stdio") with a scrubbed environment: the child
/// gets only a minimal baseline (<see cref="BaselineVariables"/>), the variables granted by name, and explicit values.
/// Secrets in the host's environment (<c>*_TOKEN</c>, <c>AWS_*</c>, ...) never reach it unless granted.
/// </summary>
public sealed class StdioLaunchOptions
{
    /// <summary>The variables every child gets from the host when set: <c>PATH</c>, locale and time zone, temp directory, and on Windows the system variables a process needs to start.</summary>
    public static IReadOnlyList<string> BaselineVariables { get; } =
        ["PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "TEMP", "TMP", "SystemRoot", "windir", "ComSpec", "PATHEXT", "SystemDrive"];

    /// <summary>The executable, e.g. <c>node</c> or an absolute path. Required.</summary>
    public string Command { get; set; } = string.Empty;

    /// <summary>Arguments, passed as-is (no shell).</summary>
    public List<string> Arguments { get; } = [];

    /// <summary>Working directory of the child; <see langword="null"/>: the host's current directory.</summary>
    public string? WorkingDirectory { get; set; }

    /// <summary>Names of host environment variables passed through to the child (exact, case-sensitive), beyond the baseline.</summary>
    public List<string> GrantedVariables { get; } = [];

    /// <summary>Explicit variables for the child; these override inherited values.</summary>
    public Dictionary<string, string> Environment { get; } = new(StringComparer.Ordinal);

    /// <summary>The exact command line, for evidence and inventory (arguments with spaces or quotes are quoted).</summary>
    /// <returns>The command line.</returns>
    public string ToCommandLine()
    {
        return string.Join(' ', new[] { Command }.Concat(Arguments).Select(Quote));

        static string Quote(string s) =>
            s.Length > 0 && s.AsSpan().IndexOfAny(" \t\"'\\") < 0 ? s : "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
    }

    /// <summary>Builds the child's complete environment from <paramref name="parent"/>.</summary>
    /// <param name="parent">The host's environment (name → value).</param>
    /// <returns>The scrubbed environment.</returns>
    public Dictionary<string, string?> BuildEnvironment(System.Collections.IDictionary parent)
    {
        ArgumentNullException.ThrowIfNull(parent);
        var result = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (string name in BaselineVariables.Concat(GrantedVariables))
        {
            if (parent[name] is string value)
            {
                result[name] = value;
            }
        }

        foreach (KeyValuePair<string, string> pair in Environment)
        {
            result[pair.Key] = pair.Value;
        }

        return result;
    }
}
