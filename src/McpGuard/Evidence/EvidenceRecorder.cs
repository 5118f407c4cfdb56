using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using McpGuard.Diagnostics;
using Microsoft.Extensions.Logging;

namespace McpGuard.Evidence;

/// <summary>Builds evidence events and hands them to every sink; failures are logged, counted and reported, never thrown.</summary>
internal sealed class EvidenceRecorder
{
    private const int MaxShapeDepth = 8;
    private const int MaxShapeMembers = 64;
    private const int MaxShapeItems = 16;

    private static readonly string s_eventIdPrefix = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8)).ToLowerInvariant();
    private static long s_eventSequence;

    private readonly IGuardEvidenceSink[] _sinks;
    private readonly EvidenceOptions _options;
    private readonly ILogger _logger;

    public EvidenceRecorder(IGuardEvidenceSink[] sinks, EvidenceOptions options, ILogger logger, TimeProvider timeProvider)
    {
        _sinks = sinks;
        _options = options;
        _logger = logger;
        TimeProvider = timeProvider;
    }

    public TimeProvider TimeProvider { get; }

    /// <summary>Resolves the authority (credential label and scopes actually used) for a session; set by the engine's credential controls.</summary>
    internal Func<GuardSessionInfo, AuthorityEvidence?>? AuthorityResolver { get; set; }

    /// <summary>Whether a text contains a credential the host holds; such property names are redacted from argument shapes and such arguments are never recorded raw.</summary>
    internal Func<string, bool>? ContainsCredential { get; set; }

    public bool HasSinks => _sinks.Length > 0 || _options.LogEvents;

    public GuardEvidence Create(GuardEvidenceKind kind, GuardSessionInfo? session) => new(kind, session, this);

    /// <summary>The authority in use with <paramref name="session"/>'s server (resolver first, then the registration).</summary>
    internal AuthorityEvidence? AuthorityOf(GuardSessionInfo? session) =>
        session is null ? null
        : AuthorityResolver is { } resolve ? resolve(session)
        : session.ConfiguredAuthority;

    /// <summary>
    /// A unique event id, 32 lower-case hex characters: a random 64-bit prefix drawn once per process followed by a
    /// 64-bit sequence number. Event ids need uniqueness, not unpredictability; <see cref="Guid.NewGuid"/> per event
    /// costs a system call for random bytes on Linux, twice per tool call.
    /// </summary>
    internal static string NextEventId()
    {
        ulong sequence = (ulong)Interlocked.Increment(ref s_eventSequence);
        return string.Create(32, sequence, static (span, seq) =>
        {
            s_eventIdPrefix.AsSpan().CopyTo(span);
            Span<byte> bytes = stackalloc byte[sizeof(ulong)];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(bytes, seq);
#if NET9_0_OR_GREATER
            Convert.TryToHexStringLower(bytes, span[16..], out _);
#else
            seq.TryFormat(span[16..], out _, "x16", CultureInfo.InvariantCulture);
#endif
        });
    }

    /// <summary>The call's arguments for evidence: shape and digest built when a sink first reads them; the raw
    /// arguments now, when the host opted in and they carry no credential it holds.</summary>
    public ArgumentEvidence DescribeArguments(ToolCallContext call) => ArgumentEvidence.Deferred(
        call,
        ContainsCredential,
        _options.IncludeRawArguments && ContainsCredential?.Invoke(System.Text.Encoding.UTF8.GetString(call.ArgumentsCanonical)) != true ? JsonNode.Parse(call.ArgumentsCanonical) : null);

    /// <summary>Writes to every sink. Returns <see langword="false"/> if any sink failed.</summary>
    public async ValueTask<bool> WriteAsync(GuardEvidence evidence, CancellationToken cancellationToken = default)
    {
        bool ok = true;
        if (McpGuardTelemetry.EvidenceEvents.Enabled)
        {
            McpGuardTelemetry.EvidenceEvents.Add(1, new KeyValuePair<string, object?>("mcpguard.evidence.kind", evidence.Kind.ToString()));
        }

        if (_options.LogEvents && _logger.IsEnabled(LogLevel.Information))
        {
            Log.Evidence(_logger, evidence.Kind, evidence.ServerName, evidence.ToolName, evidence.Decision, evidence.RuleId, evidence.SessionId);
        }

        foreach (IGuardEvidenceSink sink in _sinks)
        {
            try
            {
                await sink.WriteAsync(evidence, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                ok = false;
                McpGuardTelemetry.EvidenceFailures.Add(1);
                Log.EvidenceSinkFailed(_logger, ex, sink.GetType().Name, evidence.Kind);
            }
        }

        return ok;
    }

    internal static JsonNode? Shape(JsonElement element, int depth, Func<string, bool>? redactName = null)
    {
        if (depth >= MaxShapeDepth)
        {
            return JsonValue.Create("...");
        }

        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var obj = new JsonObject();
                int members = 0;
                foreach (JsonProperty property in element.EnumerateObject())
                {
                    if (members++ >= MaxShapeMembers)
                    {
                        continue;
                    }

                    string name = redactName?.Invoke(property.Name) == true ? "<credential redacted " + members.ToString(CultureInfo.InvariantCulture) + ">" : property.Name;
                    obj[name] = Shape(property.Value, depth + 1, redactName);
                }

                if (members > MaxShapeMembers)
                {
                    obj["..."] = string.Create(CultureInfo.InvariantCulture, $"+{members - MaxShapeMembers} more members");
                }

                return obj;
            case JsonValueKind.Array:
                var array = new JsonArray();
                int items = 0;
                foreach (JsonElement item in element.EnumerateArray())
                {
                    if (items++ < MaxShapeItems)
                    {
                        array.Add(Shape(item, depth + 1, redactName));
                    }
                }

                if (items > MaxShapeItems)
                {
                    array.Add((JsonNode?)JsonValue.Create(string.Create(CultureInfo.InvariantCulture, $"+{items - MaxShapeItems} more items")));
                }

                return array;
            case JsonValueKind.String:
                return JsonValue.Create(StringShape(StringLength(element)));
            case JsonValueKind.Number:
                return JsonValue.Create("number");
            case JsonValueKind.True:
            case JsonValueKind.False:
                return JsonValue.Create("boolean");
            default:
                return null;
        }
    }

    /// <summary>"string(len=N)" for N UTF-16 code units; the common short lengths come from a table.</summary>
    private static string StringShape(int length) =>
        (uint)length < (uint)s_stringShapes.Length
            ? s_stringShapes[length] ??= Format(length)
            : Format(length);

    private static string Format(int length) => string.Create(CultureInfo.InvariantCulture, $"string(len={length})");

    private static readonly string?[] s_stringShapes = new string?[256];

    /// <summary>The UTF-16 length of a string element, counted from its raw UTF-8 when it has no escapes (no copy).</summary>
    private static int StringLength(JsonElement element)
    {
        ReadOnlySpan<byte> raw = System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(element);
        if (raw.Length >= 2 && raw.IndexOf((byte)'\\') < 0)
        {
            return System.Text.Encoding.UTF8.GetCharCount(raw[1..^1]); // between the quotes; the parser validated the UTF-8
        }

        return element.GetString()!.Length;
    }
}
