using System.Text.Json;
using BenchmarkDotNet.Attributes;
using McpGuard.Benchmarks.Infrastructure;
using McpGuard.Isolation;

namespace McpGuard.Benchmarks;

/// <summary>
/// The steps content isolation runs on the 64 KB round-trip result, one at a time, on the exact text of
/// <see cref="CallToolRoundTrip64KBenchmarks"/>: reading the string out of the parsed JSON, the sanitizer, the detector.
/// Explains where <c>GuardedIsolation64K</c>'s extra time goes.
/// </summary>
[MemoryDiagnoser]
public class IsolationResultPartsBenchmarks
{
    private JsonElement _textElement;
    private ContentSanitizer _sanitizer = null!;
    private IInjectionDetector _detector = null!;
    private string _text = string.Empty;

    [GlobalSetup]
    public void Setup()
    {
        _text = Scenario.LargeResultText;
        string json = JsonSerializer.Serialize(new { content = new[] { new { type = "text", text = _text } } });
        _textElement = JsonDocument.Parse(json).RootElement.GetProperty("content")[0].GetProperty("text");
        _sanitizer = new ContentSanitizer(new SanitizerOptions());
        _detector = ContentIsolation.CreateDefaultDetector();
    }

    /// <summary>The UTF-16 copy of the text the scanners need (what the isolation stage reads once per slot).</summary>
    [Benchmark]
    public int ReadString() => _textElement.GetString()!.Length;

    [Benchmark]
    public int Sanitize() => _sanitizer.Sanitize(_text).Text.Length;

    [Benchmark]
    public double Detect() => _detector.ScanAsync(_text, ScanTarget.ToolResult, CancellationToken.None).AsTask().GetAwaiter().GetResult().Score;

    [Benchmark]
    public ulong Prefilter() => McpGuard.Isolation.Detection.InjectionRules.Triggers.MayMatch(_text, McpGuard.Isolation.Detection.InjectionRules.AllMask);

    /// <summary><see cref="Prefilter"/> with the 256-bit (AVX2) gate, on a machine that also runs the 512-bit one.</summary>
    [Benchmark]
    public ulong Prefilter256() => McpGuard.Isolation.Detection.InjectionRules.Triggers.MayMatch(_text, McpGuard.Isolation.Detection.InjectionRules.AllMask, gateBits: 256);

    [Benchmark]
    public ulong PrefilterOnePosition() => McpGuard.Isolation.Detection.InjectionRules.Triggers.MayMatch(_text, McpGuard.Isolation.Detection.InjectionRules.AllMask, gateBits: 0);

    [Benchmark]
    public int ScanCharacters()
    {
        int n = 0;
        McpGuard.Isolation.Detection.CharacterScanners.ScanCharacters(_text, (_, _, _, _, _) => n++, (_, _, _) => n++);
        return n;
    }

    [Benchmark]
    public int ScanBlobs()
    {
        int n = 0;
        McpGuard.Isolation.Detection.CharacterScanners.ScanBlobs(_text, (_, _, _, _, _) => n++, (_, _, _) => n++);
        return n;
    }

    [Benchmark]
    public bool SanitizerIsUnchanged() => _sanitizer.IsUnchanged(_text, int.MaxValue);

    [Benchmark]
    public bool DetectorIsClean() => ((HeuristicInjectionDetector)_detector).IsClean(_text);
}
