using System.Globalization;
using System.Text;

namespace McpGuard;

/// <summary>How a label entered a flow state.</summary>
public enum FlowOrigin
{
    /// <summary>A response of a tool the host labelled.</summary>
    ToolLabel = 0,

    /// <summary>A response of a tool whose server annotations added the label (annotations can only add).</summary>
    Annotation = 1,

    /// <summary>Content the isolation stage flagged as carrying instructions (session taint).</summary>
    InjectionDetected = 2,

    /// <summary>A memory cap was reached; the state assumes the worst from then on.</summary>
    Saturation = 3,
}

/// <summary>Where something in a flow state came from: one earlier call (or taint event).</summary>
/// <param name="CallNumber">The call's number in the flow state (1-based, in the order the flow stage evaluated calls); 0 when the source was not a tool call (a resource or prompt read).</param>
/// <param name="ServerName">Registration name of the server.</param>
/// <param name="ToolName">The tool (or the resource URI / prompt name for <see cref="FlowOrigin.InjectionDetected"/>), if known.</param>
/// <param name="Label">The label that entered, e.g. <c>untrusted-source</c>, or the step matcher for sequence rules.</param>
/// <param name="Origin">How it entered.</param>
/// <param name="At">When (engine <see cref="TimeProvider"/>).</param>
public sealed record FlowProvenance(long CallNumber, string ServerName, string? ToolName, string Label, FlowOrigin Origin, DateTimeOffset At)
{
    /// <summary>Renders the provenance for a person, e.g. <c>read_inbox returned untrusted text (call #3)</c>.</summary>
    /// <returns>Host-facing text; it contains server-chosen tool names, so render it literally.</returns>
    public string Describe()
    {
        string what = Origin switch
        {
            FlowOrigin.InjectionDetected => "returned content flagged as carrying instructions",
            FlowOrigin.Saturation => "filled the flow state's memory (treated as untrusted from then on)",
            _ => Label switch
            {
                FlowLabels.UntrustedSource => "returned untrusted text",
                FlowLabels.PrivateData => "returned private data",
                FlowLabels.CredentialAccess => "returned credentials",
                _ => "(" + Label + ")",
            },
        };
        string where = CallNumber > 0 ? string.Create(CultureInfo.InvariantCulture, $" (call #{CallNumber})") : string.Empty;
        return (ToolName ?? ServerName) + " " + what + where;
    }
}

/// <summary>One argument of a sink call that argument-level flow tracking flagged.</summary>
/// <param name="JsonPath">Normalized JSON path of the argument (e.g. <c>$.recipients[0]</c>).</param>
/// <param name="Kind">Kind of the value found (<see cref="FlowValueKinds.None"/> for a whole destination value that is not trusted).</param>
/// <param name="Source">Where the value was seen before, or <see langword="null"/> when the finding is that a destination is not a trusted value.</param>
public sealed record FlowArgumentFinding(string JsonPath, FlowValueKinds Kind, FlowProvenance? Source);

/// <summary>A label in a flow state, with the first calls that brought it in.</summary>
/// <param name="Label">The label.</param>
/// <param name="Count">How many times it entered.</param>
/// <param name="Sources">The first entries (at most <see cref="FlowLimitOptions.MaxSourcesPerLabel"/>), oldest first.</param>
public sealed record FlowLabelEntry(string Label, long Count, IReadOnlyList<FlowProvenance> Sources);

/// <summary>One call in the flow history.</summary>
/// <param name="CallNumber">Number of the call (1-based).</param>
/// <param name="ServerName">Registration name of the server.</param>
/// <param name="ToolName">Tool name.</param>
/// <param name="Labels">The call's effective labels.</param>
/// <param name="Sent">Whether the call was sent to the server (false: denied or rejected).</param>
/// <param name="Responded">Whether a response arrived (its labels entered the state).</param>
public sealed record FlowCallRecord(long CallNumber, string ServerName, string ToolName, IReadOnlyList<string> Labels, bool Sent, bool Responded);

/// <summary>
/// The chain that made a flow rule fire: the call being decided, the earlier calls (provenance) that triggered the rule,
/// flagged arguments and a rendered summary such as <c>send_email after read_inbox returned untrusted text (call #3)</c>.
/// </summary>
/// <remarks>Immutable; thread-safe. Tool names in it are server-chosen text: render <see cref="Summary"/> literally.
/// Values themselves are never kept; findings name the argument's JSON path and the value kind.</remarks>
public sealed class FlowChain
{
    private readonly string? _detail;

    internal FlowChain(string ruleId, string serverName, string toolName, long callNumber, IReadOnlyList<FlowProvenance> sources, IReadOnlyList<FlowArgumentFinding> arguments, IReadOnlyList<string> alsoFired, string? detail = null)
    {
        RuleId = ruleId;
        ServerName = serverName;
        ToolName = toolName;
        CallNumber = callNumber;
        Sources = sources;
        Arguments = arguments;
        AlsoFired = alsoFired;
        _detail = detail;
        Summary = Render(toolName, sources, arguments, detail);
    }

    /// <summary>The rule that fired, e.g. <c>flow.lethal-trifecta</c>.</summary>
    public string RuleId { get; }

    /// <summary>Registration name of the server of the call being decided.</summary>
    public string ServerName { get; }

    /// <summary>The tool being called.</summary>
    public string ToolName { get; }

    /// <summary>The call's number in the flow state (1-based).</summary>
    public long CallNumber { get; }

    /// <summary>The earlier calls that made the rule fire, oldest first.</summary>
    public IReadOnlyList<FlowProvenance> Sources { get; }

    /// <summary>Arguments that carried values seen earlier, or destinations that are not trusted (argument-level rules only).</summary>
    public IReadOnlyList<FlowArgumentFinding> Arguments { get; }

    /// <summary>Other flow rule ids that also fired on this call (the decision reports the strongest, first in rule order).</summary>
    public IReadOnlyList<string> AlsoFired { get; }

    /// <summary>The chain for a person, e.g. <c>send_email after read_inbox returned untrusted text (call #3)</c>.</summary>
    public string Summary { get; }

    /// <inheritdoc />
    public override string ToString() => RuleId + ": " + Summary;

    internal FlowChain WithAlsoFired(IReadOnlyList<string> alsoFired) => new(RuleId, ServerName, ToolName, CallNumber, Sources, Arguments, alsoFired, _detail);

    private static string Render(string toolName, IReadOnlyList<FlowProvenance> sources, IReadOnlyList<FlowArgumentFinding> arguments, string? detail)
    {
        var sb = new StringBuilder(toolName);
        if (sources.Count > 0 && arguments.Count == 0)
        {
            sb.Append(" after ");
            for (int i = 0; i < sources.Count && i < 4; i++)
            {
                if (i > 0)
                {
                    sb.Append(i == sources.Count - 1 || i == 3 ? " and " : ", ");
                }

                sb.Append(sources[i].Describe());
            }

            if (sources.Count > 4)
            {
                sb.Append(CultureInfo.InvariantCulture, $" (+{sources.Count - 4} more)");
            }
        }

        string separator = ": ";
        foreach (FlowArgumentFinding finding in arguments.Take(4))
        {
            sb.Append(separator).Append("argument ").Append(finding.JsonPath);
            separator = "; ";
            sb.Append(finding.Source is { } s
                ? (finding.Kind == FlowValueKinds.None ? " is not a trusted value; it was seen when " : " carries " + KindName(finding.Kind) + " seen when ") + s.Describe()
                : " is not a trusted value");
        }

        if (arguments.Count > 4)
        {
            sb.Append(CultureInfo.InvariantCulture, $" (+{arguments.Count - 4} more arguments)");
        }

        if (detail is not null)
        {
            sb.Append(separator == ": " ? ": " : "; ").Append(detail);
        }

        return sb.ToString();
    }

    private static string KindName(FlowValueKinds kind) => kind switch
    {
        FlowValueKinds.Url => "a URL",
        FlowValueKinds.Email => "an e-mail address",
        FlowValueKinds.Iban => "an IBAN",
        FlowValueKinds.AccountNumber => "an account number",
        FlowValueKinds.Phone => "a phone number",
        FlowValueKinds.Token => "a token",
        FlowValueKinds.Text => "text copied from content",
        _ => "a value",
    };
}

/// <summary>
/// A narrowing of what a session may do for the current task (Progent, arXiv 2504.11703): which tools it may call and
/// constraints on their arguments. Applied with <see cref="FlowSession.NarrowTask"/>; scopes only ever narrow.
/// </summary>
/// <remarks>Not thread-safe while being built; the session copies it when applied.</remarks>
public sealed class FlowTaskScope
{
    /// <summary>Tools the task may call, as <c>tool</c> (any server) or <c>server/tool</c>; <see langword="null"/> leaves the tool set as it is. An empty set allows no tool.</summary>
    public ISet<string>? AllowedTools { get; set; }

    /// <summary>Extra argument constraints per tool name (<c>tool</c> or <c>server/tool</c>); they add to every earlier constraint.</summary>
    public Dictionary<string, List<ArgumentRule>> Arguments { get; } = new(StringComparer.Ordinal);
}

/// <summary>A flow policy document could not be read; the message names the JSON path and what to change.</summary>
public sealed class FlowPolicyFormatException : FormatException
{
    /// <summary>Creates the exception.</summary>
    public FlowPolicyFormatException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong and where.</param>
    public FlowPolicyFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong and where.</param>
    /// <param name="innerException">The JSON reader's exception.</param>
    public FlowPolicyFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
