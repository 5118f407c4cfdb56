using System.Text;
using System.Text.Json;

namespace McpGuard.Json;

/// <summary>
/// Decodes a JSON string token (RFC 8259 §7, quotes included, already validated by the parser) into UTF-16 characters
/// without making a string.
/// </summary>
/// <remarks>ASCII text with the short escapes (<c>\n</c>, <c>\t</c>, <c>\"</c>, ...) is widened run by run with vectorized
/// copies; anything else (non-ASCII bytes, <c>\uXXXX</c>) goes through <see cref="Utf8JsonReader.CopyString(Span{char})"/>,
/// whose general unescaping was 60–130 µs for 64 KB of line-structured text here.</remarks>
internal static class JsonStringChars
{
    /// <summary>Writes the decoded characters of <paramref name="token"/> to <paramref name="destination"/>.</summary>
    /// <param name="token">One JSON string token with its quotes, as <c>JsonMarshal.GetRawUtf8Value</c> returns it.</param>
    /// <param name="destination">At least <c>token.Length - 2</c> characters long.</param>
    /// <returns>The number of characters written.</returns>
    public static int Copy(ReadOnlySpan<byte> token, Span<char> destination)
    {
        ReadOnlySpan<byte> body = token[1..^1];
        if (Ascii.IsValid(body))
        {
            int written = 0;
            while (true)
            {
                int slash = body.IndexOf((byte)'\\');
                ReadOnlySpan<byte> run = slash < 0 ? body : body[..slash];
                Ascii.ToUtf16(run, destination[written..], out int widened);
                written += widened;
                if (slash < 0)
                {
                    return written;
                }

                char escaped = slash + 1 < body.Length ? Unescape(body[slash + 1]) : '\0';
                if (escaped == '\0')
                {
                    break; // \uXXXX: the general path
                }

                destination[written++] = escaped;
                body = body[(slash + 2)..];
            }
        }

        var reader = new Utf8JsonReader(token);
        reader.Read();
        return reader.CopyString(destination);
    }

    private static char Unescape(byte b) => b switch
    {
        (byte)'n' => '\n',
        (byte)'t' => '\t',
        (byte)'r' => '\r',
        (byte)'"' => '"',
        (byte)'\\' => '\\',
        (byte)'/' => '/',
        (byte)'b' => '\b',
        (byte)'f' => '\f',
        _ => '\0',
    };
}
