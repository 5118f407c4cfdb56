using System.Text.Encodings.Web;
using System.Text.Json;

namespace McpGuard.Samples.FileAgent;

/// <summary>
/// Asks the person at the terminal. Shows everything the guard puts in a <see cref="ToolApprovalRequest"/> — server
/// identity, tool, title, full description, annotations, the complete arguments, the reasons with rule ids, the
/// credential label and scopes, and the digest the answer is bound to — and waits for y/N. Anything but "y" rejects.
/// </summary>
/// <remarks>Every string that came from the server or the model is printed through <see cref="TerminalText.Safe"/>.</remarks>
internal sealed class ConsoleApprover(ConsoleLines input, TextWriter output)
{
    private static readonly JsonSerializerOptions s_indented = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public async ValueTask<ToolApprovalResponse> AskAsync(ToolApprovalRequest request, CancellationToken cancellationToken)
    {
        Show(request, output);
        output.Write("Approve this call? [y/N] ");
        output.Flush();

        // The guard cancels this token when ApprovalOptions.Timeout expires; the call is then denied (approval.timeout).
        string? answer;
        try
        {
            answer = await input.ReadLineAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            output.WriteLine("(no answer in time: the call is denied)");
            throw;
        }

        if (Console.IsInputRedirected)
        {
            output.WriteLine(answer ?? "<end of input>");
        }

        bool approved = string.Equals(answer?.Trim(), "y", StringComparison.OrdinalIgnoreCase);
        string approver = Environment.UserName;
        return approved ? request.Approve(approver) : request.Reject(approver, answer is null ? "no answer (end of input)" : null);
    }

    public static void Show(ToolApprovalRequest request, TextWriter output)
    {
        ServerIdentity? server = request.Server;
        output.WriteLine();
        output.WriteLine("==================== APPROVAL REQUIRED ====================");
        output.WriteLine($"server       : {request.ServerName} (reports itself as '{TerminalText.Safe(server?.Name)}' version '{TerminalText.Safe(server?.Version)}', protocol {TerminalText.Safe(server?.ProtocolVersion)}; self-reported, not authenticated)");
        output.WriteLine($"launched as  : {TerminalText.Safe(request.Endpoint)}");
        output.WriteLine($"acting for   : agent '{request.Principal.AgentId}', user '{request.Principal.UserId}'");
        output.WriteLine($"tool         : {TerminalText.Safe(request.ToolName)}");
        output.WriteLine($"title        : {TerminalText.Safe(request.ToolTitle)}");
        output.WriteLine("description  : (exactly as the server sent it)");
        TerminalText.WriteBlock(output, "  | ", request.ToolDescription);
        output.WriteLine("annotations  : (hints from the server, not guarantees)");
        TerminalText.WriteBlock(output, "  | ", request.ToolAnnotations is { } a ? JsonSerializer.Serialize(a, s_indented) : "(none)");
        output.WriteLine("arguments    : (complete)");
        TerminalText.WriteBlock(output, "  | ", JsonSerializer.Serialize(request.Arguments, s_indented));
        output.WriteLine("why          :");
        foreach (GuardDecision reason in request.Reasons)
        {
            output.WriteLine($"  - {reason.RuleId}: {TerminalText.Safe(reason.Reason)}{(reason.JsonPath is { } p ? " at " + p : string.Empty)}");
        }

        output.WriteLine($"credential   : {request.CredentialLabel ?? "(none: this server gets no credential)"}");
        output.WriteLine($"scopes       : {(request.Scopes.Count == 0 ? "(none)" : string.Join(' ', request.Scopes))}");
        output.WriteLine($"tool sha256  : {request.ToolMetadataSha256}");
        output.WriteLine($"digest       : {request.RequestDigest}  (your answer covers this exact request only)");
        output.WriteLine("============================================================");
    }
}

/// <summary>The <c>--demo</c> approver: no person is asked; it records what it was shown and rejects every request.</summary>
internal sealed class RejectingApprover
{
    private readonly List<ToolApprovalRequest> _requests = [];

    public IReadOnlyList<ToolApprovalRequest> Requests => _requests;

    public ValueTask<ToolApprovalResponse> AskAsync(ToolApprovalRequest request, CancellationToken cancellationToken)
    {
        _requests.Add(request);
        return ValueTask.FromResult(request.Reject("demo-approver", "The demo approver rejects every request."));
    }
}
