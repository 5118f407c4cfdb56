using System.Collections.Concurrent;

namespace McpGuard.Tests.Infrastructure;

/// <summary>An evidence sink that keeps every event in memory for assertions.</summary>
public sealed class EvidenceCollector : IGuardEvidenceSink
{
    private readonly ConcurrentQueue<GuardEvidence> _events = new();

    public IReadOnlyList<GuardEvidence> Events => [.. _events];

    public ValueTask WriteAsync(GuardEvidence evidence, CancellationToken cancellationToken)
    {
        _events.Enqueue(evidence);
        return ValueTask.CompletedTask;
    }

    public IEnumerable<GuardEvidence> OfKind(GuardEvidenceKind kind) => Events.Where(e => e.Kind == kind);

    /// <summary>Waits (bounded) until an event matching <paramref name="predicate"/> arrives; evidence of outcomes is written on the pump thread.</summary>
    public async Task<GuardEvidence> WaitForAsync(Func<GuardEvidence, bool> predicate, int timeoutMs = 5000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (DateTime.UtcNow < deadline)
        {
            GuardEvidence? match = Events.FirstOrDefault(predicate);
            if (match is not null)
            {
                return match;
            }

            await Task.Delay(10);
        }

        throw new TimeoutException("The expected evidence event was not written.");
    }
}
