namespace McpGuard.Approval;

/// <summary>How one call to a host's approval handler ended (see <see cref="ApprovalCall.AskAsync{T}"/>).</summary>
internal enum ApprovalCallEnding
{
    /// <summary>The handler answered within the timeout (the answer may still be <see langword="null"/>).</summary>
    Answered,

    /// <summary>The handler answered, but only once the timeout had passed: the answer must not be used.</summary>
    Late,

    /// <summary>The timeout passed first.</summary>
    TimedOut,

    /// <summary>The caller's token was cancelled first (the caller gave up, or the session closed).</summary>
    Cancelled,

    /// <summary>The handler threw (or its task faulted).</summary>
    Failed,
}

/// <summary>
/// One call to a host's approval handler under a timeout measured with the engine's <see cref="TimeProvider"/>: the
/// tool-call approval (<see cref="ApprovalCoordinator"/>) and the elicitation review share it, so both end the same way.
/// </summary>
internal static class ApprovalCall
{
    /// <summary>
    /// Runs <paramref name="ask"/> on the thread pool (a handler that blocks synchronously, e.g. a console prompt, must
    /// still time out) with a token that is cancelled when the approval ends early: at <paramref name="timeout"/>, or when
    /// <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    /// <typeparam name="T">The handler's answer.</typeparam>
    /// <param name="ask">The handler call; receives the token that tells it the approval ended.</param>
    /// <param name="timeout">How long the handler may take (positive).</param>
    /// <param name="timeProvider">The clock of the timeout and of the duration.</param>
    /// <param name="cancellationToken">The caller's token.</param>
    /// <returns>How the call ended, the answer (only for <see cref="ApprovalCallEnding.Answered"/> and
    /// <see cref="ApprovalCallEnding.Late"/>), the handler's exception (only for <see cref="ApprovalCallEnding.Failed"/>)
    /// and the time the handler took, in milliseconds. Never throws.</returns>
    public static async ValueTask<(ApprovalCallEnding Ending, T? Answer, Exception? Failure, double DurationMs)> AskAsync<T>(
        Func<CancellationToken, ValueTask<T>> ask, TimeSpan timeout, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        long started = timeProvider.GetTimestamp();
        T answer;
        try
        {
            using var timer = new CancellationTokenSource(timeout, timeProvider);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token);
            CancellationToken token = linked.Token;
            try
            {
                answer = await Task.Run(() => ask(token).AsTask(), CancellationToken.None)
                    .WaitAsync(timeout, timeProvider, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
            {
                // Leaving this scope disposes 'linked'. WaitAsync can end before 'linked' is cancelled: its timer can fire
                // before the one of 'timer' (same due time), and when the caller cancels, WaitAsync's own registration on
                // that token can run first and resume this method inside the cancellation, before the callback that would
                // cancel 'linked'. Cancel it now, or the handler is never told that its request expired or was withdrawn.
                CancelQuietly(linked);
                throw;
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return (ApprovalCallEnding.Cancelled, default, null, Elapsed(timeProvider, started));
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            return (ApprovalCallEnding.TimedOut, default, null, Elapsed(timeProvider, started));
        }
        catch (Exception ex)
        {
            return (ApprovalCallEnding.Failed, default, ex, Elapsed(timeProvider, started));
        }

        TimeSpan took = timeProvider.GetElapsedTime(started);
        return (took >= timeout ? ApprovalCallEnding.Late : ApprovalCallEnding.Answered, answer, null, took.TotalMilliseconds);
    }

    /// <summary>Cancels <paramref name="source"/> to tell an approval handler its request ended; a handler's failing
    /// cancellation callback, or a source already disposed because the approval ended meanwhile, changes nothing.</summary>
    internal static void CancelQuietly(CancellationTokenSource source)
    {
        try
        {
            source.Cancel();
        }
        catch (AggregateException)
        {
            // A handler's cancellation callback failed; the request is denied either way.
        }
        catch (ObjectDisposedException)
        {
            // The approval ended on its own meanwhile.
        }
    }

    private static double Elapsed(TimeProvider timeProvider, long started) => timeProvider.GetElapsedTime(started).TotalMilliseconds;
}
