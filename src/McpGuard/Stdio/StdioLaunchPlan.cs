using System.Text.Json.Nodes;

namespace McpGuard.Stdio;

/// <summary>
/// Exactly what McpGuard runs for a stdio server: the process (<c>bwrap</c> or the server itself), its arguments and
/// environment, whether it is sandboxed and, if not, why; or why the launch is refused.
/// </summary>
internal sealed record StdioLaunchPlan(
    string FileName,
    IReadOnlyList<string> Arguments,
    string? WorkingDirectory,
    IReadOnlyDictionary<string, string?> Environment,
    StdioSandboxOptions Sandbox,
    BubblewrapStatus? Bubblewrap,
    bool Sandboxed,
    string? NotSandboxedReason,
    GuardDecision? Refusal)
{
    /// <summary>Why the sandbox runs without the process resource limits it was given (<see cref="StdioSandboxMode.Preferred"/>
    /// only; <see cref="StdioSandboxMode.Required"/> refuses the launch instead), or <see langword="null"/>.</summary>
    public string? LimitsNotAppliedReason { get; init; }

    /// <summary>The exact command line: the process and every argument, quoted where needed.</summary>
    public string CommandLine => Stdio.CommandLine.Format(FileName, Arguments);

    /// <summary>One line for the inventory: whether and how the server is sandboxed.</summary>
    public string Summary
    {
        get
        {
            StdioSandboxMode mode = Sandbox.Mode;
            if (Refusal is not null)
            {
                return $"{mode}: launch refused ({Refusal.RuleId}: {Refusal.Reason})";
            }

            if (!Sandboxed)
            {
                return mode == StdioSandboxMode.Off
                    ? "off (scrubbed environment only)"
                    : $"{mode}: NOT sandboxed ({NotSandboxedReason}); scrubbed environment only";
            }

            List<(string Path, bool Writable)> grants = Stdio.Bubblewrap.Grants(Sandbox);
            string ro = string.Join(", ", grants.Where(g => !g.Writable).Select(g => g.Path));
            string rw = string.Join(", ", grants.Where(g => g.Writable).Select(g => g.Path));
            return $"{mode}: bubblewrap{(Bubblewrap?.Version is { } v ? " (" + v + ")" : string.Empty)}; network: {(Sandbox.AllowNetwork ? "shared with the host" : "none")}; "
                + $"read-only: {(ro.Length == 0 ? "-" : ro)}; read-write: {(rw.Length == 0 ? "-" : rw)}"
                + (Sandbox.Limits.IsSet ? "; limits: " + Sandbox.Limits.ToJson().ToJsonString() : string.Empty)
                + (LimitsNotAppliedReason is { } why ? " (process limits NOT applied: " + why + ")" : string.Empty)
                + (Bubblewrap is { Checked: false } ? " (bwrap not yet self-checked)" : string.Empty);
        }
    }

    /// <summary>Evidence details: mode, sandboxing, grants, bubblewrap, and the names (never the values) of the child's environment variables.</summary>
    public JsonObject ToEvidenceDetails()
    {
        List<(string Path, bool Writable)> grants = Stdio.Bubblewrap.Grants(Sandbox);
        var details = new JsonObject
        {
            ["sandboxMode"] = Sandbox.Mode.ToString(),
            ["sandboxed"] = Sandboxed,
            ["commandLine"] = CommandLine,
            ["environmentVariables"] = new JsonArray([.. Environment.Keys.Order(StringComparer.Ordinal).Select(k => (JsonNode?)JsonValue.Create(k))]),
        };
        if (Sandboxed)
        {
            details["bubblewrap"] = Bubblewrap?.Path;
            details["bubblewrapVersion"] = Bubblewrap?.Version;
            details["network"] = Sandbox.AllowNetwork;
            details["readOnlyPaths"] = new JsonArray([.. grants.Where(g => !g.Writable).Select(g => (JsonNode?)JsonValue.Create(g.Path))]);
            details["readWritePaths"] = new JsonArray([.. grants.Where(g => g.Writable).Select(g => (JsonNode?)JsonValue.Create(g.Path))]);
            if (Sandbox.Limits.IsSet)
            {
                details["resourceLimits"] = Sandbox.Limits.ToJson();
            }

            if (LimitsNotAppliedReason is not null)
            {
                details["resourceLimitsNotApplied"] = LimitsNotAppliedReason;
            }
        }
        else if (NotSandboxedReason is not null)
        {
            details["notSandboxedReason"] = NotSandboxedReason;
        }

        return details;
    }
}

/// <summary>Turns <see cref="StdioLaunchOptions"/> into a <see cref="StdioLaunchPlan"/>: scrubbed environment, sandbox or not, refusal when a required sandbox cannot be had.</summary>
internal static class StdioLaunchPlanner
{
    /// <summary>The plan without running anything (for the inventory and the endpoint known before connecting); bubblewrap is located but not self-checked unless it already passed.</summary>
    public static StdioLaunchPlan Plan(StdioLaunchOptions stdio) =>
        Decide(stdio, stdio.BuildEnvironment(), stdio.Sandbox.Mode == StdioSandboxMode.Off ? null : Bubblewrap.Locate(stdio.Sandbox.BubblewrapPath), HostFileSystem.Instance);

    /// <summary>The plan for an actual launch: bubblewrap self-checked.</summary>
    public static async Task<StdioLaunchPlan> PrepareAsync(StdioLaunchOptions stdio, CancellationToken cancellationToken)
    {
        BubblewrapStatus? status = stdio.Sandbox.Mode == StdioSandboxMode.Off
            ? null
            : await Bubblewrap.CheckAsync(stdio.Sandbox.BubblewrapPath, cancellationToken).ConfigureAwait(false);
        return Decide(stdio, stdio.BuildEnvironment(), status, HostFileSystem.Instance);
    }

    internal static StdioLaunchPlan Decide(StdioLaunchOptions stdio, Dictionary<string, string?> environment, BubblewrapStatus? bubblewrap, IHostFileSystem fs)
    {
        StdioSandboxOptions sandbox = stdio.Sandbox;
        var direct = new StdioLaunchPlan(stdio.Command, [.. stdio.Arguments], stdio.WorkingDirectory, environment, sandbox, bubblewrap, false, null, null);
        if (sandbox.Mode == StdioSandboxMode.Off)
        {
            return direct;
        }

        if (bubblewrap is not { Works: true, Path: { } bwrap })
        {
            string problem = bubblewrap?.Problem ?? "bubblewrap is unavailable";
            return sandbox.Mode == StdioSandboxMode.Required
                ? direct with { Refusal = GuardDecision.Deny("The registration requires a sandbox (Stdio:Sandbox:Mode = Required) and it is unavailable: " + problem + ". The server was not started.", "stdio.sandbox-unavailable") }
                : direct with { NotSandboxedReason = "the sandbox is unavailable: " + problem };
        }

        string? missing = Bubblewrap.Grants(sandbox).Select(g => g.Path).FirstOrDefault(p => fs.Probe(p).Kind == HostPathKind.Missing);
        if (missing is not null)
        {
            return direct with { Refusal = GuardDecision.Deny($"The sandbox grants '{missing}', which does not exist on the host; create it or remove the grant. The server was not started.", "stdio.sandbox-path-missing") };
        }

        string? limitsProblem = sandbox.Limits.HasProcessLimits && Bubblewrap.PrlimitPath(fs) is null
            ? "prlimit (util-linux) was not found in /usr/bin or /bin, so the process resource limits cannot be set"
            : null;
        if (limitsProblem is not null && sandbox.Mode == StdioSandboxMode.Required)
        {
            return direct with { Refusal = GuardDecision.Deny("The registration requires a sandbox with resource limits and " + limitsProblem + ". The server was not started.", "stdio.sandbox-unavailable") };
        }

        // bwrap itself runs from '/' (the host's current directory is irrelevant to it); --chdir sets the server's.
        return new StdioLaunchPlan(bwrap, Bubblewrap.BuildArguments(stdio, environment, fs), "/", environment, sandbox, bubblewrap, true, null, null)
        {
            LimitsNotAppliedReason = limitsProblem,
        };
    }
}
