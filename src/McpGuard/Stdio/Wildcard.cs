namespace McpGuard.Stdio;

/// <summary>Glob matching of environment variable names: <c>*</c> matches any run of characters (also none); everything else matches itself.</summary>
internal static class Wildcard
{
    public static bool IsPattern(string text) => text.Contains('*', StringComparison.Ordinal);

    /// <summary>Linear-time match (greedy with one backtrack point per star), no regular expressions.</summary>
    public static bool IsMatch(string pattern, string text, bool ignoreCase)
    {
        int p = 0, t = 0, star = -1, mark = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length && pattern[p] != '*' && Same(pattern[p], text[t], ignoreCase))
            {
                p++;
                t++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                mark = t;
            }
            else if (star >= 0)
            {
                p = star + 1;
                t = ++mark;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }

    private static bool Same(char a, char b, bool ignoreCase) =>
        a == b || (ignoreCase && char.ToUpperInvariant(a) == char.ToUpperInvariant(b));
}
