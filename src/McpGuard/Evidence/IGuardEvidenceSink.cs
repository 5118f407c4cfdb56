namespace McpGuard;

/// <summary>Receives every evidence event, in order per session.</summary>
/// <remarks>
/// Must be thread-safe: sessions write concurrently. A sink that throws makes the write fail; with
/// <see cref="EvidenceOptions.DenyWhenEvidenceFails"/> on (the default) the call whose decision could not be recorded
/// is denied. Keep writes short: decision events are written before the call is sent.
/// </remarks>
public interface IGuardEvidenceSink
{
    /// <summary>Records one event.</summary>
    /// <param name="evidence">The event.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>A task that completes when the event is durably handed off.</returns>
    ValueTask WriteAsync(GuardEvidence evidence, CancellationToken cancellationToken);
}

internal sealed class DelegateEvidenceSink(Func<GuardEvidence, CancellationToken, ValueTask> write) : IGuardEvidenceSink
{
    public ValueTask WriteAsync(GuardEvidence evidence, CancellationToken cancellationToken) => write(evidence, cancellationToken);
}
