namespace McpGuard.Tests;

/// <summary>Lower-case hex for expected digests, on every target framework (<c>Convert.ToHexStringLower</c> is .NET 9+).</summary>
internal static class TestHex
{
    public static string Lower(ReadOnlySpan<byte> bytes) => Convert.ToHexString(bytes).ToLowerInvariant();
}
