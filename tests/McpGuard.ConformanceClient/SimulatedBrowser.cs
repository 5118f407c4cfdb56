using System.Collections.Specialized;
using System.Web;
using ModelContextProtocol.Authentication;

namespace McpGuard.ConformanceClient;

/// <summary>
/// Stands in for the user's browser in the OAuth authorization code flow: it opens the authorization URL, lets the
/// conformance authorization server "log the user in" (it answers with a redirect at once), and hands the code, state
/// and issuer from the redirect back to the SDK (RFC 6749 §4.1.2, RFC 9207).
/// </summary>
/// <remarks>
/// The browser is the user's agent, not the host's HTTP client, so it has its own <see cref="HttpClient"/> in every
/// mode; it never follows the redirect (the redirect URI has no listener).
/// </remarks>
internal static class SimulatedBrowser
{
    public static async Task<AuthorizationResult?> AuthorizeAsync(AuthorizationCallbackContext context, CancellationToken cancellationToken)
    {
        using var handler = new SocketsHttpHandler { AllowAutoRedirect = false, UseProxy = false };
        using var browser = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
        using HttpResponseMessage response = await browser.GetAsync(context.AuthorizationUri, cancellationToken);
        Uri? location = response.Headers.Location;
        if (location is null)
        {
            Console.Error.WriteLine($"browser: the authorization endpoint answered {(int)response.StatusCode} without a redirect");
            return null;
        }

        if (!location.IsAbsoluteUri)
        {
            location = new Uri(context.AuthorizationUri, location);
        }

        NameValueCollection query = HttpUtility.ParseQueryString(location.Query);
        if (query["code"] is not { Length: > 0 } code)
        {
            Console.Error.WriteLine($"browser: the redirect carried no code (error: {query["error"] ?? "none"})");
            return null;
        }

        return new AuthorizationResult { Code = code, State = query["state"], Iss = query["iss"] };
    }
}
