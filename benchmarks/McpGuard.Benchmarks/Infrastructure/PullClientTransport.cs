using System.Diagnostics.CodeAnalysis;
using System.Threading.Channels;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace McpGuard.Benchmarks.Infrastructure;

/// <summary>
/// Diagnostic only: the alternative decorator design, without a pump. Incoming messages are processed in the
/// session's own read (<see cref="ChannelReader{T}.WaitToReadAsync"/> pulls one message from the inner transport,
/// awaits an async per-message step, and <see cref="ChannelReader{T}.TryRead"/> hands it over), so no extra task
/// and no extra thread-pool hop per message. The per-message step here does no work; it stands in for the guard's.
/// </summary>
internal sealed class PullClientTransport(IClientTransport inner) : IClientTransport
{
    public string Name => inner.Name;

    public async Task<ITransport> ConnectAsync(CancellationToken cancellationToken = default) =>
        new PullTransport(await inner.ConnectAsync(cancellationToken).ConfigureAwait(false));

    private sealed class PullTransport(ITransport inner) : ITransport
    {
        private readonly PullReader _reader = new(inner.MessageReader);

        public string? SessionId => inner.SessionId;

        public ChannelReader<JsonRpcMessage> MessageReader => _reader;

        public Task SendMessageAsync(JsonRpcMessage message, CancellationToken cancellationToken = default) =>
            inner.SendMessageAsync(message, cancellationToken);

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }

    /// <summary>Single-reader (the SDK session reads with one <c>ReadAllAsync</c> loop).</summary>
    private sealed class PullReader(ChannelReader<JsonRpcMessage> inner) : ChannelReader<JsonRpcMessage>
    {
        private JsonRpcMessage? _ready;

        public override Task Completion => inner.Completion;

        public override bool TryRead([MaybeNullWhen(false)] out JsonRpcMessage item)
        {
            item = _ready;
            _ready = null;
            return item is not null;
        }

        public override async ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default)
        {
            while (_ready is null)
            {
                if (inner.TryRead(out JsonRpcMessage? message))
                {
                    _ready = await ProcessAsync(message).ConfigureAwait(false);
                    continue;
                }

                if (!await inner.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    return false;
                }
            }

            return true;
        }

        // Where the guard's incoming checks and evidence would run; null would drop the message.
        private static ValueTask<JsonRpcMessage?> ProcessAsync(JsonRpcMessage message) => new(message);
    }
}
