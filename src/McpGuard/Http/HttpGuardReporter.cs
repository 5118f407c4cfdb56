using System.Net;
using System.Text.Json.Nodes;
using McpGuard.Evidence;
using Microsoft.Extensions.Logging;

namespace McpGuard.Http;

/// <summary>Creates the typed exception for a block, records it as evidence and logs it; remembers the last block for the engine's connect error.</summary>
internal sealed class HttpGuardReporter
{
    private readonly EvidenceRecorder? _evidence;
    private readonly ILogger _logger;
    private volatile McpGuardHttpPolicyException? _lastBlock;

    public HttpGuardReporter(EvidenceRecorder? evidence, ILogger logger, string? serverName, string endpoint, TimeProvider timeProvider)
    {
        _evidence = evidence;
        _logger = logger;
        ServerName = serverName;
        Endpoint = endpoint;
        TimeProvider = timeProvider;
    }

    public string? ServerName { get; }

    public string Endpoint { get; }

    public TimeProvider TimeProvider { get; }

    public ILogger Logger => _logger;

    /// <summary>The most recent block, or <see langword="null"/>.</summary>
    public McpGuardHttpPolicyException? LastBlock => _lastBlock;

    public void ResetLastBlock() => _lastBlock = null;

    public async ValueTask<McpGuardHttpPolicyException> BlockAsync(
        string ruleId, string reason, Uri? uri, int hop = 0, IPAddress? address = null, int? port = null, JsonObject? extra = null)
    {
        var exception = new McpGuardHttpPolicyException(ruleId, reason, uri, address, hop);
        _lastBlock = exception;
        HttpLog.RequestBlocked(_logger, ServerName, ruleId, exception.RequestUri?.ToString(), address?.ToString(), hop);
        if (_evidence is not null)
        {
            var details = new JsonObject
            {
                ["url"] = exception.RequestUri?.ToString(),
                ["redirectHop"] = hop,
            };
            if (address is not null)
            {
                details["address"] = address.ToString();
                details["addressClass"] = AddressClassifier.Classify(address).ToString();
            }

            if (port is not null)
            {
                details["port"] = port.Value;
            }

            if (extra is not null)
            {
                foreach ((string key, JsonNode? value) in extra)
                {
                    details[key] = value?.DeepClone();
                }
            }

            GuardEvidence evidence = new GuardEvidence(GuardEvidenceKind.HttpRequestBlocked, null, _evidence)
            {
                ServerName = ServerName,
                Endpoint = Endpoint,
                Decision = GuardDecisionKind.Deny,
                RuleId = ruleId,
                Reason = reason,
                Details = details,
                NotVerified = ["Whether the SDK or the host would have used the refused response."],
            };
            await _evidence.WriteAsync(evidence, CancellationToken.None).ConfigureAwait(false);
        }

        return exception;
    }
}
