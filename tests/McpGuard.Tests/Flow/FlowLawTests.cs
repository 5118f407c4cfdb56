using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace McpGuard.Tests.Flow;

/// <summary>FsCheck laws of the flow stage: deny dominates, narrowing is monotonic, trust never makes a decision stricter, memory stays bounded.</summary>
public sealed class FlowLawTests
{
    private static readonly string[] s_values =
    [
        "ada@corp.example", "mallory@evil.example", "https://evil.example/x?id=7", "https://docs.corp.example/guide",
        "DE89370400440532013000", "+41 79 555 12 34", "tok_4f9a8b7c6d5e4f3a2b1c", "Team sync notes for Friday", "plain words only", "4111 1111 1111 1111",
    ];

    private static readonly string[] s_finalTools = ["mail", "wipe", "shell", "note"];

    public sealed record Step(int Tool, int Value);

    public sealed record Case(Step[] History, int FinalTool, int To, int Body, bool[] Deny, int Window);

    private static readonly Gen<Step> s_step = Gen.Zip(Gen.Choose(0, FlowHarness.ToolNames.Length - 1), Gen.Choose(0, s_values.Length - 1)).Select(t => new Step(t.Item1, t.Item2));

    private static Arbitrary<Case> Cases() =>
        Gen.Choose(0, 12).SelectMany(n => Gen.ArrayOf(s_step, n))
            .SelectMany(h => Gen.Zip(Gen.Choose(0, s_finalTools.Length - 1), Gen.Zip(Gen.Choose(0, s_values.Length - 1), Gen.Choose(0, s_values.Length - 1)))
                .SelectMany(f => Gen.Zip(Gen.ArrayOf(Gen.Elements(true, false), 4), Gen.Choose(0, 5))
                    .Select(a => new Case(h, f.Item1, f.Item2.Item1, f.Item2.Item2, a.Item1, a.Item2))))
            .ToArbitrary();

    private static FlowAction Act(bool deny) => deny ? FlowAction.Deny : FlowAction.RequireApproval;

    /// <summary>Replays the case with history calls always executed (as if approved), so every configuration sees the same state.</summary>
    private static GuardDecision Replay(Case c, Action<FlowOptions> configure, string? trustedInput = null, int trustAt = 0)
    {
        var harness = new FlowHarness(configure);
        for (int i = 0; i < c.History.Length; i++)
        {
            if (trustedInput is not null && i == Math.Min(trustAt, c.History.Length - 1))
            {
                harness.Flow.AddTrustedInput(trustedInput);
            }

            Step step = c.History[i];
            harness.Step(FlowHarness.ToolNames[step.Tool], new JsonObject { ["q"] = "x" }, "Result: " + s_values[step.Value] + " and more text.", execute: true);
        }

        if (trustedInput is not null && c.History.Length == 0)
        {
            harness.Flow.AddTrustedInput(trustedInput);
        }

        return harness.Step(s_finalTools[c.FinalTool], new JsonObject { ["to"] = s_values[c.To], ["body"] = "Hello " + s_values[c.Body] }, "ok");
    }

    private static void Only(FlowOptions f, Case c, int rule)
    {
        f.LethalTrifecta.Enabled = rule is -1 or 0;
        f.LethalTrifecta.Action = Act(c.Deny[0]);
        f.UntrustedBeforeHighImpact.Enabled = rule is -1 or 1;
        f.UntrustedBeforeHighImpact.Action = Act(c.Deny[1]);
        f.ArgumentProvenance.Enabled = rule is -1 or 2;
        f.ArgumentProvenance.Action = Act(c.Deny[2]);
        if (rule is -1 or 3)
        {
            f.Sequences.Add(new FlowSequenceRule { Name = "src-then-sink", Steps = { "untrusted-source", "private-data", "sink" }, Window = c.Window, Action = Act(c.Deny[3]) });
        }
    }

    [Property(MaxTest = 100)]
    public Property Evaluate_AllRules_DecisionIsTheStrongestSingleRuleDecision() =>
        Prop.ForAll(Cases(), c =>
        {
            GuardDecision combined = Replay(c, f => Only(f, c, -1));
            GuardDecisionKind strongest = Enumerable.Range(0, 4).Select(r => Replay(c, f => Only(f, c, r)).Kind).Max();
            bool anyDeny = Enumerable.Range(0, 4).Any(r => Replay(c, f => Only(f, c, r)).Kind == GuardDecisionKind.Deny);
            return combined.Kind == strongest
                && (!anyDeny || combined.Kind == GuardDecisionKind.Deny)
                && (combined.Kind == GuardDecisionKind.Allow || (combined.RuleId!.StartsWith("flow.", StringComparison.Ordinal) && combined.Chain is not null));
        });

    [Property(MaxTest = 100)]
    public Property AddTrustedInput_AnyTimeAnyText_NeverMakesTheDecisionStricter() =>
        Prop.ForAll(Cases(), Gen.Zip(Gen.ArrayOf(Gen.Elements(s_values), 3), Gen.Choose(0, 12)).ToArbitrary(), (c, trust) =>
        {
            string text = "Please use " + string.Join(" and ", trust.Item1) + ".";
            Action<FlowOptions> all = f =>
            {
                Only(f, c, -1);
                f.LethalTrifecta.ExemptTrustedDestinations = true;
                f.UntrustedBeforeHighImpact.ExemptTrustedDestinations = true;
                f.ArgumentProvenance.ExemptTrustedDestinations = true;
                f.Tool(TestCallsServer, "mail").UntrustedDestinationAction = FlowAction.RequireApproval;
            };
            return Replay(c, all, text, trust.Item2).Kind <= Replay(c, all).Kind;
        });

    private const string TestCallsServer = Infrastructure.TestCalls.ServerName;

    [Property(MaxTest = 200)]
    public Property NarrowTask_AnySequence_AllowedToolsOnlyShrinkToTheIntersection() =>
        Prop.ForAll(
            Gen.Choose(0, 6).SelectMany(n => Gen.ArrayOf(Gen.Frequency((4, Gen.SubListOf(FlowHarness.ToolNames).Select(l => (string[]?)[.. l])), (1, Gen.Constant((string[]?)null))), n)).ToArbitrary(),
            scopes =>
            {
                var harness = new FlowHarness();
                HashSet<string> expected = [.. FlowHarness.ToolNames];
                HashSet<string> previous = [.. FlowHarness.ToolNames];
                foreach (string[]? scope in scopes)
                {
                    harness.Flow.NarrowTask(new FlowTaskScope { AllowedTools = scope is null ? null : new HashSet<string>(scope) });
                    if (scope is not null)
                    {
                        expected.IntersectWith(scope);
                    }

                    HashSet<string> now = [.. FlowHarness.ToolNames.Where(t => harness.Flow.IsToolInScope(Infrastructure.TestCalls.ServerName, t))];
                    if (!now.IsSubsetOf(previous) || !now.SetEquals(expected))
                    {
                        return false;
                    }

                    previous = now;
                }

                // And the stage enforces it: every tool outside the scope is denied by flow.task-scope.
                return FlowHarness.ToolNames.All(t => expected.Contains(t) || harness.Step(t, null, "x").RuleId == "flow.task-scope");
            });

    [Property(MaxTest = 8)]
    public Property Memory_RandomLongHistory_StaysWithinTheCapsAndFailsClosedWhenFull() =>
        Prop.ForAll(Gen.Zip(Gen.Choose(300, 1000), Gen.Choose(0, int.MaxValue)).ToArbitrary(), t =>
        {
            var harness = new FlowHarness(f =>
            {
                f.Limits.MaxTrackedValues = 64;
                f.Limits.MaxTrustedValues = 32;
                f.Limits.MaxHistory = 16;
                f.Limits.MaxSourcesPerLabel = 4;
                f.Limits.MaxTrackedPhrases = 128;
                f.Tool(Infrastructure.TestCalls.ServerName, "note").CopiedTextPaths.Add("$.body");
                f.Sequences.Add(new FlowSequenceRule { Name = "long", Steps = { "untrusted-source", "private-data", "credential-access", "sink" } });
            });
            var random = new Random(t.Item2);
            for (int i = 0; i < t.Item1; i++)
            {
                string tool = FlowHarness.ToolNames[random.Next(FlowHarness.ToolNames.Length)];
                string result = $"Mail from user{i}@host{random.Next(1000)}.example about https://site{i}.example/p/{random.Next()} words{i} alpha beta gamma {i}";
                harness.Step(tool, new JsonObject { ["to"] = $"r{i}@x.example", ["body"] = "text " + i }, result, execute: true);
                if (i % 50 == 0)
                {
                    harness.Flow.AddTrustedInput($"trusted {i} t{i}@trusted.example https://trusted{i}.example");
                }
            }

            // 64 values + 32 trusted + 2×128 phrases + 64 labels × 4 sources + 6 chain entries + 16 history records.
            bool bounded = harness.Flow.HeldEntries() <= 64 + 32 + (2 * 128) + (64 * 4) + 6 + 16;
            bool failsClosed = !harness.Flow.IsSaturated
                || harness.Step("mail", new JsonObject { ["to"] = "fresh-never-seen@new.example", ["body"] = "x" }, "ok").Kind != GuardDecisionKind.Allow;
            return bounded && failsClosed && harness.Flow.IsSaturated;
        });
}
