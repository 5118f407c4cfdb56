using System.Collections.Concurrent;
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
    /// <para>A read parked on the inner reader is woken for an injected message by cancelling its wake source, a
    /// <see cref="CancellationTokenSource"/> linked with the read's token and the transport's own and reused until it is
    /// cancelled. So the per-message wait is the inner reader's own, with no <c>Task.WhenAny</c>, <c>WaitAsync</c> or task
    /// wrapper (about 270 bytes and three continuations per message less than the first version); an injection, which
    /// is rare (denials, policy errors, results released after an approval), costs a cancelled wait and a new source.</para>
    /// <para>Single reader, like the channels the SDK's transports expose (the session reads with one
    /// <c>ReadAllAsync</c> loop). <see cref="Inject"/> and <see cref="Complete"/> may be called from any thread.</para>
    /// </remarks>
    private sealed class IncomingReader : ChannelReader<JsonRpcMessage>
    {
        private readonly GuardedTransport _owner;
        private readonly ChannelReader<JsonRpcMessage> _inner;
        private readonly ConcurrentQueue<JsonRpcMessage> _injected = new();
        private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private JsonRpcMessage? _ready;
        private CancellationTokenSource? _wake; // ends the current wait on the inner reader; replaced once cancelled
        private CancellationToken _wakeLinkedTo; // the read's token that _wake is linked with
        private volatile bool _closed;
        private bool _innerEnded;
        private ExceptionDispatchInfo? _innerFailure;

        public IncomingReader(GuardedTransport owner)
        {
            _owner = owner;
            _inner = owner._inner.MessageReader;
        }

        public override Task Completion => _completion.Task;

        /// <summary>Queues a message produced by the guard and wakes a waiting read. Dropped after the session ended.</summary>
        /// <returns><see langword="false"/> when the session's read has ended (or may have ended before seeing the message).</returns>
        public bool Inject(JsonRpcMessage message)
        {
            if (_closed)
            {
                return false;
            }

            _injected.Enqueue(message); // a full fence: the read below sees the wake source a waiting read installed first
            Wake();
            return !_closed; // closed meanwhile: the session's read may have ended before it saw the message
        }

        /// <summary>Completes <see cref="Completion"/> (faulted with the inner transport's failure, if any).</summary>
        public void Complete(Exception? failure)
        {
            _closed = true;
            Wake();
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

            return _injected.TryDequeue(out item);
        }

        public override ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default) =>
            _ready is not null ? new ValueTask<bool>(true) : WaitCoreAsync(cancellationToken);

        /// <summary>Cancels the wake source of the current wait, if any; a source the reader already replaced is ignored.</summary>
        private void Wake()
        {
            try
            {
                Volatile.Read(ref _wake)?.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // Replaced and disposed by the reader after it installed a new one, so its queue check comes later.
            }
        }

        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
        private async ValueTask<bool> WaitCoreAsync(CancellationToken cancellationToken)
        {
            while (true)
            {
                if (_injected.TryDequeue(out JsonRpcMessage? injected))
                {
                    _ready = injected;
                    return true;
                }

                if (_innerEnded)
                {
                    Interlocked.Exchange(ref _wake, null)?.Dispose();
                    await _owner.OnClosedAsync(_innerFailure?.SourceException).ConfigureAwait(false);
                    if (!_injected.IsEmpty)
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

                // One wait on the inner reader, ended early by Inject (or the session ending) through the wake source,
                // which is linked with the read's token and the transport's own: no task, WhenAny or WaitAsync per message.
                CancellationTokenSource wake = WakeSourceFor(cancellationToken);
                if (!_injected.IsEmpty)
                {
                    continue; // queued before the wake source was installed: its Inject may have cancelled the old one
                }

                try
                {
                    if (!await _inner.WaitToReadAsync(wake.Token).ConfigureAwait(false))
                    {
                        _innerEnded = true;
                    }
                }
                catch (OperationCanceledException) when (wake.IsCancellationRequested)
                {
                    if (_owner._cts.IsCancellationRequested)
                    {
                        _innerEnded = true; // disposed
                    }

                    cancellationToken.ThrowIfCancellationRequested();

                    // Otherwise woken by Inject or Complete: look again.
                }
                catch (Exception ex)
                {
                    _innerEnded = true;
                    _innerFailure = ExceptionDispatchInfo.Capture(ex);
                }
            }
        }

        /// <summary>The current wake source, or a new one when it was cancelled or is linked with another token.</summary>
        private CancellationTokenSource WakeSourceFor(CancellationToken cancellationToken)
        {
            CancellationTokenSource? wake = _wake;
            if (wake is not null && !wake.IsCancellationRequested && _wakeLinkedTo == cancellationToken)
            {
                return wake;
            }

            CancellationTokenSource fresh = cancellationToken.CanBeCanceled
                ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _owner._cts.Token)
                : CancellationTokenSource.CreateLinkedTokenSource(_owner._cts.Token);
            _wakeLinkedTo = cancellationToken;
            Interlocked.Exchange(ref _wake, fresh)?.Dispose(); // a full fence before the caller's queue check
            return fresh;
        }
    }
}
