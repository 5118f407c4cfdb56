using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace McpGuard.Json;

/// <summary>
/// SHA-256 and size of the compact UTF-8 JSON serialization of a node, computed while serializing: the bytes stream
/// through <see cref="IncrementalHash"/> in pooled chunks instead of being materialized in one array.
/// </summary>
/// <remarks>The result is identical to hashing <c>JsonSerializer.SerializeToUtf8Bytes(node)</c>. Not thread-safe: one instance per single-threaded user (the transport's receive pump).</remarks>
internal sealed class JsonSha256Hasher : IDisposable
{
    private readonly HashingStream _stream = new();

    /// <summary>Returns the lower-case hex SHA-256 and byte size of <paramref name="node"/>'s compact JSON (<c>null</c> for a null node).</summary>
    public (string Sha256, long Size) Hash(JsonNode? node)
    {
        _stream.Reset();
        if (node is null)
        {
            _stream.Write("null"u8);
        }
        else
        {
            JsonSerializer.Serialize(_stream, node, McpGuardJsonContext.Default.JsonNode);
        }

        return _stream.Finish();
    }

    public void Dispose() => _stream.Dispose();

    private sealed class HashingStream : Stream
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private long _length;

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => _length;

        public override long Position
        {
            get => _length;
            set => throw new NotSupportedException();
        }

        public void Reset()
        {
            _length = 0;
            Span<byte> discard = stackalloc byte[32];
            _hash.GetHashAndReset(discard);
        }

        public (string Sha256, long Size) Finish()
        {
            Span<byte> hash = stackalloc byte[32];
            _hash.GetHashAndReset(hash);
            return (JsonCanonicalizer.ToHexLower(hash), _length);
        }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            _hash.AppendData(buffer);
            _length += buffer.Length;
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            Write(buffer.AsSpan(offset, count));
            return Task.CompletedTask;
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Write(buffer.Span);
            return default;
        }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _hash.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
