namespace McpGuard.Tests.Integration;

/// <summary>Bounded polling for conditions that become true on another thread (never a fixed sleep).</summary>
internal static class Polling
{
    public static async Task UntilAsync(Func<bool> condition, string failureMessage, int timeoutMs = 10_000)
    {
        DateTime deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (!condition())
        {
            if (DateTime.UtcNow >= deadline)
            {
                Assert.Fail(failureMessage);
            }

            await Task.Delay(20);
        }
    }
}
