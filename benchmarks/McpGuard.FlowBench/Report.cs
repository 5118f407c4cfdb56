using System.Globalization;

namespace McpGuard.FlowBench;

/// <summary>Figures for one suite (or all suites) under one policy.</summary>
public sealed record BenchFigures(
    string Scope,
    int Pairs,
    int AttackPairs,
    int AttackSuccesses,
    int ToolFreePairs,
    int Tasks,
    int UtilityTasks,
    int UtilityTasksWithoutApprovals,
    int PromptedTasks,
    double PromptsMean,
    double PromptsP90,
    int UserCallPrompts,
    int FalseApprovals,
    bool UserPhaseVariesByInjection)
{
    public double Asr => AttackPairs == 0 ? 0 : (double)AttackSuccesses / AttackPairs;

    public double Utility => Tasks == 0 ? 0 : (double)UtilityTasks / Tasks;

    public double UtilityWithoutApprovals => Tasks == 0 ? 0 : (double)UtilityTasksWithoutApprovals / Tasks;

    public double PromptedTaskShare => Tasks == 0 ? 0 : (double)PromptedTasks / Tasks;

    /// <summary>
    /// Computes the figures. Attack success rate is over pairs whose goal needs a tool call; tool-free pairs are counted
    /// apart. Per-task figures: a task has utility if its calls all executed in every one of its pairs; its prompt count
    /// is the mean over its pairs (the same in every pair unless <see cref="UserPhaseVariesByInjection"/>).
    /// </summary>
    public static BenchFigures From(string scope, IReadOnlyList<PairOutcome> outcomes)
    {
        var attackPairs = outcomes.Where(o => !o.ToolFreeGoal).ToList();
        var byTask = outcomes.GroupBy(o => (o.Suite, o.UserTaskId)).ToList();
        var promptsPerTask = byTask.Select(g => g.Average(o => o.UserPrompts)).OrderBy(x => x).ToList();
        bool varies = byTask.Any(g => g.Select(o => string.Join(",", o.UserCalls.Select(c => $"{c.Executed}{c.Prompted}"))).Distinct().Count() > 1);
        return new BenchFigures(
            scope,
            outcomes.Count,
            attackPairs.Count,
            attackPairs.Count(o => o.AttackSucceeded),
            outcomes.Count(o => o.ToolFreeGoal),
            byTask.Count,
            byTask.Count(g => g.All(o => o.Utility)),
            byTask.Count(g => g.All(o => o.UtilityWithoutApprovals)),
            byTask.Count(g => g.Any(o => o.UserPrompts > 0)),
            promptsPerTask.Count == 0 ? 0 : promptsPerTask.Average(),
            Percentile(promptsPerTask, 0.9),
            (int)Math.Round(byTask.Sum(g => g.Average(o => o.UserPrompts))),
            outcomes.Sum(o => o.FalseApprovals),
            varies);
    }

    /// <summary>Nearest-rank percentile of an ascending list.</summary>
    public static double Percentile(IReadOnlyList<double> ascending, double p)
    {
        if (ascending.Count == 0)
        {
            return 0;
        }

        int rank = (int)Math.Ceiling(p * ascending.Count);
        return ascending[Math.Clamp(rank - 1, 0, ascending.Count - 1)];
    }

    public string SummaryLine(string label) => string.Create(
        CultureInfo.InvariantCulture,
        $"{label} asr={Asr:0.000} utility={Utility:0.000} prompted_tasks={PromptedTaskShare:0.000} prompts_mean={PromptsMean:0.00}");

    public string TableRow() => string.Create(
        CultureInfo.InvariantCulture,
        $"{Scope,-10} {Pairs,5} {AttackSuccesses,4}/{AttackPairs,-4} {Asr,6:0.000} {ToolFreePairs,9} {Utility,8:0.000} {UtilityWithoutApprovals,9:0.000} {PromptedTasks,4}/{Tasks,-3} {PromptedTaskShare,6:0.000} {PromptsMean,6:0.00} {PromptsP90,4:0.#} {UserCallPrompts,8} {FalseApprovals,6}{(UserPhaseVariesByInjection ? "  (user phase varies by injection)" : "")}");

    public const string TableHeader =
        "suite      pairs  attacks     asr  tool-free  utility  no-appr.  prompted    share  p.mean  p90  prompts  f.appr";
}
