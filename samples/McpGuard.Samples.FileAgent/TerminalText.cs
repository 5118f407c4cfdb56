using System.Globalization;
using System.Text;

namespace McpGuard.Samples.FileAgent;

/// <summary>
/// Makes server-controlled text safe to print on a terminal. A tool description, a result or even a file name can
/// carry ANSI escape sequences (recolour, move the cursor, hide text), bidirectional overrides or zero-width
/// characters that make an approval prompt say something other than what the server sent. Such characters are shown
/// as visible <c>\u{XXXX}</c> escapes instead, so the person approving sees them.
/// </summary>
internal static class TerminalText
{
    /// <summary>Returns <paramref name="text"/> with every control, format and separator character made visible.</summary>
    /// <param name="text">Untrusted text.</param>
    /// <param name="keepNewLines">Keep <c>\n</c> as a line break (multi-line descriptions, file contents).</param>
    public static string Safe(string? text, bool keepNewLines = false)
    {
        if (string.IsNullOrEmpty(text))
        {
            return string.Empty;
        }

        if (keepNewLines)
        {
            text = text.Replace("\r\n", "\n", StringComparison.Ordinal);
        }

        var sb = new StringBuilder(text.Length);
        foreach (Rune rune in text.EnumerateRunes())
        {
            if (rune.Value == '\n' && keepNewLines)
            {
                sb.Append('\n');
                continue;
            }

            if (rune.Value == '\t')
            {
                sb.Append("    ");
                continue;
            }

            UnicodeCategory category = Rune.GetUnicodeCategory(rune);
            bool invisible = category is UnicodeCategory.Control or UnicodeCategory.Format
                or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator
                or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned;
            if (invisible || rune == Rune.ReplacementChar)
            {
                sb.Append(CultureInfo.InvariantCulture, $"\\u{{{rune.Value:X4}}}");
            }
            else
            {
                sb.Append(rune.ToString());
            }
        }

        return sb.ToString();
    }

    /// <summary>Prints a multi-line untrusted text with a prefix on every line, so it cannot pose as the host's own output.</summary>
    public static void WriteBlock(TextWriter output, string prefix, string? text)
    {
        foreach (string line in Safe(text, keepNewLines: true).Split('\n'))
        {
            output.WriteLine(prefix + line);
        }
    }
}
