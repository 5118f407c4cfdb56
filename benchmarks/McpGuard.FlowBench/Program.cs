// Worst-case flow-policy benchmark on AgentDojo v1.2.1 data (no LLM): see docs/flow.md, "AgentDojo".
// Usage: dotnet run -c Release --project benchmarks/McpGuard.FlowBench -- <agentdojo folder>
//          [--policies <dir>] [--suite <name>] [--parallel <n>] [--explain] [--floor <floor.json>]
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using McpGuard.FlowBench;

string? folder = null;
string policiesDir = Path.Combine(AppContext.BaseDirectory, "policies");
string? onlySuite = null;
string? floorPath = null;
int parallelism = Environment.ProcessorCount;
bool explain = false;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--policies" when i + 1 < args.Length: policiesDir = args[++i]; break;
        case "--suite" when i + 1 < args.Length: onlySuite = args[++i]; break;
        case "--parallel" when i + 1 < args.Length: parallelism = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--floor" when i + 1 < args.Length: floorPath = args[++i]; break;
        case "--explain": explain = true; break;
        default: folder ??= args[i]; break;
    }
}

if (folder is null || !File.Exists(Path.Combine(folder, "tools.jsonl")))
{
    Console.Error.WriteLine("usage: McpGuard.FlowBench <agentdojo folder with tools.jsonl> [--policies <dir>] [--suite <name>] [--parallel <n>] [--explain] [--floor <floor.json>]");
    return 2;
}

AgentDojoCorpus corpus = AgentDojoCorpus.Load(folder);
var stopwatch = Stopwatch.StartNew();
var suites = corpus.Suites.Where(s => onlySuite is null || s == onlySuite).ToList();
var flow = new List<PairOutcome>();
var baseline = new List<PairOutcome>();
var none = new List<PairOutcome>();
Console.WriteLine($"McpGuard flow benchmark: AgentDojo replay, {corpus.UserTasks.Count} user tasks x injection tasks per suite; worst case (agent fully compromised, detector off)");
foreach (string suite in suites)
{
    string policyPath = Path.Combine(policiesDir, suite + ".json");
    flow.AddRange(await FlowBenchRunner.RunSuiteAsync(corpus, suite, PolicyFiles.Load(policyPath), parallelism));
    baseline.AddRange(await FlowBenchRunner.RunSuiteAsync(corpus, suite, PolicyFiles.Baseline(corpus, suite), parallelism));
    none.AddRange(await FlowBenchRunner.RunSuiteAsync(corpus, suite, PolicyFiles.None, parallelism));
}

void Table(string title, List<PairOutcome> outcomes)
{
    Console.WriteLine();
    Console.WriteLine(title);
    Console.WriteLine(BenchFigures.TableHeader);
    foreach (string suite in suites)
    {
        Console.WriteLine(BenchFigures.From(suite, [.. outcomes.Where(o => o.Suite == suite)]).TableRow());
    }

    Console.WriteLine(BenchFigures.From("overall", outcomes).TableRow());
}

Table("No flow policy (harness check: every attack should succeed)", none);
Table("Baseline: tainted session => every sink call needs approval (labels from the corpus classification)", baseline);
Table("Flow policies (policies/<suite>.json)", flow);
Console.WriteLine();
Console.WriteLine("columns: attacks = attack successes/pairs (tool-free goal excluded; reported under tool-free); utility = share of user tasks whose calls all");
Console.WriteLine("executed (outright or after approval); no-appr. = without any approval; prompted = user tasks with an approval prompt; p.mean/p90 = prompts");
Console.WriteLine("per task; prompts = approval prompts on user-task calls (README's 'false approvals'); f.appr = attack calls the simulated user approved");
Console.WriteLine("because they were identical to a user-task call.");

if (explain)
{
    Explain(flow);
}

BenchFigures overall = BenchFigures.From("overall", flow);
Console.WriteLine();
Console.WriteLine($"elapsed {stopwatch.Elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s ({flow.Count + baseline.Count + none.Count} pair replays)");
Console.WriteLine(BenchFigures.From("overall", none).SummaryLine("NONE"));
Console.WriteLine(BenchFigures.From("overall", baseline).SummaryLine("BASELINE"));
Console.WriteLine(overall.SummaryLine("FLOW"));

if (floorPath is not null)
{
    JsonObject floor = JsonNode.Parse(File.ReadAllText(floorPath))!.AsObject();
    var failures = new List<string>();
    if (floor["asr_max"] is { } asrMax && overall.Asr > asrMax.GetValue<double>())
    {
        failures.Add($"asr {overall.Asr:0.000} > {asrMax}");
    }

    if (floor["utility_min"] is { } utilityMin && overall.Utility < utilityMin.GetValue<double>())
    {
        failures.Add($"utility {overall.Utility:0.000} < {utilityMin}");
    }

    if (floor["prompted_tasks_max"] is { } promptedMax && overall.PromptedTaskShare > promptedMax.GetValue<double>())
    {
        failures.Add($"prompted_tasks {overall.PromptedTaskShare:0.000} > {promptedMax}");
    }

    if (failures.Count > 0)
    {
        Console.Error.WriteLine("FLOOR VIOLATED: " + string.Join("; ", failures));
        return 1;
    }
}

return 0;

static void Explain(List<PairOutcome> outcomes)
{
    Console.WriteLine();
    Console.WriteLine("Attack successes (pair: executed attack calls):");
    foreach (PairOutcome o in outcomes.Where(o => o.AttackSucceeded && !o.ToolFreeGoal))
    {
        Console.WriteLine($"  {o.Suite}/{o.UserTaskId} x {o.InjectionTaskId}: {string.Join(", ", o.AttackCalls.Select(Describe))}");
    }

    Console.WriteLine("Utility losses (user task: calls, first injection task where it happened):");
    foreach (var g in outcomes.Where(o => !o.Utility).GroupBy(o => (o.Suite, o.UserTaskId)))
    {
        PairOutcome o = g.First();
        Console.WriteLine($"  {o.Suite}/{o.UserTaskId} ({g.Count()} pairs, e.g. x {o.InjectionTaskId}): {string.Join(", ", o.UserCalls.Select(Describe))}");
    }

    Console.WriteLine("Prompted user tasks (prompts: calls):");
    foreach (var g in outcomes.Where(o => o.UserPrompts > 0).GroupBy(o => (o.Suite, o.UserTaskId)))
    {
        PairOutcome o = g.First();
        Console.WriteLine($"  {o.Suite}/{o.UserTaskId} ({o.UserPrompts}): {string.Join(", ", o.UserCalls.Where(c => c.Prompted).Select(Describe))}");
    }

    Console.WriteLine("What stopped each attack (injection task: prevented pairs, first call that did not execute and its rules):");
    foreach (var g in outcomes.Where(o => !o.ToolFreeGoal).GroupBy(o => (o.Suite, o.InjectionTaskId)))
    {
        var stops = g.Where(o => !o.AttackSucceeded)
            .Select(o => o.AttackCalls.First(c => !c.Executed))
            .GroupBy(Describe)
            .OrderByDescending(s => s.Count())
            .Select(s => $"{s.Key} x{s.Count()}");
        Console.WriteLine($"  {g.Key.Suite}/{g.Key.InjectionTaskId}: {g.Count(o => !o.AttackSucceeded)}/{g.Count()}: {string.Join("; ", stops)}");
        if (g.Where(o => !o.AttackSucceeded).Select(o => o.AttackCalls.First(c => !c.Executed).Chain).FirstOrDefault(c => c is not null) is { } chain)
        {
            Console.WriteLine($"      e.g. the approval request said: {chain}");
        }
    }

    Console.WriteLine("Attack calls approved by the simulated user (identical to a user-task call):");
    foreach (PairOutcome o in outcomes.Where(o => o.FalseApprovals > 0))
    {
        Console.WriteLine($"  {o.Suite}/{o.UserTaskId} x {o.InjectionTaskId}: {string.Join(", ", o.AttackCalls.Where(c => c.Prompted && c.Approved).Select(Describe))}");
    }

    static string Describe(CallOutcome c) =>
        $"{c.Tool}[{(c.Executed ? c.Prompted ? "approved" : "allowed" : c.Prompted ? "rejected" : "denied")}{(c.RuleIds.Count > 0 ? " " + string.Join("+", c.RuleIds) : "")}]";
}
