namespace McpGuard.Samples.FileAgent;

/// <summary>
/// An in-memory evidence sink (registered next to the JSON Lines file) so the host can show, after each call, what
/// the guard decided and which rule decided it. A custom <see cref="IGuardEvidenceSink"/> is all it takes.
/// </summary>
internal sealed class EvidenceLog : IGuardEvidenceSink
{
    private readonly List<GuardEvidence> _events = [];
    private readonly Lock _gate = new();

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _events.Count;
            }
        }
    }

    public ValueTask WriteAsync(GuardEvidence evidence, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _events.Add(evidence);
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Events written since position <paramref name="start"/> (a previous <see cref="Count"/>).</summary>
    public IReadOnlyList<GuardEvidence> Since(int start)
    {
        lock (_gate)
        {
            return _events.Skip(start).ToArray();
        }
    }

    /// <summary>The latest event of <paramref name="kind"/>, if any.</summary>
    public GuardEvidence? Last(GuardEvidenceKind kind)
    {
        lock (_gate)
        {
            return _events.LastOrDefault(e => e.Kind == kind);
        }
    }
}
