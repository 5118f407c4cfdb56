using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;

namespace McpGuard;

/// <summary>
/// Appends each <see cref="GuardEvidence"/> as one compact JSON object per line (JSON Lines) to a file opened in
/// append mode. Existing content is never rewritten. By default the lines form a hash chain, so a changed, inserted or
/// removed line is detected afterwards (<see cref="JsonLinesEvidenceVerifier"/>).
/// </summary>
/// <remarks>
/// <para>Hash chain: each line ends with the member <c>"chain":{"alg":"sha256","prev":"&lt;hex&gt;"}</c>, where
/// <c>prev</c> is the SHA-256 of the previous line's bytes (without its newline), or 64 zeros on the first line of a new
/// file. With a <c>chainKey</c> it is the HMAC-SHA256 (RFC 2104) of those bytes under that key (<c>"alg":"hmac-sha256"</c>),
/// so someone who can rewrite the file but does not hold the key cannot recompute the chain after a change. Appending to
/// an existing file continues from its last line (a line cut short by a crash is ended with a newline first and stays
/// a line of its own). The chain cannot show that lines were cut off the end: export <see cref="ChainHead"/> from time to
/// time to another place (a log server, a ticket), and compare. The approach is that of secure audit logs (Schneier and
/// Kelsey, "Secure Audit Logs to Support Computer Forensics", ACM TISSEC 1999), without their key evolution.</para>
/// <para>Thread-safe: writes are serialized. Each event is flushed to the operating system before
/// <see cref="WriteAsync"/> completes; set <c>durable</c> to also flush to disk (fsync), at a higher cost per event.
/// The file is opened on first write with <see cref="FileShare.Read"/>, so readers can tail it.</para>
/// </remarks>
public sealed class JsonLinesEvidenceSink : IGuardEvidenceSink, IAsyncDisposable, IDisposable
{
    /// <summary>The <c>prev</c> value of the first line of a new file: 64 zeros.</summary>
    public const string ChainGenesis = "0000000000000000000000000000000000000000000000000000000000000000";

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly bool _durable;
    private readonly bool _hashChain;
    private readonly byte[]? _chainKey;
    private readonly ArrayBufferWriter<byte> _buffer = new(1024);
    private readonly ArrayBufferWriter<byte> _serialized = new(1024); // the event as serialized, before the chain member
    private readonly byte[] _prev = new byte[32];
    private bool _hasHead;
    private IncrementalHash? _hash;
    private FileStream? _stream;
    private bool _disposed;

    /// <summary>Creates a sink for <paramref name="path"/>; the directory is created if missing.</summary>
    /// <param name="path">File path; relative paths resolve against the current directory.</param>
    /// <param name="durable">Whether to fsync after each event.</param>
    /// <param name="hashChain">Whether each line carries the hash chain member (default <see langword="true"/>).</param>
    /// <param name="chainKey">An HMAC-SHA256 key of at least 32 bytes for a keyed chain, or <see langword="null"/> for plain
    /// SHA-256. Keep it outside the evidence file's reach (the sink copies it).</param>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty; <paramref name="chainKey"/> is shorter than
    /// 32 bytes or given with <paramref name="hashChain"/> off.</exception>
    public JsonLinesEvidenceSink(string path, bool durable = false, bool hashChain = true, byte[]? chainKey = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (chainKey is not null && (!hashChain || chainKey.Length < 32))
        {
            throw new ArgumentException("A chain key needs hashChain on and at least 32 bytes (HMAC-SHA256, RFC 2104).", nameof(chainKey));
        }

        Path = System.IO.Path.GetFullPath(path);
        _durable = durable;
        _hashChain = hashChain;
        _chainKey = chainKey?.ToArray();
    }

    /// <summary>The absolute path of the evidence file.</summary>
    public string Path { get; }

    /// <summary>
    /// The chain value of the last line written (lowercase hex, what the next line's <c>prev</c> will hold), or
    /// <see langword="null"/> before the first write or with the chain off. Export it from time to time: a file whose
    /// last line no longer hashes to an exported head has lost lines at its end.
    /// </summary>
    public string? ChainHead
    {
        get
        {
            _gate.Wait();
            try
            {
                return _hasHead ? Json.JsonCanonicalizer.ToHexLower(_prev) : null;
            }
            finally
            {
                _gate.Release();
            }
        }
    }

    /// <inheritdoc />
    /// <exception cref="ObjectDisposedException">The sink was disposed.</exception>
    /// <exception cref="IOException">The file cannot be opened or written.</exception>
    public async ValueTask WriteAsync(GuardEvidence evidence, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(evidence);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_stream is null)
            {
                Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
                var stream = new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.Read, bufferSize: 0, FileOptions.None);
                try
                {
                    if (_hashChain)
                    {
                        ContinueChain(stream);
                    }
                }
                catch
                {
                    stream.Dispose();
                    throw;
                }

                _stream = stream;
            }

            _serialized.ResetWrittenCount();
            using (var writer = new Utf8JsonWriter(_serialized))
            {
                JsonSerializer.Serialize(writer, evidence, EvidenceJsonContext.Default.GuardEvidence);
            }

            _buffer.ResetWrittenCount();
            if (_hashChain)
            {
                WriteChained(_serialized.WrittenSpan);
            }
            else
            {
                _buffer.Write(_serialized.WrittenSpan);
            }

            _buffer.Write("\n"u8);

            // One synchronous write per event (the line with its newline, so a crash cannot split them): appending to the
            // page cache is cheaper than an async file write.
            _stream.Write(_buffer.WrittenSpan);
            if (_durable)
            {
                _stream.Flush(flushToDisk: true);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Writes the serialized event (one JSON object) to the line buffer with the chain member as its last member,
    /// and advances the chain to the completed line.</summary>
    private void WriteChained(ReadOnlySpan<byte> serialized)
    {
        _buffer.Write(serialized[..^1]); // without the object's closing brace
        _buffer.Write(_chainKey is null ? ",\"chain\":{\"alg\":\"sha256\",\"prev\":\""u8 : ",\"chain\":{\"alg\":\"hmac-sha256\",\"prev\":\""u8);
        _buffer.Advance(Hex(_prev, _buffer.GetSpan(64)));
        _buffer.Write("\"}}"u8);
        Digest(_buffer.WrittenSpan, _prev);
        _hasHead = true;
    }

    /// <summary>Sets the chain to the file's last line (its bytes as stored), ending a torn last line with a newline first.</summary>
    private void ContinueChain(FileStream stream)
    {
        using var read = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 1);
        long end = read.Length;
        if (end == 0)
        {
            Array.Clear(_prev);
            return;
        }

        byte[] one = new byte[1];
        read.Position = end - 1;
        bool torn = read.Read(one, 0, 1) == 1 && one[0] != (byte)'\n';
        long lineEnd = torn ? end : end - 1;
        long lineStart = LastLineStart(read, lineEnd);
        read.Position = lineStart;
        using IncrementalHash hash = NewHash(_chainKey);
        byte[] chunk = new byte[64 * 1024];
        long remaining = lineEnd - lineStart;
        while (remaining > 0)
        {
            int n = read.Read(chunk, 0, (int)Math.Min(chunk.Length, remaining));
            if (n <= 0)
            {
                throw new IOException("The evidence file changed while its last line was read.");
            }

            hash.AppendData(chunk, 0, n);
            remaining -= n;
        }

        hash.GetHashAndReset(_prev);
        _hasHead = true;
        if (torn)
        {
            stream.Write("\n"u8);
        }
    }

    /// <summary>The offset just after the last newline before <paramref name="lineEnd"/>, or 0.</summary>
    private static long LastLineStart(FileStream read, long lineEnd)
    {
        byte[] chunk = new byte[64 * 1024];
        long position = lineEnd;
        while (position > 0)
        {
            int size = (int)Math.Min(chunk.Length, position);
            position -= size;
            read.Position = position;
            read.ReadExactly(chunk, 0, size);
            int newline = chunk.AsSpan(0, size).LastIndexOf((byte)'\n');
            if (newline >= 0)
            {
                return position + newline + 1;
            }
        }

        return 0;
    }

    /// <summary>The chain digest of one line, with the sink's reused hash (under the write gate; HMAC keeps its key across resets).</summary>
    private void Digest(ReadOnlySpan<byte> line, Span<byte> destination)
    {
        _hash ??= NewHash(_chainKey);
        _hash.AppendData(line);
        _hash.GetHashAndReset(destination);
    }

    internal static IncrementalHash NewHash(byte[]? key) =>
        key is null ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key);

    /// <summary>Lowercase hex of <paramref name="bytes"/> written as UTF-8 into the line buffer (no string per line).</summary>
    private static int Hex(ReadOnlySpan<byte> bytes, Span<byte> destination)
    {
        const string digits = "0123456789abcdef";
        for (int i = 0; i < bytes.Length; i++)
        {
            destination[2 * i] = (byte)digits[bytes[i] >> 4];
            destination[(2 * i) + 1] = (byte)digits[bytes[i] & 0xF];
        }

        return 2 * bytes.Length;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            _disposed = true;
            _hash?.Dispose();
            if (_stream is not null)
            {
                await _stream.DisposeAsync().ConfigureAwait(false);
                _stream = null;
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _gate.Wait();
        try
        {
            _disposed = true;
            _hash?.Dispose();
            _stream?.Dispose();
            _stream = null;
        }
        finally
        {
            _gate.Release();
        }
    }
}
