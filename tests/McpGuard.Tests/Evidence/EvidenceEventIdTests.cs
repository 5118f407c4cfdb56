using McpGuard.Evidence;

namespace McpGuard.Tests.Evidence;

public sealed class EvidenceEventIdTests
{
    [Fact]
    public void NextEventId_ManyCalls_Distinct32LowerHexCharacters()
    {
        string[] ids = [.. Enumerable.Range(0, 1000).Select(_ => EvidenceRecorder.NextEventId())];

        Assert.All(ids, id => Assert.Matches("^[0-9a-f]{32}$", id));
        Assert.Equal(ids.Length, ids.Distinct(StringComparer.Ordinal).Count());
        Assert.Single(ids.Select(id => id[..16]).Distinct(StringComparer.Ordinal)); // one random prefix per process

        // The suffix is the process-wide sequence number in hex (other threads may take numbers in between): strictly increasing here.
        ulong[] sequence = [.. ids.Select(id => Convert.ToUInt64(id[16..], 16))];
        Assert.All(Enumerable.Range(1, sequence.Length - 1), i => Assert.True(sequence[i] > sequence[i - 1]));
    }
}
