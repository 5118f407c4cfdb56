using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace McpGuard;

/// <summary>
/// The class of an IP address for the SSRF policy (IANA IPv4 and IPv6 Special-Purpose Address Registries, RFC 6890).
/// Every class except <see cref="Public"/> is blocked unless the host allow-lists the host or address.
/// </summary>
public enum GuardAddressClass
{
    /// <summary>A globally routable unicast address: allowed.</summary>
    Public = 0,

    /// <summary><c>0.0.0.0/8</c> ("this network", RFC 791/1122) and <c>::/128</c>.</summary>
    Unspecified,

    /// <summary><c>127.0.0.0/8</c> and <c>::1/128</c>.</summary>
    Loopback,

    /// <summary><c>10.0.0.0/8</c>, <c>172.16.0.0/12</c>, <c>192.168.0.0/16</c> (RFC 1918).</summary>
    Private,

    /// <summary><c>100.64.0.0/10</c>, carrier-grade NAT shared address space (RFC 6598).</summary>
    SharedAddressSpace,

    /// <summary><c>169.254.0.0/16</c> (RFC 3927; includes the cloud metadata address 169.254.169.254) and <c>fe80::/10</c>.</summary>
    LinkLocal,

    /// <summary><c>224.0.0.0/4</c> and <c>ff00::/8</c>.</summary>
    Multicast,

    /// <summary><c>255.255.255.255/32</c>, limited broadcast (RFC 919).</summary>
    Broadcast,

    /// <summary><c>192.0.2.0/24</c>, <c>198.51.100.0/24</c>, <c>203.0.113.0/24</c> (RFC 5737), <c>2001:db8::/32</c> (RFC 3849), <c>3fff::/20</c> (RFC 9637).</summary>
    Documentation,

    /// <summary><c>198.18.0.0/15</c> (RFC 2544) and <c>2001:2::/48</c> (RFC 5180).</summary>
    Benchmarking,

    /// <summary><c>fc00::/7</c>, IPv6 unique local addresses (RFC 4193).</summary>
    UniqueLocal,

    /// <summary>
    /// Reserved or special-purpose space that is not routable on the internet: <c>192.0.0.0/24</c>, <c>192.88.99.0/24</c>,
    /// <c>240.0.0.0/4</c>; IPv6 outside <c>2000::/3</c> other than the forms above (including deprecated site-local
    /// <c>fec0::/10</c>, IPv4-compatible <c>::/96</c>, discard <c>100::/64</c>, local-use NAT64 <c>64:ff9b:1::/48</c>) and ORCHID
    /// <c>2001:10::/28</c>, <c>2001:20::/28</c>.
    /// </summary>
    Reserved,
}

/// <summary>
/// Classifies IP addresses. IPv6 forms that embed an IPv4 address are classified by that IPv4 address: IPv4-mapped
/// <c>::ffff:0:0/96</c> (RFC 4291 §2.5.5.2), IPv4-translated <c>::ffff:0:0:0/96</c> (RFC 2765), NAT64 <c>64:ff9b::/96</c>
/// (RFC 6052), 6to4 <c>2002::/16</c> (RFC 3056) and Teredo <c>2001::/32</c> (RFC 4380; the server and the obfuscated client
/// address: the worse of the two).
/// </summary>
internal static class AddressClassifier
{
    public static GuardAddressClass Classify(IPAddress address)
    {
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            Span<byte> v4 = stackalloc byte[4];
            address.TryWriteBytes(v4, out _);
            return ClassifyV4(BinaryPrimitives.ReadUInt32BigEndian(v4));
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return GuardAddressClass.Reserved;
        }

        Span<byte> b = stackalloc byte[16];
        address.TryWriteBytes(b, out _);
        return ClassifyV6(b);
    }

    internal static GuardAddressClass ClassifyV4(uint a)
    {
        uint first = a >> 24;
        return first switch
        {
            0 => GuardAddressClass.Unspecified,
            10 => GuardAddressClass.Private,
            127 => GuardAddressClass.Loopback,
            >= 224 and < 240 => GuardAddressClass.Multicast,
            _ when a == 0xFFFFFFFF => GuardAddressClass.Broadcast,
            >= 240 => GuardAddressClass.Reserved,
            _ when (a & 0xFFC00000) == 0x64400000 => GuardAddressClass.SharedAddressSpace, // 100.64.0.0/10
            _ when (a & 0xFFFF0000) == 0xA9FE0000 => GuardAddressClass.LinkLocal,          // 169.254.0.0/16
            _ when (a & 0xFFF00000) == 0xAC100000 => GuardAddressClass.Private,            // 172.16.0.0/12
            _ when (a & 0xFFFF0000) == 0xC0A80000 => GuardAddressClass.Private,            // 192.168.0.0/16
            _ when (a & 0xFFFFFF00) == 0xC0000000 => GuardAddressClass.Reserved,           // 192.0.0.0/24
            _ when (a & 0xFFFFFF00) == 0xC0000200 => GuardAddressClass.Documentation,      // 192.0.2.0/24
            _ when (a & 0xFFFFFF00) == 0xC0586300 => GuardAddressClass.Reserved,           // 192.88.99.0/24
            _ when (a & 0xFFFE0000) == 0xC6120000 => GuardAddressClass.Benchmarking,       // 198.18.0.0/15
            _ when (a & 0xFFFFFF00) == 0xC6336400 => GuardAddressClass.Documentation,      // 198.51.100.0/24
            _ when (a & 0xFFFFFF00) == 0xCB007100 => GuardAddressClass.Documentation,      // 203.0.113.0/24
            _ => GuardAddressClass.Public,
        };
    }

    private static GuardAddressClass ClassifyV6(ReadOnlySpan<byte> b)
    {
        ulong high = BinaryPrimitives.ReadUInt64BigEndian(b);
        ulong low = BinaryPrimitives.ReadUInt64BigEndian(b[8..]);
        uint last32 = BinaryPrimitives.ReadUInt32BigEndian(b[12..]);

        if (high == 0)
        {
            if (low == 0)
            {
                return GuardAddressClass.Unspecified;
            }

            if (low == 1)
            {
                return GuardAddressClass.Loopback;
            }

            if (low >> 32 == 0x0000_FFFF || low >> 32 == 0xFFFF_0000)
            {
                return ClassifyV4(last32); // ::ffff:a.b.c.d (mapped), ::ffff:0:a.b.c.d (translated)
            }

            return GuardAddressClass.Reserved; // includes IPv4-compatible ::a.b.c.d (deprecated, RFC 4291 §2.5.5.1)
        }

        if (high == 0x0064_FF9B_0000_0000 && low >> 32 == 0)
        {
            return ClassifyV4(last32); // NAT64 well-known prefix 64:ff9b::/96
        }

        ushort first16 = BinaryPrimitives.ReadUInt16BigEndian(b);
        if ((first16 & 0xFF00) == 0xFF00)
        {
            return GuardAddressClass.Multicast;
        }

        if ((first16 & 0xFFC0) == 0xFE80)
        {
            return GuardAddressClass.LinkLocal;
        }

        if ((first16 & 0xFE00) == 0xFC00)
        {
            return GuardAddressClass.UniqueLocal;
        }

        if ((first16 & 0xE000) != 0x2000)
        {
            return GuardAddressClass.Reserved; // outside global unicast 2000::/3 (fec0::/10, 100::/64, 64:ff9b:1::/48, ...)
        }

        uint first32 = (uint)(high >> 32);
        if (first32 == 0x2001_0000)
        {
            // Teredo: server IPv4 in bits 32-63, client IPv4 obfuscated (inverted) in bits 96-127.
            GuardAddressClass server = ClassifyV4((uint)high);
            GuardAddressClass client = ClassifyV4(~last32);
            return server != GuardAddressClass.Public ? server : client;
        }

        if (first16 == 0x2002)
        {
            return ClassifyV4((uint)(high >> 16)); // 6to4: IPv4 in bits 16-47
        }

        if (first32 == 0x2001_0DB8 || (high >> 44) == 0x3_FFF0) // 2001:db8::/32, 3fff::/20
        {
            return GuardAddressClass.Documentation;
        }

        if ((high >> 16) == 0x2001_0002_0000)
        {
            return GuardAddressClass.Benchmarking; // 2001:2::/48
        }

        if ((first32 & 0xFFFF_FFF0) is 0x2001_0010 or 0x2001_0020)
        {
            return GuardAddressClass.Reserved; // ORCHID, ORCHIDv2
        }

        return GuardAddressClass.Public;
    }
}
