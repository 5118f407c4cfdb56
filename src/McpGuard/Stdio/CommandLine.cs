namespace McpGuard.Stdio;

/// <summary>Renders an executable and its arguments as one line for evidence and inventory (POSIX-shell-like quoting, for reading, not for executing).</summary>
internal static class CommandLine
{
    private static readonly System.Buffers.SearchValues<char> s_needsQuoting = System.Buffers.SearchValues.Create(" \t\r\n\"'\\$`");

    public static string Format(string command, IEnumerable<string> arguments) =>
        string.Join(' ', new[] { command }.Concat(arguments).Select(Quote));

    private static string Quote(string s) =>
        s.Length > 0 && s.AsSpan().IndexOfAny(s_needsQuoting) < 0
            ? s
            : "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)
                      .Replace("$", "\\$", StringComparison.Ordinal).Replace("`", "\\`", StringComparison.Ordinal)
                      .Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal) + "\"";
}
