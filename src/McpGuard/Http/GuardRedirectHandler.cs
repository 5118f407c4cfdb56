using System.Net;
using System.Runtime.ExceptionServices;

namespace McpGuard.Http;

/// <summary>
/// Follows redirects itself (the socket handler never does) and validates every hop like the first request: scheme policy
/// before sending, address policy at connect. Caps the number of hops, refuses https→http downgrades and non-HTTP schemes,
/// and removes <c>Authorization</c> and <c>Cookie</c> on any hop to another origin. Also unwraps the connect callback's
/// <see cref="McpGuardHttpPolicyException"/> from the <see cref="HttpRequestException"/> the socket handler wraps it in.
/// </summary>
internal sealed class GuardRedirectHandler : DelegatingHandler
{
    private readonly HttpGuardPolicy _policy;
    private readonly HttpGuardReporter _reporter;

    public GuardRedirectHandler(HttpGuardPolicy policy, HttpGuardReporter reporter)
    {
        _policy = policy;
        _reporter = reporter;
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Uri originalUri = request.RequestUri ?? throw new InvalidOperationException("The request has no URI.");
        await CheckSchemeAsync(originalUri, 0).ConfigureAwait(false);
        HttpResponseMessage response = await SendHopAsync(request, 0, cancellationToken).ConfigureAwait(false);
        HttpRequestMessage current = request;
        for (int hop = 1; ; hop++)
        {
            if (!IsRedirect(response.StatusCode) || response.Headers.Location is not { } location)
            {
                return response;
            }

            Uri from = current.RequestUri!;
            response.Dispose();
            if (hop > _policy.Options.MaxRedirects)
            {
                throw await _reporter.BlockAsync(GuardHttpRuleIds.RedirectLimit, $"More than {_policy.Options.MaxRedirects} redirects.", from, hop - 1).ConfigureAwait(false);
            }

            Uri target = location.IsAbsoluteUri ? location : new Uri(from, location);
            if (target.Scheme is not ("https" or "http"))
            {
                throw await _reporter.BlockAsync(GuardHttpRuleIds.RedirectBlocked, "The redirect target is not an http(s) URL.", from, hop).ConfigureAwait(false);
            }

            if (from.Scheme == Uri.UriSchemeHttps && target.Scheme == Uri.UriSchemeHttp)
            {
                throw await _reporter.BlockAsync(GuardHttpRuleIds.RedirectBlocked, "The redirect downgrades https to http.", target, hop).ConfigureAwait(false);
            }

            await CheckSchemeAsync(target, hop).ConfigureAwait(false);
            string redacted = McpGuardHttpPolicyException.Redact(target);
            HttpLog.FollowingRedirect(_reporter.Logger, _reporter.ServerName, hop, redacted);

            current = CreateHopRequest(current, target, response.StatusCode, !HttpGuardPolicy.IsSameOrigin(originalUri, target));
            response = await SendHopAsync(current, hop, cancellationToken).ConfigureAwait(false);
        }
    }

    private static bool IsRedirect(HttpStatusCode status) => status is HttpStatusCode.MovedPermanently or HttpStatusCode.Found
        or HttpStatusCode.SeeOther or HttpStatusCode.TemporaryRedirect or HttpStatusCode.PermanentRedirect or HttpStatusCode.MultipleChoices;

    private async ValueTask CheckSchemeAsync(Uri uri, int hop)
    {
        if (!uri.IsAbsoluteUri || uri.Scheme is not ("https" or "http"))
        {
            throw await _reporter.BlockAsync(GuardHttpRuleIds.SchemeNotAllowed, "Only https (and http to an allow-listed loopback host) is allowed.", uri.IsAbsoluteUri ? uri : null, hop).ConfigureAwait(false);
        }

        if (uri.Scheme == Uri.UriSchemeHttp && !_policy.IsUrlHostAllowListed(uri))
        {
            throw await _reporter.BlockAsync(GuardHttpRuleIds.SchemeNotAllowed, "Plain http is allowed only to an allow-listed loopback host.", uri, hop).ConfigureAwait(false);
        }
    }

    private HttpRequestMessage CreateHopRequest(HttpRequestMessage previous, Uri target, HttpStatusCode status, bool crossOrigin)
    {
        bool keepMethod = status is HttpStatusCode.TemporaryRedirect or HttpStatusCode.PermanentRedirect
            || (previous.Method != HttpMethod.Post && status != HttpStatusCode.SeeOther)
            || previous.Method == HttpMethod.Head;
        var next = new HttpRequestMessage(keepMethod ? previous.Method : HttpMethod.Get, target)
        {
            Version = previous.Version,
            VersionPolicy = previous.VersionPolicy,
            Content = keepMethod ? previous.Content : null,
        };
        foreach (KeyValuePair<string, IEnumerable<string>> header in previous.Headers)
        {
            if (header.Key.Equals("Host", StringComparison.OrdinalIgnoreCase)
                || (crossOrigin && (header.Key.Equals("Authorization", StringComparison.OrdinalIgnoreCase) || header.Key.Equals("Cookie", StringComparison.OrdinalIgnoreCase))))
            {
                continue;
            }

            next.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        if (crossOrigin && (previous.Headers.Authorization is not null || previous.Headers.Contains("Cookie")))
        {
            HttpLog.CredentialsStripped(_reporter.Logger, _reporter.ServerName);
        }

        return next;
    }

    private async Task<HttpResponseMessage> SendHopAsync(HttpRequestMessage request, int hop, CancellationToken cancellationToken)
    {
        request.Options.Set(GuardedConnector.HopKey, hop);
        try
        {
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex) when (Unwrap(ex) is { } policy)
        {
            ExceptionDispatchInfo.Throw(policy);
            throw;
        }
    }

    private static McpGuardHttpPolicyException? Unwrap(Exception ex)
    {
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            if (e is McpGuardHttpPolicyException policy)
            {
                return policy;
            }
        }

        return null;
    }
}
