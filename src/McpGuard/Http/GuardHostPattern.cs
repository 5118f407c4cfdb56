using System.Globalization;
using System.Net;
using System.Numerics;

namespace McpGuard.Http;

/// <summary>
/// One parsed allow-list entry: a host name (IDNA-normalized), an IP address or a CIDR block, with an optional port.
/// Syntax: <c>name</c>, <c>name:port</c>, <c>1.2.3.4</c>, <c>1.2.3.4:port</c>, <c>[::1]</c>, <c>[::1]:port</c>, <c>::1</c>, <c>10.0.0.0/8</c>.
/// </summary>
internal sealed class GuardHostPattern
{
    private static readonly IdnMapping s_idn = new() { AllowUnassigned = false, UseStd3AsciiRules = true };

    private GuardHostPattern(string? hostName, IPAddress? network, int prefixLength, int? port, string text)
    {
        HostName = hostName;
        Network = network;
        PrefixLength = prefixLength;
        Port = port;
        Text = text;
    }

    /// <summary>The normalized host name, or <see langword="null"/> for an address entry.</summary>
    public string? HostName { get; }

    /// <summary>The address or network, or <see langword="null"/> for a name entry.</summary>
    public IPAddress? Network { get; }

    public int PrefixLength { get; }

    /// <summary>The port, or <see langword="null"/> for any port.</summary>
    public int? Port { get; }

    public string Text { get; }

    public static bool TryParse(string? text, out GuardHostPattern? pattern, out string? error)
    {
        pattern = null;
        error = null;
        string s = (text ?? string.Empty).Trim();
        if (s.Length == 0)
        {
            error = "is empty";
            return false;
        }

        if (s.Contains("://", StringComparison.Ordinal) || s.Contains('/', StringComparison.Ordinal) && !IsCidr(s))
        {
            error = "must be a host, host:port, address, [address]:port or CIDR block, not a URL";
            return false;
        }

        int? port = null;
        string host = s;
        if (s.StartsWith('['))
        {
            int close = s.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                error = "has an unclosed '['";
                return false;
            }

            host = s[1..close];
            string rest = s[(close + 1)..];
            if (rest.Length > 0)
            {
                if (rest[0] != ':' || !TryParsePort(rest[1..], out int p))
                {
                    error = "has an invalid port";
                    return false;
                }

                port = p;
            }
        }
        else if (s.Count(c => c == ':') == 1)
        {
            int colon = s.IndexOf(':', StringComparison.Ordinal);
            if (!TryParsePort(s[(colon + 1)..], out int p))
            {
                error = "has an invalid port";
                return false;
            }

            host = s[..colon];
            port = p;
        }

        int slash = host.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            if (port is not null || !IPAddress.TryParse(host[..slash], out IPAddress? net)
                || !int.TryParse(host[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out int length)
                || length > (net.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128))
            {
                error = "is not a valid CIDR block (e.g. 10.0.0.0/8 or fd00::/8; no port)";
                return false;
            }

            pattern = new GuardHostPattern(null, net, length, null, s);
            return true;
        }

        if (IPAddress.TryParse(host, out IPAddress? address))
        {
            pattern = new GuardHostPattern(null, address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128, port, s);
            return true;
        }

        string? normalized = NormalizeHostName(host);
        if (normalized is null)
        {
            error = "is not a valid host name";
            return false;
        }

        pattern = new GuardHostPattern(normalized, null, 0, port, s);
        return true;
    }

    /// <summary>
    /// Normalizes a host name for comparison: IDNA to ASCII (UTS #46 through <see cref="IdnMapping"/>, STD3 rules), lower
    /// case, one trailing dot removed. <see langword="null"/> when the name is not a valid host name.
    /// </summary>
    public static string? NormalizeHostName(string host)
    {
        string h = host.EndsWith('.') ? host[..^1] : host;
        if (h.Length == 0)
        {
            return null;
        }

        try
        {
            return s_idn.GetAscii(h).ToLowerInvariant();
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    /// <summary>Whether this name entry matches a normalized request host and port.</summary>
    public bool MatchesHost(string normalizedHost, int port) =>
        HostName is not null && string.Equals(HostName, normalizedHost, StringComparison.Ordinal) && (Port is null || Port == port);

    /// <summary>Whether this address entry matches an address and port (IPv4-mapped IPv6 is compared as IPv4).</summary>
    public bool MatchesAddress(IPAddress address, int port)
    {
        if (Network is null || (Port is not null && Port != port))
        {
            return false;
        }

        IPAddress a = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        IPAddress n = Network.IsIPv4MappedToIPv6 ? Network.MapToIPv4() : Network;
        if (a.AddressFamily != n.AddressFamily)
        {
            return false;
        }

        int bits = a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128;
        int length = Network.IsIPv4MappedToIPv6 ? Math.Max(0, PrefixLength - 96) : PrefixLength;
        BigInteger mask = length == 0 ? BigInteger.Zero : ((BigInteger.One << length) - 1) << (bits - length);
        return (ToBig(a) & mask) == (ToBig(n) & mask);
    }

    private static BigInteger ToBig(IPAddress address) => new(address.GetAddressBytes(), isUnsigned: true, isBigEndian: true);

    private static bool IsCidr(string s) => s.Count(c => c == '/') == 1 && !s.Contains("://", StringComparison.Ordinal);

    private static bool TryParsePort(string s, out int port) =>
        int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is > 0 and <= 65535;
}
