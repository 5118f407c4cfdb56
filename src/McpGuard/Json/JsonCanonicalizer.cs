using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace McpGuard.Json;

/// <summary>
/// Writes JSON in the RFC 8785 JSON Canonicalization Scheme (JCS): object members sorted by UTF-16 code units,
/// no insignificant whitespace, ECMAScript number formatting, minimal string escaping.
/// </summary>
/// <remarks>
/// Deviation, for hostile input only: a lone surrogate (invalid in I-JSON) is written as a <c>\uXXXX</c> escape
/// instead of being rejected, so the output stays deterministic and injective. Nesting deeper than
/// <see cref="MaxDepth"/> throws <see cref="JsonException"/>. Stateless and thread-safe.
/// </remarks>
internal static class JsonCanonicalizer
{
    public const int MaxDepth = 128;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    private static readonly byte[] s_null = "null"u8.ToArray();
    private static readonly byte[] s_true = "true"u8.ToArray();
    private static readonly byte[] s_false = "false"u8.ToArray();

    /// <summary>Returns the canonical UTF-8 bytes of <paramref name="node"/>.</summary>
    /// <remarks>An object or array still backed by the bytes it was parsed from (one nobody has read or changed, as the
    /// SDK hands a request's <c>arguments</c> over) is written from its <see cref="JsonElement"/>, so it stays unread:
    /// reading it through the node API would build its members, and whoever serializes it next would write them one by
    /// one instead of copying its bytes.</remarks>
    /// <exception cref="JsonException">Nesting deeper than <see cref="MaxDepth"/>, a number out of range, or an object
    /// with a repeated member name.</exception>
    public static byte[] ToCanonicalBytes(JsonNode? node)
    {
        ArrayBufferWriter<byte> buffer = RentBuffer();
        Write(buffer, node, 0);
        return ReturnBuffer(buffer);
    }

    /// <summary>Returns the canonical UTF-8 bytes of <paramref name="element"/>.</summary>
    /// <exception cref="JsonException">Nesting deeper than <see cref="MaxDepth"/>, a number out of range, or an object
    /// with a repeated member name.</exception>
    public static byte[] ToCanonicalBytes(JsonElement element)
    {
        ArrayBufferWriter<byte> buffer = RentBuffer();
        WriteElement(buffer, element, 0);
        return ReturnBuffer(buffer);
    }

    /// <summary>This thread's scratch buffer (taken, so a nested or failed use starts with a fresh one).</summary>
    private static ArrayBufferWriter<byte> RentBuffer()
    {
        ArrayBufferWriter<byte>? buffer = t_buffer;
        t_buffer = null;
        if (buffer is null)
        {
            return new ArrayBufferWriter<byte>(256);
        }

        buffer.ResetWrittenCount();
        return buffer;
    }

    /// <summary>Copies out the written bytes and keeps the buffer for this thread unless it grew past 64 KiB.</summary>
    private static byte[] ReturnBuffer(ArrayBufferWriter<byte> buffer)
    {
        byte[] bytes = buffer.WrittenSpan.ToArray();
        if (buffer.Capacity <= 64 * 1024)
        {
            t_buffer = buffer;
        }

        return bytes;
    }

    private static void WriteElement(IBufferWriter<byte> output, JsonElement element, int depth)
    {
        if (depth > MaxDepth)
        {
            throw new JsonException($"JSON nesting exceeds {MaxDepth} levels.");
        }

        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                WriteElementObject(output, element, depth);
                break;
            case JsonValueKind.Array:
                output.Write("["u8);
                bool first = true;
                foreach (JsonElement item in element.EnumerateArray())
                {
                    if (!first)
                    {
                        output.Write(","u8);
                    }

                    first = false;
                    WriteElement(output, item, depth + 1);
                }

                output.Write("]"u8);
                break;
            case JsonValueKind.String:
                WriteElementString(output, element);
                break;
            case JsonValueKind.Number:
                WriteAscii(output, FormatNumber(element));
                break;
            case JsonValueKind.True:
                output.Write(s_true);
                break;
            case JsonValueKind.False:
                output.Write(s_false);
                break;
            default:
                output.Write(s_null);
                break;
        }
    }

    /// <summary>Writes a string element. Its raw bytes are already canonical when they hold no escape: the reader
    /// validated them as UTF-8, and JSON text cannot carry a raw quote or control character.</summary>
    private static void WriteElementString(IBufferWriter<byte> output, JsonElement element)
    {
#if NET9_0_OR_GREATER
        ReadOnlySpan<byte> raw = System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(element); // with its quotes
        if (!raw.Contains((byte)'\\'))
        {
            output.Write(raw);
            return;
        }
#endif
        WriteString(output, element.GetString()!);
    }

    private static void WriteElementObject(IBufferWriter<byte> output, JsonElement obj, int depth)
    {
        output.Write("{"u8);
        int count = obj.GetPropertyCount();
        if (count == 1)
        {
            // Nothing to sort or compare.
            foreach (JsonProperty member in obj.EnumerateObject())
            {
#if NET9_0_OR_GREATER
                ReadOnlySpan<byte> name = System.Runtime.InteropServices.JsonMarshal.GetRawUtf8PropertyName(member); // without quotes
                if (!name.Contains((byte)'\\'))
                {
                    output.Write("\""u8);
                    output.Write(name);
                    output.Write("\""u8);
                }
                else
#endif
                {
                    WriteString(output, member.Name);
                }

                output.Write(":"u8);
                WriteElement(output, member.Value, depth + 1);
            }
        }
        else if (count > 0)
        {
            var members = ArrayPool<KeyValuePair<string, JsonElement>>.Shared.Rent(count);
            try
            {
                int n = 0;
                foreach (JsonProperty member in obj.EnumerateObject())
                {
                    members[n++] = new(member.Name, member.Value);
                }

                Array.Sort(members, 0, n, ElementMemberComparer.Instance);
                for (int i = 0; i < n; i++)
                {
                    if (i > 0)
                    {
                        // A repeated name is a parser differential (which one does the server use?): refuse, as JsonObject does.
                        if (string.Equals(members[i - 1].Key, members[i].Key, StringComparison.Ordinal))
                        {
                            throw new JsonException("An object repeats a member name.");
                        }

                        output.Write(","u8);
                    }

                    WriteString(output, members[i].Key);
                    output.Write(":"u8);
                    WriteElement(output, members[i].Value, depth + 1);
                }
            }
            finally
            {
                ArrayPool<KeyValuePair<string, JsonElement>>.Shared.Return(members, clearArray: true);
            }
        }

        output.Write("}"u8);
    }

    /// <summary>Writes the canonical form of <paramref name="node"/> to <paramref name="output"/>.</summary>
    public static void Write(IBufferWriter<byte> output, JsonNode? node) => Write(output, node, 0);

    /// <summary>Lower-case hex SHA-256 of the canonical form of <paramref name="node"/>.</summary>
    public static string Sha256Hex(JsonNode? node)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        Write(buffer, node, 0);
        return Sha256Hex(buffer.WrittenSpan);
    }

    /// <summary>Lower-case hex SHA-256 of <paramref name="data"/>: 64 characters.</summary>
    public static string Sha256Hex(ReadOnlySpan<byte> data)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(data, hash);
        return ToHexLower(hash);
    }

    public static string ToHexLower(ReadOnlySpan<byte> bytes)
    {
#if NET9_0_OR_GREATER
        return Convert.ToHexStringLower(bytes);
#else
        return Convert.ToHexString(bytes).ToLowerInvariant();
#endif
    }

    private static void Write(IBufferWriter<byte> output, JsonNode? node, int depth)
    {
        if (depth > MaxDepth)
        {
            throw new JsonException($"JSON nesting exceeds {MaxDepth} levels.");
        }

        switch (node)
        {
            case null:
                output.Write(s_null);
                break;
            case JsonObject or JsonArray when JsonRawBytes.TryGetElement(node, out JsonElement element):
                WriteElement(output, element, depth); // unread: write its bytes' values, leave it unread (see ToCanonicalBytes)
                break;
            case JsonObject obj:
                WriteObject(output, obj, depth);
                break;
            case JsonArray array:
                output.Write("["u8);
                for (int i = 0; i < array.Count; i++)
                {
                    if (i > 0)
                    {
                        output.Write(","u8);
                    }

                    Write(output, array[i], depth + 1);
                }

                output.Write("]"u8);
                break;
            case JsonValue value:
                WriteValue(output, value);
                break;
        }
    }

    private static void WriteObject(IBufferWriter<byte> output, JsonObject obj, int depth)
    {
        output.Write("{"u8);
        int count = obj.Count;
        if (count > 0)
        {
            var members = ArrayPool<KeyValuePair<string, JsonNode?>>.Shared.Rent(count);
            try
            {
                int n = 0;
                foreach (KeyValuePair<string, JsonNode?> member in obj)
                {
                    members[n++] = member;
                }

                Array.Sort(members, 0, n, MemberComparer.Instance);
                for (int i = 0; i < n; i++)
                {
                    if (i > 0)
                    {
                        output.Write(","u8);
                    }

                    WriteString(output, members[i].Key);
                    output.Write(":"u8);
                    Write(output, members[i].Value, depth + 1);
                }
            }
            finally
            {
                ArrayPool<KeyValuePair<string, JsonNode?>>.Shared.Return(members, clearArray: true);
            }
        }

        output.Write("}"u8);
    }

    private static void WriteValue(IBufferWriter<byte> output, JsonValue value)
    {
        switch (value.GetValueKind())
        {
            case JsonValueKind.String:
                WriteString(output, value.GetValue<string>());
                break;
            case JsonValueKind.Number:
                WriteAscii(output, FormatNumber(value));
                break;
            case JsonValueKind.True:
                output.Write(s_true);
                break;
            case JsonValueKind.False:
                output.Write(s_false);
                break;
            default:
                output.Write(s_null);
                break;
        }
    }

    private static string FormatNumber(JsonValue value)
    {
        if (value.TryGetValue(out JsonElement element))
        {
            return FormatNumber(element);
        }

        if (value.TryGetValue(out double dbl))
        {
            return FormatDouble(dbl);
        }

        if (value.TryGetValue(out long l))
        {
            return FormatDouble(l);
        }

        if (value.TryGetValue(out decimal m))
        {
            return FormatDouble((double)m);
        }

        // Any other CLR number: round-trip through its JSON text.
        double parsed = double.Parse(value.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture);
        return FormatDouble(parsed);
    }

    private static string FormatNumber(JsonElement element) =>
        JsonNumbers.TryGetFiniteDouble(element, out double d) ? FormatDouble(d) : throw new JsonException("Number out of range."); // not TryGetDouble: see JsonNumbers

    /// <summary>Formats a double as ECMAScript's Number.prototype.toString does (ECMA-262 §6.1.6.1.20), as RFC 8785 §3.2.2.3 requires.</summary>
    internal static string FormatDouble(double value)
    {
        if (double.IsNaN(value) || double.IsInfinity(value))
        {
            throw new JsonException("NaN and Infinity are not valid JSON numbers.");
        }

        if (value == 0)
        {
            return "0";
        }

        string r = value.ToString("R", CultureInfo.InvariantCulture);
        bool negative = r[0] == '-';
        if (negative)
        {
            r = r[1..];
        }

        int exponent = 0;
        int e = r.IndexOfAny(['E', 'e']);
        if (e >= 0)
        {
            exponent = int.Parse(r.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            r = r[..e];
        }

        int dot = r.IndexOf('.', StringComparison.Ordinal);
        string intPart = dot >= 0 ? r[..dot] : r;
        string fracPart = dot >= 0 ? r[(dot + 1)..] : string.Empty;
        string digits = intPart + fracPart;
        int point = intPart.Length;
        int lead = 0;
        while (lead < digits.Length - 1 && digits[lead] == '0')
        {
            lead++;
        }

        digits = digits[lead..];
        point -= lead;
        digits = digits.TrimEnd('0');
        if (digits.Length == 0)
        {
            return "0";
        }

        int k = digits.Length;
        int n = point + exponent;
        var sb = new StringBuilder(k + 8);
        if (negative)
        {
            sb.Append('-');
        }

        if (k <= n && n <= 21)
        {
            sb.Append(digits).Append('0', n - k);
        }
        else if (0 < n && n <= 21)
        {
            sb.Append(digits, 0, n).Append('.').Append(digits, n, k - n);
        }
        else if (-6 < n && n <= 0)
        {
            sb.Append("0.").Append('0', -n).Append(digits);
        }
        else
        {
            int exp = n - 1;
            sb.Append(digits[0]);
            if (k > 1)
            {
                sb.Append('.').Append(digits, 1, k - 1);
            }

            sb.Append('e').Append(exp < 0 ? '-' : '+').Append(Math.Abs(exp).ToString(CultureInfo.InvariantCulture));
        }

        return sb.ToString();
    }

    private static void WriteAscii(IBufferWriter<byte> output, string ascii)
    {
        Span<byte> span = output.GetSpan(ascii.Length);
        for (int i = 0; i < ascii.Length; i++)
        {
            span[i] = (byte)ascii[i];
        }

        output.Advance(ascii.Length);
    }

    internal static void WriteString(IBufferWriter<byte> output, string value)
    {
        output.Write("\""u8);
        int runStart = 0;
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            bool escape = c < 0x20 || c == '"' || c == '\\';
            bool loneSurrogate = false;
            if (char.IsHighSurrogate(c))
            {
                if (i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
                {
                    i++;
                    continue;
                }

                loneSurrogate = true;
            }
            else if (char.IsLowSurrogate(c))
            {
                loneSurrogate = true;
            }

            if (!escape && !loneSurrogate)
            {
                continue;
            }

            WriteUtf8(output, value.AsSpan(runStart, i - runStart));
            runStart = i + 1;
            switch (c)
            {
                case '"': output.Write("\\\""u8); break;
                case '\\': output.Write("\\\\"u8); break;
                case '\b': output.Write("\\b"u8); break;
                case '\t': output.Write("\\t"u8); break;
                case '\n': output.Write("\\n"u8); break;
                case '\f': output.Write("\\f"u8); break;
                case '\r': output.Write("\\r"u8); break;
                default:
                    WriteAscii(output, "\\u" + ((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    break;
            }
        }

        WriteUtf8(output, value.AsSpan(runStart));
        output.Write("\""u8);
    }

    private static void WriteUtf8(IBufferWriter<byte> output, ReadOnlySpan<char> chars)
    {
        if (chars.IsEmpty)
        {
            return;
        }

        int max = Encoding.UTF8.GetMaxByteCount(chars.Length);
        Span<byte> span = output.GetSpan(max);
        int written = Encoding.UTF8.GetBytes(chars, span);
        output.Advance(written);
    }

    private sealed class ElementMemberComparer : IComparer<KeyValuePair<string, JsonElement>>
    {
        public static readonly ElementMemberComparer Instance = new();

        public int Compare(KeyValuePair<string, JsonElement> x, KeyValuePair<string, JsonElement> y) =>
            string.CompareOrdinal(x.Key, y.Key);
    }

    private sealed class MemberComparer : IComparer<KeyValuePair<string, JsonNode?>>
    {
        public static readonly MemberComparer Instance = new();

        public int Compare(KeyValuePair<string, JsonNode?> x, KeyValuePair<string, JsonNode?> y) =>
            string.CompareOrdinal(x.Key, y.Key);
    }
}
