using System.Globalization;
using System.Text;

namespace McpGuard.Isolation;

/// <summary>
/// Confusable skeletons for tool names, after UTS #39 ("Unicode Security Mechanisms", section 4 "Confusable
/// Detection"): NFKD, drop combining marks, map a small built-in table of look-alike letters (Cyrillic, Greek,
/// fullwidth, digits that look like letters) to ASCII, lower case, treat '-' like '_'. Two names with the same skeleton
/// look alike. The table is a subset of confusables.txt covering Latin look-alikes; it is not the whole standard.
/// </summary>
internal static class ToolNameConfusables
{
    private static readonly Dictionary<char, char> s_map = Build();

    /// <summary>Well-known tool names no server may imitate.</summary>
    public static readonly string[] WellKnown =
    [
        "read_file", "write_file", "edit_file", "list_directory", "search_files", "move_file", "delete_file",
        "execute_command", "run_command", "run_shell", "shell", "bash", "run_terminal_cmd", "terminal",
        "fetch", "web_search", "browse", "http_request", "send_email", "send_message", "post_message",
        "create_issue", "create_pull_request", "get_file_contents", "push_files", "git_commit", "git_push",
        "query", "sql_query", "execute_sql", "deploy", "transfer_funds", "get_secret", "read_secret",
    ];

    public static string Skeleton(string name)
    {
        string decomposed = name.Normalize(NormalizationForm.FormKD);
        var sb = new StringBuilder(decomposed.Length);
        foreach (char c in decomposed)
        {
            UnicodeCategory category = CharUnicodeInfo.GetUnicodeCategory(c);
            if (category is UnicodeCategory.NonSpacingMark or UnicodeCategory.Format or UnicodeCategory.EnclosingMark)
            {
                continue;
            }

            char mapped = s_map.TryGetValue(c, out char m) ? m : char.ToLowerInvariant(c);
            sb.Append(mapped == '-' ? '_' : mapped);
        }

        // "rn" looks like "m", "vv" like "w" (UTS #39 multi-character prototypes).
        return sb.Replace("rn", "m").Replace("vv", "w").ToString();
    }

    private static Dictionary<char, char> Build()
    {
        var map = new Dictionary<char, char>
        {
            // Cyrillic
            ['а'] = 'a', ['в'] = 'b', ['е'] = 'e', ['ё'] = 'e', ['к'] = 'k', ['м'] = 'm', ['н'] = 'h', ['о'] = 'o', ['р'] = 'p', ['с'] = 'c',
            ['т'] = 't', ['у'] = 'y', ['х'] = 'x', ['ѕ'] = 's', ['і'] = 'l', ['ї'] = 'l', ['ј'] = 'j', ['ԁ'] = 'd', ['ԛ'] = 'q', ['ԝ'] = 'w',
            ['ɡ'] = 'g', ['һ'] = 'h', ['ӏ'] = 'l', ['ь'] = 'b',
            ['А'] = 'a', ['В'] = 'b', ['Е'] = 'e', ['К'] = 'k', ['М'] = 'm', ['Н'] = 'h', ['О'] = 'o', ['Р'] = 'p', ['С'] = 'c', ['Т'] = 't',
            ['У'] = 'y', ['Х'] = 'x', ['Ѕ'] = 's', ['І'] = 'l', ['Ј'] = 'j',
            // Greek
            ['α'] = 'a', ['β'] = 'b', ['ε'] = 'e', ['ι'] = 'l', ['κ'] = 'k', ['ν'] = 'v', ['ο'] = 'o', ['ρ'] = 'p', ['τ'] = 't', ['υ'] = 'u',
            ['χ'] = 'x', ['Α'] = 'a', ['Β'] = 'b', ['Ε'] = 'e', ['Η'] = 'h', ['Ι'] = 'l', ['Κ'] = 'k', ['Μ'] = 'm', ['Ν'] = 'n', ['Ο'] = 'o',
            ['Ρ'] = 'p', ['Τ'] = 't', ['Υ'] = 'y', ['Χ'] = 'x', ['Ζ'] = 'z',
            // Latin look-alikes
            ['ı'] = 'l', ['ȷ'] = 'j', ['ℓ'] = 'l', ['ǀ'] = 'l', ['‐'] = '_', ['‑'] = '_', ['–'] = '_', ['—'] = '_', ['﹘'] = '_', ['＿'] = '_',
            // Digits and letters that look alike
            ['0'] = 'o', ['1'] = 'l', ['i'] = 'l', ['I'] = 'l', ['|'] = 'l', ['5'] = 's',
        };
        return map;
    }
}
