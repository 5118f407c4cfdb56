using System.Threading.Channels;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace McpGuard.Benchmarks.Infrastructure;

/// <summary>
/// Diagnostic only: a transport decorator with the same message flow as McpGuard's <c>GuardedTransport</c> (a pump
/// task that reads the inner transport and writes to a bounded channel the session reads) and no policy work at all.
/// Its cost over the unguarded client is the price of the decorator's hop, separate from the guard's own work.
/// With <c>inlineContinuations</c> the channel lets the session's reader continue on the pump's thread
/// (<see cref="ChannelOptions.AllowSynchronousContinuations"/>), which removes one thread-pool hop per incoming message.
/// </summary>
internal sealed class PassThroughClientTransport(IClientTransport inner, bool inlineContinuations = false) : IClientTransport
{
    public string Name => inner.Name;

    public async Task<ITransport> ConnectAsync(CancellationToken cancellationToken = default) =>
        new PassThroughTransport(await inner.ConnectAsync(cancellationToken).ConfigureAwait(false), inlineContinuations);

    private sealed class PassThroughTransport : ITransport
    {
        private readonly ITransport _inner;
        private readonly Channel<JsonRpcMessage> _incoming;
        private readonly CancellationTokenSource _cts = new();
        private readonly Task _pump;

        public PassThroughTransport(ITransport inner, bool inlineContinuations)
        {
            _inner = inner;
            _incoming = Channel.CreateBounded<JsonRpcMessage>(new BoundedChannelOptions(256)
            {
                SingleReader = true,
                SingleWriter = false,
                FullMode = BoundedChannelFullMode.Wait,
                AllowSynchronousContinuations = inlineContinuations,
            });
            _pump = Task.Run(PumpAsync);
        }

        public string? SessionId => _inner.SessionId;

        public ChannelReader<JsonRpcMessage> MessageReader => _incoming.Reader;

        public Task SendMessageAsync(JsonRpcMessage message, CancellationToken cancellationToken = default) =>
            _inner.SendMessageAsync(message, cancellationToken);

        private async Task PumpAsync()
        {
            Exception? failure = null;
            try
            {
                await foreach (JsonRpcMessage message in _inner.MessageReader.ReadAllAsync(_cts.Token).ConfigureAwait(false))
                {
                    await _incoming.Writer.WriteAsync(message, _cts.Token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (_cts.IsCancellationRequested)
            {
            }
            catch (Exception ex)
            {
                failure = ex;
            }
            finally
            {
                _incoming.Writer.TryComplete(failure);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _cts.CancelAsync().ConfigureAwait(false);
            await _inner.DisposeAsync().ConfigureAwait(false);
            try
            {
                await _pump.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }

            _cts.Dispose();
        }
    }
}
