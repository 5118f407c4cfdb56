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
    }
}
