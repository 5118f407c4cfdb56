using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using ModelContextProtocol.Protocol;

namespace McpGuard.Transport;

internal sealed partial class GuardedTransport
{
    /// <summary>
    /// The session's view of the server's messages. The guard's incoming checks run inside the session's own read:
    /// <see cref="WaitToReadAsync"/> takes the next message from the inner transport, processes it and keeps the
    /// result for <see cref="TryRead"/>. Messages the guard produces itself (denials, policy errors, results released
    /// after an approval) are queued by <see cref="Inject"/> and read first.
    /// </summary>
    /// <remarks>
    /// <para>Why not a pump task writing into a second channel: every incoming message would then cross one more
    /// thread-pool hop (the pump's wake-up) before the session sees it, which on a small machine costs more than all of
    /// the guard's checks on a small result.</para>
    /// <para>Single reader, like the channels the SDK's transports expose (the session reads with one
    /// <c>ReadAllAsync</c> loop). <see cref="Inject"/> and <see cref="Complete"/> may be called from any thread.</para>
    /// </remarks>
    private sealed class IncomingReader : ChannelReader<JsonRpcMessage>
    {
        private readonly GuardedTransport _owner;
        private readonly ChannelReader<JsonRpcMessage> _inner;
        private readonly Channel<JsonRpcMessage> _injected = Channel.CreateUnbounded<JsonRpcMessage>(new UnboundedChannelOptions
        {
            SingleReader = true,
            SingleWriter = false,
        });

        private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private JsonRpcMessage? _ready;
        private Task<bool>? _innerWait;
        private Task<bool>? _injectedWait;
        private bool _innerEnded;
        private bool _injectedEnded;
        private ExceptionDispatchInfo? _innerFailure;

        public IncomingReader(GuardedTransport owner)
        {
            _owner = owner;
            _inner = owner._inner.MessageReader;
        }

        public override Task Completion => _completion.Task;

        /// <summary>Queues a message produced by the guard. Dropped after the session ended.</summary>
        public void Inject(JsonRpcMessage message) => _injected.Writer.TryWrite(message);

        /// <summary>Completes <see cref="Completion"/> (faulted with the inner transport's failure, if any).</summary>
        public void Complete(Exception? failure)
        {
            _injected.Writer.TryComplete();
            if (failure is null)
            {
                _completion.TrySetResult();
            }
            else
            {
                _completion.TrySetException(failure);
            }
        }

        public override bool TryRead([MaybeNullWhen(false)] out JsonRpcMessage item)
        {
            item = _ready;
            if (item is not null)
            {
                _ready = null;
                return true;
            }

            return _injected.Reader.TryRead(out item);
        }

        public override ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default) =>
            _ready is not null ? new ValueTask<bool>(true) : WaitCoreAsync(cancellationToken);

        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
        private async ValueTask<bool> WaitCoreAsync(CancellationToken cancellationToken)
        {
            while (true)
            {
                if (_injected.Reader.TryRead(out JsonRpcMessage? injected))
                {
                    _ready = injected;
                    return true;
                }

                if (_innerEnded)
                {
                    await _owner.OnClosedAsync(_innerFailure?.SourceException).ConfigureAwait(false);
                    if (_injected.Reader.TryPeek(out _))
                    {
                        return true;
                    }

                    // Like a channel completed with an error: the failure surfaces from the wait.
                    _innerFailure?.Throw();
                    return false;
                }

                if (_inner.TryRead(out JsonRpcMessage? message))
                {
                    _ready = await _owner.ProcessOneAsync(message).ConfigureAwait(false);
                    if (_ready is not null)
                    {
                        return true;
                    }

                    continue;
                }

                cancellationToken.ThrowIfCancellationRequested();
                if (_innerWait is null)
                {
                    // Fast path: nothing injected is waiting and the inner reader has data already (or fails at once).
                    ValueTask<bool> wait = _inner.WaitToReadAsync(_owner._cts.Token);
                    if (wait.IsCompleted)
                    {
                        await ObserveInnerAsync(wait).ConfigureAwait(false);
                        continue;
                    }

                    _innerWait = wait.AsTask();
                }

                if (!_injectedEnded)
                {
                    _injectedWait ??= _injected.Reader.WaitToReadAsync(CancellationToken.None).AsTask();
                }

                if (_injectedWait is null)
                {
                    // The guard's own queue is closed (the transport is being disposed): only the server's side is left.
                    await ((Task)_innerWait).WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                }
                else if (!_innerWait.IsCompleted && !_injectedWait.IsCompleted)
                {
                    await Task.WhenAny(_innerWait, _injectedWait).WaitAsync(cancellationToken).ConfigureAwait(false);
                }

                if (_injectedWait is { IsCompleted: true } injectedWait)
                {
                    _injectedWait = null;
                    _injectedEnded = injectedWait.Status != TaskStatus.RanToCompletion || !injectedWait.Result; // false: the queue was completed
                }

                cancellationToken.ThrowIfCancellationRequested();

                if (_innerWait.IsCompleted)
                {
                    Task<bool> completed = _innerWait;
                    _innerWait = null;
                    await ObserveInnerAsync(new ValueTask<bool>(completed)).ConfigureAwait(false);
                }
            }
        }

        /// <summary>Awaits a completed wait on the inner reader: <see langword="false"/> or a failure ends the inner side.</summary>
        private async ValueTask ObserveInnerAsync(ValueTask<bool> wait)
        {
            try
            {
                if (!await wait.ConfigureAwait(false))
                {
                    _innerEnded = true;
                }
            }
            catch (OperationCanceledException) when (_owner._cts.IsCancellationRequested)
            {
                _innerEnded = true; // disposed
            }
            catch (Exception ex)
            {
                _innerEnded = true;
                _innerFailure = ExceptionDispatchInfo.Capture(ex);
            }
        }
    }
}
