using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;

namespace McpGuard;

/// <summary>What <see cref="JsonLinesEvidenceVerifier.Verify"/> found in an evidence file.</summary>
/// <param name="Intact">Whether every chained line's <c>prev</c> matches the line before it and every line is a JSON object.</param>
/// <param name="Lines">Lines read (up to the first problem when not intact).</param>
/// <param name="ChainedLines">Of those, lines carrying the chain member (lines written without the chain, e.g. by an
/// older version or with the chain off, may only come before the first chained line).</param>
/// <param name="FirstBadLine">1-based number of the first line that fails, or <see langword="null"/>.</param>
/// <param name="Problem">What is wrong there, or <see langword="null"/>.</param>
/// <param name="Head">The chain value of the last line read (lowercase hex): compare it with a head exported earlier
/// (<see cref="JsonLinesEvidenceSink.ChainHead"/>) to detect lines cut off the end; <see langword="null"/> for an empty file.</param>
public sealed record EvidenceChainReport(bool Intact, long Lines, long ChainedLines, long? FirstBadLine, string? Problem, string? Head);

/// <summary>
/// Checks the hash chain of a JSON Lines evidence file written by <see cref="JsonLinesEvidenceSink"/>: a changed line,
/// a line inserted or removed in the middle, a line from another file, or a wrong key shows as the first line whose
/// <c>prev</c> does not match. Streams the file (memory bounded by the longest line, at most 64 MiB).
/// </summary>
/// <remarks>Hash-chained audit logs: Schneier and Kelsey, "Secure Audit Logs to Support Computer Forensics", ACM TISSEC
/// 2(2), 1999; keyed links are HMAC-SHA256 (RFC 2104, FIPS 180-4). Never throws on what it reads: a line that is not a JSON
/// object is reported as the first bad line.</remarks>
public static class JsonLinesEvidenceVerifier
{
    private const int MaxLineBytes = 64 * 1024 * 1024;

    /// <summary>Verifies <paramref name="path"/>.</summary>
    /// <param name="path">The evidence file.</param>
    /// <param name="chainKey">The sink's HMAC key for a keyed chain (<c>"alg":"hmac-sha256"</c>), else <see langword="null"/>.</param>
    /// <returns>The report; a file that is not a chain (no line carries the member) is intact with <c>ChainedLines = 0</c>.</returns>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static EvidenceChainReport Verify(string path, byte[]? chainKey = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 1);
        var line = new ArrayBufferWriter<byte>(4096);
        byte[] chunk = new byte[64 * 1024];
        byte[] previous = new byte[32];
        using IncrementalHash hash = JsonLinesEvidenceSink.NewHash(chainKey); // the sink's own digest, reused per line
        bool havePrevious = false;
        long lines = 0;
        long chained = 0;
        int read;
        bool pending = false;
        while (true)
        {
            read = file.Read(chunk, 0, chunk.Length);
            if (read <= 0)
            {
                break;
            }

            ReadOnlySpan<byte> rest = chunk.AsSpan(0, read);
            while (!rest.IsEmpty)
            {
                int newline = rest.IndexOf((byte)'\n');
                ReadOnlySpan<byte> piece = newline < 0 ? rest : rest[..newline];
                if (line.WrittenCount + piece.Length > MaxLineBytes)
                {
                    return new EvidenceChainReport(false, lines, chained, lines + 1, $"line {lines + 1} is longer than {MaxLineBytes} bytes", Head());
                }

                line.Write(piece);
                pending = true;
                if (newline < 0)
                {
                    break;
                }

                rest = rest[(newline + 1)..];
                if (Check(line.WrittenSpan) is { } problem)
                {
                    return new EvidenceChainReport(false, lines, chained, lines, problem, Head()); // Check counted the line
                }

                line.ResetWrittenCount();
                pending = false;
            }
        }

        if (pending && line.WrittenCount > 0 && Check(line.WrittenSpan) is { } last)
        {
            return new EvidenceChainReport(false, lines, chained, lines, last, Head());
        }

        return new EvidenceChainReport(true, lines, chained, null, null, Head());

        string? Head() => havePrevious ? Json.JsonCanonicalizer.ToHexLower(previous) : null;

        // Checks one line against the line before it, then makes it the previous line.
        string? Check(ReadOnlySpan<byte> bytes)
        {
            long number = lines + 1;
            (bool isObject, string? alg, string? prev) = ReadChain(bytes);
            string? problem = null;
            if (!isObject)
            {
                problem = $"line {number} is not a valid JSON object (a torn, foreign or altered line)";
            }
            else if (prev is null)
            {
                if (chained > 0)
                {
                    problem = $"line {number} has no chain member after chained lines (inserted, or written by another writer)";
                }
            }
            else
            {
                string expected = havePrevious ? Json.JsonCanonicalizer.ToHexLower(previous) : JsonLinesEvidenceSink.ChainGenesis;
                string wantAlg = chainKey is null ? "sha256" : "hmac-sha256";
                if (!string.Equals(alg, wantAlg, StringComparison.Ordinal))
                {
                    problem = $"line {number} is chained with '{alg}', expected '{wantAlg}' (verify a keyed chain with its key)";
                }
                else if (!string.Equals(prev, expected, StringComparison.Ordinal))
                {
                    problem = number == 1 || !havePrevious
                        ? $"line {number} does not start a chain (its prev is not the genesis value): lines were removed from the start"
                        : $"line {number} does not match line {number - 1}: line {number - 1} was changed, or lines were inserted or removed between them{(chainKey is null ? string.Empty : ", or the key is wrong")}";
                }

                chained++;
            }

            hash.AppendData(bytes);
            hash.GetHashAndReset(previous);

            havePrevious = true;
            lines++;
            return problem;
        }
    }

    /// <summary>Whether the line is a JSON object, and its top-level <c>chain.alg</c> and <c>chain.prev</c>.</summary>
    private static (bool IsObject, string? Alg, string? Prev) ReadChain(ReadOnlySpan<byte> bytes)
    {
        try
        {
            var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { MaxDepth = 256 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return (false, null, null);
            }

            string? alg = null;
            string? prev = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isChain = reader.ValueTextEquals("chain"u8);
                reader.Read();
                if (isChain && reader.TokenType == JsonTokenType.StartObject)
                {
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        string name = reader.GetString()!;
                        reader.Read();
                        if (reader.TokenType == JsonTokenType.String)
                        {
                            if (name == "alg")
                            {
                                alg = reader.GetString();
                            }
                            else if (name == "prev")
                            {
                                prev = reader.GetString();
                            }
                        }
                        else
                        {
                            reader.Skip();
                        }
                    }
                }
                else
                {
                    reader.Skip();
                }
            }

            return reader.TokenType == JsonTokenType.EndObject && !reader.Read() ? (true, alg, prev) : (false, null, null);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // Malformed JSON, or invalid UTF-8 in a string (which the reader reports when the string is read).
            return (false, null, null);
        }
    }
}
