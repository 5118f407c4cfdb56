using System.Net;
using System.Numerics;

namespace McpGuard.Tests.Http;

/// <summary>
/// An independent reference classification for the property tests: a CIDR table evaluated with <see cref="BigInteger"/>
/// masks (first match wins), written from the IANA special-purpose registries, not from the implementation's bit tests.
/// </summary>
internal static class AddressReference
{
    private enum Rule
    {
        Class,
        EmbeddedLast32,
        Teredo,
        SixToFour,
    }

    private static readonly (BigInteger Prefix, int Length, GuardAddressClass Class)[] s_v4 =
    [
        V4("255.255.255.255/32", GuardAddressClass.Broadcast),
        V4("0.0.0.0/8", GuardAddressClass.Unspecified),
        V4("10.0.0.0/8", GuardAddressClass.Private),
        V4("100.64.0.0/10", GuardAddressClass.SharedAddressSpace),
        V4("127.0.0.0/8", GuardAddressClass.Loopback),
        V4("169.254.0.0/16", GuardAddressClass.LinkLocal),
        V4("172.16.0.0/12", GuardAddressClass.Private),
        V4("192.0.0.0/24", GuardAddressClass.Reserved),
        V4("192.0.2.0/24", GuardAddressClass.Documentation),
        V4("192.88.99.0/24", GuardAddressClass.Reserved),
        V4("192.168.0.0/16", GuardAddressClass.Private),
        V4("198.18.0.0/15", GuardAddressClass.Benchmarking),
        V4("198.51.100.0/24", GuardAddressClass.Documentation),
        V4("203.0.113.0/24", GuardAddressClass.Documentation),
        V4("224.0.0.0/4", GuardAddressClass.Multicast),
        V4("240.0.0.0/4", GuardAddressClass.Reserved),
    ];

    private static readonly (BigInteger Prefix, int Length, Rule Rule, GuardAddressClass Class)[] s_v6 =
    [
        V6("::/128", Rule.Class, GuardAddressClass.Unspecified),
        V6("::1/128", Rule.Class, GuardAddressClass.Loopback),
        V6("::ffff:0:0/96", Rule.EmbeddedLast32),
        V6("::ffff:0:0:0/96", Rule.EmbeddedLast32),
        V6("64:ff9b::/96", Rule.EmbeddedLast32),
        V6("2001::/32", Rule.Teredo),
        V6("2002::/16", Rule.SixToFour),
        V6("2001:db8::/32", Rule.Class, GuardAddressClass.Documentation),
        V6("3fff::/20", Rule.Class, GuardAddressClass.Documentation),
        V6("2001:2::/48", Rule.Class, GuardAddressClass.Benchmarking),
        V6("2001:10::/28", Rule.Class, GuardAddressClass.Reserved),
        V6("2001:20::/28", Rule.Class, GuardAddressClass.Reserved),
        V6("fc00::/7", Rule.Class, GuardAddressClass.UniqueLocal),
        V6("fe80::/10", Rule.Class, GuardAddressClass.LinkLocal),
        V6("ff00::/8", Rule.Class, GuardAddressClass.Multicast),
        V6("2000::/3", Rule.Class, GuardAddressClass.Public),
    ];

    /// <summary>Interesting IPv4 prefixes for biased generation.</summary>
    public static IReadOnlyList<(BigInteger Prefix, int Length)> V4Prefixes => [.. s_v4.Select(e => (e.Prefix, e.Length))];

    /// <summary>Interesting IPv6 prefixes for biased generation.</summary>
    public static IReadOnlyList<(BigInteger Prefix, int Length)> V6Prefixes => [.. s_v6.Select(e => (e.Prefix, e.Length))];

    public static GuardAddressClass Classify(IPAddress address)
    {
        BigInteger value = ToBig(address);
        return address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? ClassifyV4(value) : ClassifyV6(value);
    }

    public static GuardAddressClass ClassifyV4(BigInteger value)
    {
        foreach ((BigInteger prefix, int length, GuardAddressClass c) in s_v4)
        {
            if (InPrefix(value, prefix, length, 32))
            {
                return c;
            }
        }

        return GuardAddressClass.Public;
    }

    public static GuardAddressClass ClassifyV6(BigInteger value)
    {
        BigInteger last32 = value & 0xFFFFFFFF;
        foreach ((BigInteger prefix, int length, Rule rule, GuardAddressClass c) in s_v6)
        {
            if (!InPrefix(value, prefix, length, 128))
            {
                continue;
            }

            switch (rule)
            {
                case Rule.EmbeddedLast32:
                    return ClassifyV4(last32);
                case Rule.SixToFour:
                    return ClassifyV4((value >> 80) & 0xFFFFFFFF);
                case Rule.Teredo:
                    GuardAddressClass server = ClassifyV4((value >> 64) & 0xFFFFFFFF);
                    return server != GuardAddressClass.Public ? server : ClassifyV4(last32 ^ 0xFFFFFFFF);
                default:
                    return c;
            }
        }

        return GuardAddressClass.Reserved; // outside 2000::/3 and every listed block
    }

    public static BigInteger ToBig(IPAddress address) => new(address.GetAddressBytes(), isUnsigned: true, isBigEndian: true);

    public static IPAddress FromBig(BigInteger value, int bits)
    {
        byte[] raw = value.ToByteArray(isUnsigned: true, isBigEndian: true);
        byte[] bytes = new byte[bits / 8];
        raw.CopyTo(bytes, bytes.Length - raw.Length);
        return new IPAddress(bytes);
    }

    private static bool InPrefix(BigInteger value, BigInteger prefix, int length, int bits)
    {
        BigInteger hostBits = (BigInteger.One << (bits - length)) - 1;
        return (value & ~hostBits & ((BigInteger.One << bits) - 1)) == prefix;
    }

    private static (BigInteger, int, GuardAddressClass) V4(string cidr, GuardAddressClass c)
    {
        string[] parts = cidr.Split('/');
        return (ToBig(IPAddress.Parse(parts[0])), int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture), c);
    }

    private static (BigInteger, int, Rule, GuardAddressClass) V6(string cidr, Rule rule, GuardAddressClass c = GuardAddressClass.Public)
    {
        string[] parts = cidr.Split('/');
        return (ToBig(IPAddress.Parse(parts[0])), int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture), rule, c);
    }
}
