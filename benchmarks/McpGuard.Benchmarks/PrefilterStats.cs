using System.Text.Json;
using McpGuard.Isolation.Detection;

namespace McpGuard.Benchmarks;

/// <summary>
/// <c>--prefilter [files.jsonl...]</c>: how many detector rules the keyword prefilter lets through (each one costs a regex
/// pass over the text) for the benchmark texts and for the <c>text</c>/<c>description</c> of every record in the given
/// JSON Lines files. A diagnostic for tuning triggers; it prints counts only, never corpus text.
/// </summary>
internal static class PrefilterStats
{
    public static int Run(string[] files)
    {
        var texts = new List<(string Name, string Text)>
        {
            ("prose", IsolationBenchmarks.Build("prose", 65536)),
            ("code", IsolationBenchmarks.Build("code", 65536)),
            ("adversarial", IsolationBenchmarks.Build("adversarial", 65536)),
            ("roundtrip", Infrastructure.Scenario.ResultText),
        };
        foreach (string f in files)
        {
            foreach (string line in File.ReadLines(f))
            {
                using var doc = JsonDocument.Parse(line);
                foreach (string p in new[] { "text", "description" })
                {
                    if (doc.RootElement.TryGetProperty(p, out var t) && t.ValueKind == JsonValueKind.String)
                    {
                        texts.Add((Path.GetFileName(f), t.GetString()!));
                    }
                }
            }
        }

        var rules = InjectionRules.All;
        foreach (var group in texts.GroupBy(t => t.Name))
        {
            var counts = new int[rules.Count];
            long chars = 0;
            int n = 0;
            foreach (var (_, text) in group)
            {
                n++;
                chars += text.Length;
                ulong m = InjectionRules.Triggers.MayMatch(text, InjectionRules.AllMask);
                for (int r = 0; r < rules.Count; r++)
                {
                    if ((m & (1UL << r)) != 0)
                    {
                        counts[r]++;
                    }
                }
            }

            Console.WriteLine($"== {group.Key}: {n} texts, {chars} chars; rules fired per text: {counts.Sum() / (double)n:F1}");
            foreach (int r in Enumerable.Range(0, rules.Count).OrderByDescending(r => counts[r]).Take(15))
            {
                Console.WriteLine($"   {counts[r],5} {r,2} {rules[r].Id}");
            }
        }

        return 0;
    }
}
