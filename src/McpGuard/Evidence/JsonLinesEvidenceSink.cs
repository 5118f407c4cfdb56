using System.Buffers;
using System.Text.Json;

namespace McpGuard;

/// <summary>
/// Appends each <see cref="GuardEvidence"/> as one compact JSON object per line (JSON Lines) to a file opened in
/// append mode. Existing content is never rewritten.
/// </summary>
/// <remarks>
/// Thread-safe: writes are serialized. Each event is flushed to the operating system before
/// <see cref="WriteAsync"/> completes; set <c>durable</c> to also flush to disk (fsync), at a higher cost per event.
/// The file is opened on first write with <see cref="FileShare.Read"/>, so readers can tail it.
/// </remarks>
public sealed class JsonLinesEvidenceSink : IGuardEvidenceSink, IAsyncDisposable, IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly bool _durable;
    private readonly ArrayBufferWriter<byte> _buffer = new(1024);
    private FileStream? _stream;
    private bool _disposed;

    /// <summary>Creates a sink for <paramref name="path"/>; the directory is created if missing.</summary>
    /// <param name="path">File path; relative paths resolve against the current directory.</param>
    /// <param name="durable">Whether to fsync after each event.</param>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty.</exception>
    public JsonLinesEvidenceSink(string path, bool durable = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Path = System.IO.Path.GetFullPath(path);
        _durable = durable;
    }

    /// <summary>The absolute path of the evidence file.</summary>
    public string Path { get; }

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
                _stream = new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.Read, bufferSize: 0, FileOptions.None);
            }

            _buffer.ResetWrittenCount();
            using (var writer = new Utf8JsonWriter(_buffer))
            {
                JsonSerializer.Serialize(writer, evidence, EvidenceJsonContext.Default.GuardEvidence);
            }

            _buffer.Write("\n"u8);
            // One synchronous write per event: appending to the page cache is cheaper than an async file write.
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

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            _disposed = true;
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
            _stream?.Dispose();
            _stream = null;
        }
        finally
        {
            _gate.Release();
        }
    }
}
