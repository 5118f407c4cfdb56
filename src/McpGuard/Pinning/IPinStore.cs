using System.Text.Json;
using System.Text.Json.Nodes;
using McpGuard.Json;

namespace McpGuard;

/// <summary>Where pinned catalogs live. The default is <see cref="FilePinStore"/> (a reviewable lock file).</summary>
/// <remarks>Implementations must be thread-safe. <see cref="Load"/> is called once when the engine is built; a store that cannot load must throw, never return an empty set silently.</remarks>
public interface IPinStore
{
    /// <summary>Loads every pinned server.</summary>
    /// <returns>The lock content.</returns>
    /// <exception cref="McpGuardPinStoreException">The store is corrupt or unreadable.</exception>
    PinLockFile Load();

    /// <summary>Persists the whole lock content atomically.</summary>
    /// <param name="content">The content to write.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>A task that completes when the content is durable.</returns>
    ValueTask SaveAsync(PinLockFile content, CancellationToken cancellationToken);
}

/// <summary>Thrown when a lock file is corrupt, hand-broken (a hash does not match its definition) or unreadable. Never silently reset.</summary>
public sealed class McpGuardPinStoreException : McpGuardException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong and how to fix it.</param>
    /// <param name="innerException">The cause.</param>
    public McpGuardPinStoreException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}

/// <summary>Keeps pins in memory (used when no lock file is configured). Thread-safe.</summary>
public sealed class InMemoryPinStore : IPinStore
{
    private PinLockFile _content = new();

    /// <inheritdoc />
    public PinLockFile Load() => _content;

    /// <inheritdoc />
    public ValueTask SaveAsync(PinLockFile content, CancellationToken cancellationToken)
    {
        _content = content;
        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// A human-reviewable lock file (<c>mcpguard.lock.json</c>): stable ordinal ordering, one entry per item with its full
/// canonical definition, who approved it and when. Teams commit it next to their host, like a package lock.
/// </summary>
/// <remarks>
/// Writes are atomic (temporary file in the same directory, flushed to disk, then renamed over the old file). Reads
/// validate the format and that every item's <c>sha256</c> matches its definition: a corrupt or hand-edited file is a
/// <see cref="McpGuardPinStoreException"/> at startup, never a silent reset. A missing file is an empty lock.
/// Thread-safe.
/// </remarks>
public sealed class FilePinStore : IPinStore
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>Creates a store for <paramref name="path"/>.</summary>
    /// <param name="path">Lock file path; relative paths resolve against the current directory.</param>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty.</exception>
    public FilePinStore(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Path = System.IO.Path.GetFullPath(path);
    }

    /// <summary>The absolute lock file path.</summary>
    public string Path { get; }

    /// <inheritdoc />
    public PinLockFile Load()
    {
        if (!File.Exists(Path))
        {
            return new PinLockFile();
        }

        PinLockFile? content;
        try
        {
            byte[] bytes = File.ReadAllBytes(Path);
            content = JsonSerializer.Deserialize(bytes, PinningJsonContext.Default.PinLockFile);
        }
        catch (JsonException ex)
        {
            throw new McpGuardPinStoreException(
                $"The lock file '{Path}' is not valid JSON (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine}). Restore it from version control or delete it to re-pin on first use; McpGuard never resets it silently.", ex);
        }
        catch (IOException ex)
        {
            throw new McpGuardPinStoreException($"The lock file '{Path}' cannot be read: {ex.Message}", ex);
        }

        if (content is null || content.Version != 1 || content.Servers is null)
        {
            throw new McpGuardPinStoreException($"The lock file '{Path}' has an unsupported format (expected version 1 with a 'servers' object).");
        }

        foreach ((string server, PinnedServer pinned) in content.Servers)
        {
            if (pinned?.Items is null)
            {
                throw new McpGuardPinStoreException($"The lock file '{Path}' has no 'items' for server '{server}'.");
            }

            var canonicalItems = new SortedDictionary<string, PinnedItem>(StringComparer.Ordinal);
            foreach ((string key, PinnedItem item) in pinned.Items)
            {
                if (item is null || item.Definition.ValueKind != JsonValueKind.Object)
                {
                    throw new McpGuardPinStoreException($"The lock file '{Path}' entry '{server}/{key}' has no definition object.");
                }

                byte[] canonical = JsonCanonicalizer.ToCanonicalBytes(JsonNode.Parse(item.Definition.GetRawText()));
                string hash = JsonCanonicalizer.Sha256Hex(canonical);
                if (!string.Equals(hash, item.Sha256, StringComparison.Ordinal))
                {
                    throw new McpGuardPinStoreException(
                        $"The lock file '{Path}' entry '{server}/{key}' was edited by hand: its sha256 does not match its definition. Restore it from version control or re-approve the item.");
                }

                if (key != PinKey(item.Kind, item.Name))
                {
                    throw new McpGuardPinStoreException($"The lock file '{Path}' entry key '{server}/{key}' does not match its kind and name.");
                }

                item.Definition = JsonDocument.Parse(canonical).RootElement.Clone();
                canonicalItems[key] = item;
            }

            pinned.Items = canonicalItems;
        }

        return content;
    }

    /// <inheritdoc />
    public async ValueTask SaveAsync(PinLockFile content, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        byte[] bytes = JsonSerializer.SerializeToUtf8Bytes(content, PinningJsonContext.Default.PinLockFile);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            string directory = System.IO.Path.GetDirectoryName(Path)!;
            Directory.CreateDirectory(directory);
            string temp = System.IO.Path.Combine(directory, "." + System.IO.Path.GetFileName(Path) + "." + Guid.NewGuid().ToString("N") + ".tmp");
            try
            {
                await using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 4096, FileOptions.Asynchronous))
                {
                    await stream.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
                    await stream.WriteAsync("\n"u8.ToArray(), cancellationToken).ConfigureAwait(false);
                    stream.Flush(flushToDisk: true);
                }

                File.Move(temp, Path, overwrite: true);
            }
            finally
            {
                if (File.Exists(temp))
                {
                    File.Delete(temp);
                }
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    internal static string PinKey(CatalogItemKind kind, string name) => kind switch
    {
        CatalogItemKind.Tool => "tool:",
        CatalogItemKind.Prompt => "prompt:",
        CatalogItemKind.ResourceTemplate => "resourceTemplate:",
        _ => "server:",
    } + name;
}
