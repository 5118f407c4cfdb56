using System.Threading.Channels;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace McpGuard.Tests.Infrastructure;

/// <summary>
/// A real transport whose <see cref="ITransport.MessageReader"/> is re-exposed through a channel created with
/// <see cref="ChannelOptions.AllowSynchronousContinuations"/>: a reader's continuation then runs inline in the thread
/// that writes a message, and in the thread that cancels the reader's wait. The SDK's own transports do not allow that,
/// but a custom <see cref="IClientTransport"/> may; the guard's reader must work the same over both.
/// </summary>
public sealed class SynchronousContinuationsClientTransport(IClientTransport inner) : IClientTransport
{
    public string Name => inner.Name;

    public async Task<ITransport> ConnectAsync(CancellationToken cancellationToken = default) =>
        new Transport(await inner.ConnectAsync(cancellationToken).ConfigureAwait(false));

    private sealed class Transport : ITransport
    {
        private readonly ITransport _inner;
        private readonly Channel<JsonRpcMessage> _messages = Channel.CreateUnbounded<JsonRpcMessage>(
            new UnboundedChannelOptions { SingleReader = true, SingleWriter = true, AllowSynchronousContinuations = true });
        private readonly Task _pump;

        public Transport(ITransport inner)
        {
            _inner = inner;
            _pump = Task.Run(PumpAsync);
        }

        public string? SessionId => _inner.SessionId;

        public ChannelReader<JsonRpcMessage> MessageReader => _messages.Reader;

        public Task SendMessageAsync(JsonRpcMessage message, CancellationToken cancellationToken = default) =>
            _inner.SendMessageAsync(message, cancellationToken);

        public async ValueTask DisposeAsync()
        {
            await _inner.DisposeAsync().ConfigureAwait(false);
            await _pump.ConfigureAwait(false);
        }

        private async Task PumpAsync()
        {
            try
            {
                await foreach (JsonRpcMessage message in _inner.MessageReader.ReadAllAsync().ConfigureAwait(false))
                {
                    _messages.Writer.TryWrite(message); // the guard's reader continues inline, in this thread
                }

                _messages.Writer.TryComplete();
            }
            catch (Exception ex)
            {
                _messages.Writer.TryComplete(ex);
            }
        }
    }
}
