// Corpus evaluation for the built-in injection detector and tool-metadata scanner.
// Usage: dotnet run -c Release --project benchmarks/McpGuard.Eval -- <folder> [--floor <floor.json>] [--show-misses] [--show-fp]
// Record schema: see the corpora's SOURCES.md (id, kind, label, attack, server, name, description, inputSchema, text, ...).
using System.Globalization;
using System.Text.Json;
using McpGuard;

var inv = CultureInfo.InvariantCulture;
string? folder = null;
string? floorPath = null;
bool showMisses = false, showFp = false;
var explain = new HashSet<string>(StringComparer.Ordinal);
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--floor" when i + 1 < args.Length: floorPath = args[++i]; break;
        case "--show-misses": showMisses = true; break;
        case "--show-fp": showFp = true; break;
        case "--explain" when i + 1 < args.Length: explain.Add(args[++i]); break;
        default: folder ??= args[i]; break;
    }
}

if (folder is null || !Directory.Exists(folder))
{
    Console.Error.WriteLine("usage: McpGuard.Eval <folder-with-jsonl> [--floor <floor.json>] [--show-misses] [--show-fp]");
    return 2;
}

// Classes a text scan of the description/schema cannot be expected to see (SOURCES.md, "Weak or semantic classes").
string[] semanticClasses = ["name-collision", "preference-manipulation", "out-of-scope-parameter"];
bool IsSemantic(string attack) => attack.Split('+').All(a => semanticClasses.Contains(a));

var detector = new HeuristicInjectionDetector();
var scanner = new ToolMetadataScanner(detector);
var sanitizer = new ContentSanitizer();
var records = new List<Outcome>();
var started = System.Diagnostics.Stopwatch.StartNew();

Console.WriteLine("McpGuard corpus evaluation (tools: metadata scan; results: sanitizer, then detector on the sanitized and the hidden text, as the pipeline does)");
foreach (string file in Directory.GetFiles(folder, "*.jsonl").OrderBy(f => f, StringComparer.Ordinal))
{
    string fileName = Path.GetFileName(file);
    foreach (string line in File.ReadLines(file))
    {
        if (string.IsNullOrWhiteSpace(line))
        {
            continue;
        }

        using var doc = JsonDocument.Parse(line);
        JsonElement r = doc.RootElement;
        string kind = Str(r, "kind") ?? "?";
        bool malicious = Str(r, "label") == "malicious";
        string attack = Str(r, "attack") ?? "none";
        string server = Str(r, "server") ?? "?";
        string id = Str(r, "id") ?? "?";
        double score;
        IEnumerable<string> rules;
        if (kind == "tool")
        {
            var scan = scanner.Scan(Str(r, "name"), Str(r, "title"), Str(r, "description"), Obj(r, "inputSchema"), Obj(r, "outputSchema"), Obj(r, "annotations"));
            score = scan.Score;
            rules = scan.Findings.Select(f => f.Finding.RuleId);
            if (explain.Contains(id))
            {
                foreach (var f in scan.Findings)
                {
                    string? src = f.Path == "$.description" ? Str(r, "description") : null;
                    string span = src is null ? "" : src.Substring(f.Finding.Start, Math.Min(f.Finding.Length, 160));
                    Console.WriteLine($"EXPLAIN {id} {f.Path} {f.Finding.RuleId} {f.Finding.Score}: {span.ReplaceLineEndings(" ")}");
                }
            }
        }
        else
        {
            // As ContentIsolation does per text block: sanitize, flag ASCII smuggled in Tags characters, scan the
            // sanitized text and the recovered hidden text; the block's score is the maximum.
            SanitizedText sanitized = sanitizer.Sanitize(Text(r) ?? string.Empty);
            var scan = detector.Scan(sanitized.Text, ScanTarget.ToolResult);
            var hiddenScan = sanitized.HiddenText.Length > 0 ? detector.Scan(sanitized.HiddenText, ScanTarget.ToolResult) : InjectionScan.Clean;
            bool smuggled = sanitized.Findings.Any(f => f.RuleId == "unicode.tag-characters" && f.Decoded is { Length: >= 8 });
            score = Math.Max(Math.Max(scan.Score, hiddenScan.Score), smuggled ? 0.9 : 0);
            rules = scan.Findings.Concat(hiddenScan.Findings).Select(f => f.RuleId).Concat(smuggled ? ["sanitizer.hidden-ascii"] : []);
            if (explain.Contains(id))
            {
                string t = Text(r)!;
                foreach (var f in scan.Findings)
                {
                    Console.WriteLine($"EXPLAIN {id} {f.RuleId} {f.Score}: {t.Substring(f.Start, Math.Min(f.Length, 160)).ReplaceLineEndings(" ")}");
                }
            }
        }

        records.Add(new Outcome(fileName, kind, malicious, attack, server, id, score >= detector.Threshold, score, string.Join(",", rules.Distinct())));
    }
}

Console.WriteLine();
Console.WriteLine("== per file");
foreach (var g in records.GroupBy(r => r.File))
{
    var o = g.ToList();
    Console.WriteLine(o[0].Malicious
        ? $"{g.Key,-28} n={o.Count,5}  recall={Ratio(o.Count(x => x.Flagged), o.Count)}"
        : $"{g.Key,-28} n={o.Count,5}  fpr={Ratio(o.Count(x => x.Flagged), o.Count)}");
}

Console.WriteLine();
Console.WriteLine("== recall per kind and attack class");
foreach (var g in records.Where(r => r.Malicious).GroupBy(r => (r.Kind, r.Attack)).OrderBy(g => g.Key.Kind).ThenBy(g => g.Key.Attack, StringComparer.Ordinal))
{
    string note = g.Key.Kind == "tool" && IsSemantic(g.Key.Attack) ? "  (semantic: not in tools.recall)" : string.Empty;
    Console.WriteLine($"{g.Key.Kind,-7} {g.Key.Attack,-48} n={g.Count(),4}  recall={Ratio(g.Count(x => x.Flagged), g.Count())}{note}");
}

Console.WriteLine();
Console.WriteLine("== recall per source family (hold-out view)");
foreach (var g in records.Where(r => r.Malicious).GroupBy(r => (r.Kind, Family(r.Server))).OrderBy(g => g.Key.Kind).ThenBy(g => g.Key.Item2, StringComparer.Ordinal))
{
    var visible = g.Where(x => x.Kind != "tool" || !IsSemantic(x.Attack)).ToList();
    Console.WriteLine($"{g.Key.Kind,-7} {g.Key.Item2,-28} n={visible.Count,4}  recall={Ratio(visible.Count(x => x.Flagged), visible.Count)}");
}

Console.WriteLine();
Console.WriteLine("== false positives per benign source family");
foreach (var g in records.Where(r => !r.Malicious).GroupBy(r => (r.Kind, Family(r.Server))).OrderBy(g => g.Key.Kind).ThenBy(g => g.Key.Item2, StringComparer.Ordinal))
{
    Console.WriteLine($"{g.Key.Kind,-7} {g.Key.Item2,-28} n={g.Count(),4}  fpr={Ratio(g.Count(x => x.Flagged), g.Count())}");
}

Console.WriteLine();
Console.WriteLine("== worst benign servers (by false-positive count)");
foreach (var g in records.Where(r => !r.Malicious && r.Flagged).GroupBy(r => (r.Kind, r.Server)).OrderByDescending(g => g.Count()).ThenBy(g => g.Key.Server, StringComparer.Ordinal).Take(10))
{
    int total = records.Count(r => !r.Malicious && r.Kind == g.Key.Kind && r.Server == g.Key.Server);
    Console.WriteLine($"{g.Key.Kind,-7} {g.Key.Server,-44} fp={g.Count(),3}/{total,-4} rules={string.Join(" ", g.SelectMany(x => x.Rules.Split(',')).Distinct().Take(6))}");
}

if (!records.Any(r => !r.Malicious && r.Flagged))
{
    Console.WriteLine("(no false positives)");
}

Console.WriteLine();
Console.WriteLine($"== highest-scoring benign records (threshold {detector.Threshold.ToString("0.00", inv)})");
foreach (var r in records.Where(r => !r.Malicious && r.Score > 0).OrderByDescending(r => r.Score).Take(10))
{
    Console.WriteLine($"{r.Kind,-7} {r.Server,-44} score={r.Score.ToString("0.00", inv)} rules={r.Rules}");
}

if (showFp)
{
    Console.WriteLine();
    Console.WriteLine("== false positives");
    foreach (var r in records.Where(r => !r.Malicious && r.Flagged))
    {
        Console.WriteLine($"FP {r.Kind} {r.Id} score={r.Score.ToString("0.00", inv)} {r.Rules}");
    }
}

if (showMisses)
{
    Console.WriteLine();
    Console.WriteLine("== misses");
    foreach (var r in records.Where(r => r.Malicious && !r.Flagged && (r.Kind != "tool" || !IsSemantic(r.Attack))))
    {
        Console.WriteLine($"MISS {r.Kind} {r.Attack} {r.Id} score={r.Score.ToString("0.00", inv)} {r.Rules}");
    }
}

var toolsVisible = records.Where(r => r.Kind == "tool" && r.Malicious && !IsSemantic(r.Attack)).ToList();
var toolsSemantic = records.Where(r => r.Kind == "tool" && r.Malicious && IsSemantic(r.Attack)).ToList();
var toolsBenign = records.Where(r => r.Kind == "tool" && !r.Malicious).ToList();
var resultsMal = records.Where(r => r.Kind == "result" && r.Malicious).ToList();
var resultsBenign = records.Where(r => r.Kind == "result" && !r.Malicious).ToList();

double toolsRecall = Rate(toolsVisible), toolsFpr = Rate(toolsBenign), resultsRecall = Rate(resultsMal), resultsFpr = Rate(resultsBenign);
Console.WriteLine();
Console.WriteLine($"tools.semantic.recall={F(Rate(toolsSemantic))} (n={toolsSemantic.Count}; name-collision, preference-manipulation, out-of-scope-parameter; not in tools.recall)");
foreach (var g in toolsSemantic.GroupBy(r => r.Attack).OrderBy(g => g.Key, StringComparer.Ordinal))
{
    Console.WriteLine($"tools.{g.Key}.recall={F(Rate(g.ToList()))} (n={g.Count()})");
}

Console.WriteLine($"tools.recall counts n={toolsVisible.Count}: {string.Join(", ", toolsVisible.Select(r => r.Attack).Distinct().Order(StringComparer.Ordinal))}");
Console.WriteLine($"elapsed={started.Elapsed.TotalSeconds.ToString("0.0", inv)}s records={records.Count}");

int exitCode = 0;
if (floorPath is not null)
{
    using var floorDoc = JsonDocument.Parse(File.ReadAllText(floorPath));
    JsonElement fl = floorDoc.RootElement;
    exitCode |= CheckMin("tools.recall", toolsRecall);
    exitCode |= CheckMax("tools.fpr", toolsFpr);
    exitCode |= CheckMin("results.recall", resultsRecall);
    exitCode |= CheckMax("results.fpr", resultsFpr);

    int CheckMin(string key, double value)
    {
        if (fl.TryGetProperty(key, out JsonElement v) && value < v.GetDouble())
        {
            Console.WriteLine($"FLOOR FAILED {key}={F(value)} < {F(v.GetDouble())}");
            return 1;
        }

        return 0;
    }

    int CheckMax(string key, double value)
    {
        if (fl.TryGetProperty(key, out JsonElement v) && value > v.GetDouble())
        {
            Console.WriteLine($"FLOOR FAILED {key}={F(value)} > {F(v.GetDouble())}");
            return 1;
        }

        return 0;
    }
}

Console.WriteLine($"EVAL tools.recall={F(toolsRecall)} tools.fpr={F(toolsFpr)} results.recall={F(resultsRecall)} results.fpr={F(resultsFpr)}");
return exitCode;

static string? Str(JsonElement e, string name) => e.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

// A result's text is usually a string; some records hold the structured JSON a tool returned, scanned as serialized.
static string? Text(JsonElement e) => e.TryGetProperty("text", out JsonElement v) ? v.ValueKind switch
{
    JsonValueKind.String => v.GetString(),
    JsonValueKind.Object or JsonValueKind.Array => v.GetRawText(),
    _ => null,
} : null;

static JsonElement? Obj(JsonElement e, string name) => e.TryGetProperty(name, out JsonElement v) && v.ValueKind is JsonValueKind.Object or JsonValueKind.Array ? v : null;

static double Rate(List<Outcome> o) => o.Count == 0 ? 0 : (double)o.Count(x => x.Flagged) / o.Count;

static string F(double v) => v.ToString("0.000", CultureInfo.InvariantCulture);

static string Ratio(int k, int n) => $"{F(n == 0 ? 0 : (double)k / n)} ({k}/{n})";

// "agentdojo-banking" -> "agentdojo"; "npm:..." servers keep their name.
static string Family(string server)
{
    int dash = server.IndexOf('-', StringComparison.Ordinal);
    return dash > 0 ? server[..dash] : server;
}

internal sealed record Outcome(string File, string Kind, bool Malicious, string Attack, string Server, string Id, bool Flagged, double Score, string Rules);
