using System.Text.Json;

namespace McpGuard.Tests.Integration.Conformance;

/// <summary>
/// The outcome of one conformance scenario run, judged the way the runner judges a single scenario: it passes only if
/// the runner exited 0 (so the client neither timed out nor failed, unless the scenario allows a client error) and
/// <c>checks.json</c> has at least one <c>SUCCESS</c> and no <c>FAILURE</c> or <c>WARNING</c>.
/// </summary>
internal sealed record ConformanceVerdict(bool Passed, int Successes, int Failures, int Warnings, IReadOnlyList<string> Problems)
{
    public static ConformanceVerdict Missing(string why) => new(false, 0, 0, 0, [why]);

    /// <summary>Judges a run from its <c>checks.json</c> text (an array of <c>{ id, status, ... }</c>) and the runner's exit code.</summary>
    public static ConformanceVerdict Evaluate(string checksJson, int runnerExitCode)
    {
        using JsonDocument document = JsonDocument.Parse(checksJson);
        if (document.RootElement.ValueKind != JsonValueKind.Array)
        {
            return Missing("checks.json is not an array");
        }

        int successes = 0, failures = 0, warnings = 0;
        var problems = new List<string>();
        foreach (JsonElement check in document.RootElement.EnumerateArray())
        {
            string id = check.TryGetProperty("id", out JsonElement i) ? i.GetString() ?? "?" : "?";
            switch (check.TryGetProperty("status", out JsonElement s) ? s.GetString() : null)
            {
                case "SUCCESS":
                    successes++;
                    break;
                case "FAILURE":
                    failures++;
                    problems.Add("FAILURE " + id);
                    break;
                case "WARNING":
                    warnings++;
                    problems.Add("WARNING " + id);
                    break;
            }
        }

        if (successes == 0)
        {
            problems.Add("no successful check");
        }

        if (runnerExitCode != 0)
        {
            problems.Add($"runner exit code {runnerExitCode}");
        }

        return new ConformanceVerdict(runnerExitCode == 0 && failures == 0 && warnings == 0 && successes > 0, successes, failures, warnings, problems);
    }

    public override string ToString() =>
        (Passed ? "PASS" : "FAIL") + $" ({Successes} ok, {Failures} failed, {Warnings} warnings)" + (Problems.Count > 0 ? ": " + string.Join("; ", Problems) : string.Empty);
}
