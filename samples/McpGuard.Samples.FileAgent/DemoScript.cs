using ModelContextProtocol.Client;

namespace McpGuard.Samples.FileAgent;

/// <summary>
/// <c>--demo</c>: a fixed script, no input. Each step states the decision and rule it expects; the script also checks
/// that the harmful effects did not happen. Exit code 0 only when everything behaved as expected.
/// </summary>
internal static class DemoScript
{
    private sealed record Step(int Number, string Tool, Dictionary<string, object?> Arguments, string Shown, string Expected, Func<CallReport, string?> Check);

    public static async Task<int> RunAsync(GuardedCalls calls, Sandbox sandbox, RejectingApprover approver, string evidencePath, TextWriter output)
    {
        var failures = new List<string>();
        char sep = Path.DirectorySeparatorChar;
        string draft = Path.Combine(sandbox.Root, "draft.txt");
        string throughDotDot = sandbox.Root + sep + ".." + sep + "outside" + sep + "secret.txt";
        string movedTo = Path.Combine(sandbox.Outside, "notes.txt");

        // What the model would be shown: hidden tools are not in the list at all.
        IList<McpClientTool> visible = await calls.Client.ListToolsAsync();
        int hidden = (calls.Evidence.Last(GuardEvidenceKind.ToolsListed)?.Details?["hidden"]?.AsObject().Count) ?? 0;
        output.WriteLine($"tools the agent can see: {string.Join(", ", visible.Select(t => t.Name))} ({hidden} more hidden by policy)");
        output.WriteLine();

        Step[] steps =
        [
            new(1, "list_directory", new() { ["path"] = sandbox.Root }, "sandbox", "ALLOW",
                r => r.Text.Contains("notes.txt", StringComparison.Ordinal) ? null : "the listing does not show notes.txt"),
            new(2, "read_text_file", new() { ["path"] = sandbox.NotesFile }, "sandbox/notes.txt", "ALLOW",
                r => r.Text.Contains(Sandbox.NotesContent.Trim(), StringComparison.Ordinal) ? null : "the file content was not returned"),
            new(3, "write_file", new() { ["path"] = draft, ["content"] = "draft written by the agent" }, "sandbox/draft.txt", "DENY (approval.rejected)",
                _ => File.Exists(draft) ? "sandbox/draft.txt exists: the write happened" : null),
            new(4, "read_text_file", new() { ["path"] = throughDotDot }, sandbox.Display(throughDotDot), "DENY (argument.path-outside-roots)",
                _ => null),
            new(5, "read_text_file", new() { ["path"] = sandbox.SymlinkToSecret }, "sandbox/link-to-secret.txt (symlink to ../outside/secret.txt)", "DENY (argument.path-outside-roots)",
                _ => null),
            new(6, "move_file", new() { ["source"] = sandbox.NotesFile, ["destination"] = movedTo }, "sandbox/notes.txt to outside/notes.txt", "DENY (tool.hidden)",
                _ => File.Exists(movedTo) || !File.Exists(sandbox.NotesFile) ? "notes.txt was moved" : null),
        ];

        int width = steps.Max(s => s.Tool.Length + s.Shown.Length) + 2;
        var reports = new List<CallReport>();
        foreach (Step step in steps)
        {
            string label = $"[{step.Number}] {step.Tool} {step.Shown}".PadRight(width + 5);
            if (step.Number == 5 && !sandbox.HasSymlink)
            {
                output.WriteLine($"{label} -> SKIPPED (symbolic links cannot be created on this machine)");
                continue;
            }

            CallReport report = await calls.CallAsync(step.Tool, step.Arguments);
            reports.Add(report);
            output.WriteLine($"{label} -> {report.VerdictWithRule}");

            var problems = new List<string>();
            if (report.VerdictWithRule != step.Expected)
            {
                problems.Add($"expected {step.Expected}");
            }

            // A denied call must never reach the server (no outcome event) and must look like a tool error to the caller;
            // an allowed call must have reached the server and succeeded.
            if (report.Allowed && report.Outcome?.Outcome?.Status != "result")
            {
                problems.Add($"the allowed call did not succeed at the server (outcome: {report.Outcome?.Outcome?.Status ?? "none"}): {TerminalText.Safe(report.Text)}");
            }

            if (!report.Allowed && (report.Outcome is not null || report.Result.IsError != true))
            {
                problems.Add("the denied call reached the server or did not return an error result");
            }

            if (step.Check(report) is { } effect)
            {
                problems.Add(effect);
            }

            foreach (string problem in problems)
            {
                output.WriteLine($"      FAILED: {problem}");
                failures.Add($"step {step.Number}: {problem}");
            }
        }

        // Checks across the whole run.
        output.WriteLine();
        Check(failures, output, reports.All(r => !r.Text.Contains(sandbox.Secret, StringComparison.Ordinal)),
            "the secret's content never appeared in any result");
        Check(failures, output, !File.Exists(draft), "sandbox/draft.txt was not written");
        Check(failures, output, File.Exists(sandbox.NotesFile) && !File.Exists(movedTo), "sandbox/notes.txt was not moved");
        Check(failures, output, approver.Requests.Count == 1 && approver.Requests[0].ToolName == "write_file"
                && approver.Requests[0].ArgumentsJson.Contains("draft written by the agent", StringComparison.Ordinal),
            "the approver was asked exactly once, for write_file, with the complete arguments");
        int lines = CountLines(evidencePath);
        Check(failures, output, lines > steps.Length, $"the evidence file has {lines} events");
        EvidenceChainReport chain = JsonLinesEvidenceVerifier.Verify(evidencePath);
        Check(failures, output, chain.Intact && chain.ChainedLines == lines, $"its hash chain is intact (head {chain.Head?[..16]}...)");

        output.WriteLine();
        output.WriteLine($"evidence (JSON Lines): {evidencePath}");
        output.WriteLine($"sandbox kept for inspection: {sandbox.RunDirectory}");
        output.WriteLine(failures.Count == 0
            ? "DEMO PASSED: every step was decided as expected and no harmful effect happened."
            : $"DEMO FAILED: {failures.Count} problem(s): {string.Join("; ", failures)}");
        return failures.Count == 0 ? 0 : 1;
    }

    private static void Check(List<string> failures, TextWriter output, bool ok, string what)
    {
        output.WriteLine($"check: {what} ... {(ok ? "ok" : "FAILED")}");
        if (!ok)
        {
            failures.Add(what);
        }
    }

    private static int CountLines(string path)
    {
        if (!File.Exists(path))
        {
            return 0;
        }

        // The guard keeps the file open for appending; share it for reading.
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        int count = 0;
        while (reader.ReadLine() is not null)
        {
            count++;
        }

        return count;
    }
}
