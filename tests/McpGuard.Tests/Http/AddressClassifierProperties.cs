using System.Net;
using System.Numerics;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace McpGuard.Tests.Http;

/// <summary>Random addresses (uniform and biased towards every special block and embedded form) against <see cref="AddressReference"/>.</summary>
public sealed class AddressClassifierProperties
{
    [Property(MaxTest = 2000, Arbitrary = [typeof(AddressGenerators)])]
    public Property ClassifyAddress_RandomIPv4_MatchesReferenceTable(V4Address address) =>
        (McpGuardHttp.ClassifyAddress(address.Value) == AddressReference.Classify(address.Value))
            .Label($"{address.Value}: guard={McpGuardHttp.ClassifyAddress(address.Value)} reference={AddressReference.Classify(address.Value)}");

    [Property(MaxTest = 2000, Arbitrary = [typeof(AddressGenerators)])]
    public Property ClassifyAddress_RandomIPv6_MatchesReferenceTable(V6Address address) =>
        (McpGuardHttp.ClassifyAddress(address.Value) == AddressReference.Classify(address.Value))
            .Label($"{address.Value}: guard={McpGuardHttp.ClassifyAddress(address.Value)} reference={AddressReference.Classify(address.Value)}");

    [Property(MaxTest = 1000, Arbitrary = [typeof(AddressGenerators)])]
    public Property ClassifyAddress_EveryEmbeddedFormOfIPv4_ClassifiesAsTheIPv4Address(V4Address address)
    {
        GuardAddressClass expected = McpGuardHttp.ClassifyAddress(address.Value);
        BigInteger v4 = AddressReference.ToBig(address.Value);
        var forms = new Dictionary<string, BigInteger>
        {
            ["mapped ::ffff:a.b.c.d"] = (BigInteger)0xFFFF << 32 | v4,
            ["translated ::ffff:0:a.b.c.d"] = (BigInteger)0xFFFF << 48 | v4,
            ["NAT64 64:ff9b::a.b.c.d"] = (BigInteger)0x0064FF9B << 96 | v4,
            ["6to4 2002:a.b.c.d::"] = (BigInteger)0x2002 << 112 | v4 << 80 | 0x1234,
            ["Teredo client (public server)"] = (BigInteger)0x20010000 << 96 | (BigInteger)0x08080808 << 64 | (v4 ^ 0xFFFFFFFF),
            ["Teredo server"] = (BigInteger)0x20010000 << 96 | v4 << 64 | (AddressReference.ToBig(IPAddress.Parse("8.8.4.4")) ^ 0xFFFFFFFF),
        };

        Property all = true.ToProperty();
        foreach ((string name, BigInteger value) in forms)
        {
            IPAddress form = AddressReference.FromBig(value, 128);
            GuardAddressClass actual = McpGuardHttp.ClassifyAddress(form);
            all = all.And((actual == expected).Label($"{name} {form}: {actual}, expected {expected}"));
        }

        return all;
    }

    [Property(MaxTest = 500, Arbitrary = [typeof(AddressGenerators)])]
    public Property ClassifyAddress_MapToIPv6_NeverChangesTheClass(V4Address address) =>
        (McpGuardHttp.ClassifyAddress(address.Value.MapToIPv6()) == McpGuardHttp.ClassifyAddress(address.Value)).ToProperty();
}

public sealed record V4Address(IPAddress Value)
{
    public override string ToString() => Value.ToString();
}

public sealed record V6Address(IPAddress Value)
{
    public override string ToString() => Value.ToString();
}

public static class AddressGenerators
{
    public static Arbitrary<V4Address> V4() => Gen.Frequency<BigInteger>(
            (1, RandomBits(32)),
            (3, InPrefix(AddressReference.V4Prefixes, 32)),
            (1, Gen.Elements(0L, 0xFFFFFFFFL, 0x7F000001L, 0xA9FEA9FEL, 0x64400000L, 0x647FFFFFL, 0x64800000L, 0xAC0FFFFFL, 0xAC200000L, 0xC6110000L, 0xC6140000L, 0xDFFFFFFFL)
                .Select(v => (BigInteger)v)))
        .Select(v => new V4Address(AddressReference.FromBig(v, 32)))
        .ToArbitrary();

    public static Arbitrary<V6Address> V6() => Gen.Frequency<BigInteger>(
            (1, RandomBits(128)),
            (4, InPrefix(AddressReference.V6Prefixes, 128)),
            (2, Gen.Zip(Gen.Elements<BigInteger>(
                    (BigInteger)0xFFFF << 32, (BigInteger)0xFFFF << 48, (BigInteger)0x0064FF9B << 96, BigInteger.Zero), InPrefix(AddressReference.V4Prefixes, 32))
                .Select(t => t.Item1 | t.Item2)),
            (1, Gen.Zip(InPrefix(AddressReference.V4Prefixes, 32), RandomBits(80)).Select(t => (BigInteger)0x2002 << 112 | t.Item1 << 80 | t.Item2)),
            (1, InPrefix(AddressReference.V4Prefixes, 32).SelectMany(server => InPrefix(AddressReference.V4Prefixes, 32).SelectMany(client => RandomBits(32)
                .Select(flags => (BigInteger)0x20010000 << 96 | server << 64 | flags << 32 | (client ^ 0xFFFFFFFF))))))
        .Select(v => new V6Address(AddressReference.FromBig(v, 128)))
        .ToArbitrary();

    private static Gen<BigInteger> RandomBits(int bits) =>
        Gen.ArrayOf(Gen.Choose(0, 255), bits / 8).Select(bytes => new BigInteger(bytes.Select(b => (byte)b).ToArray(), isUnsigned: true, isBigEndian: true));

    /// <summary>A random address inside one of the prefixes, with extra weight on the first and last address of the block.</summary>
    private static Gen<BigInteger> InPrefix(IReadOnlyList<(BigInteger Prefix, int Length)> prefixes, int bits) =>
        Gen.Elements(prefixes.ToArray()).SelectMany(prefix => RandomBits(bits).SelectMany(random => Gen.Choose(0, 3).Select(edge =>
        {
            BigInteger hostMask = (BigInteger.One << (bits - prefix.Length)) - 1;
            BigInteger host = edge switch { 0 => BigInteger.Zero, 1 => hostMask, _ => random & hostMask };
            return prefix.Prefix | host;
        })));
}
