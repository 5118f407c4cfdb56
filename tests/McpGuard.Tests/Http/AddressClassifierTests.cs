using System.Net;

namespace McpGuard.Tests.Http;

public sealed class AddressClassifierTests
{
    [Theory]
    [InlineData("127.0.0.1", GuardAddressClass.Loopback)]
    [InlineData("127.255.255.254", GuardAddressClass.Loopback)]
    [InlineData("10.0.0.1", GuardAddressClass.Private)]
    [InlineData("172.16.0.1", GuardAddressClass.Private)]
    [InlineData("172.31.255.255", GuardAddressClass.Private)]
    [InlineData("192.168.1.1", GuardAddressClass.Private)]
    [InlineData("169.254.169.254", GuardAddressClass.LinkLocal)]
    [InlineData("100.64.0.1", GuardAddressClass.SharedAddressSpace)]
    [InlineData("100.127.255.255", GuardAddressClass.SharedAddressSpace)]
    [InlineData("224.0.0.1", GuardAddressClass.Multicast)]
    [InlineData("239.255.255.250", GuardAddressClass.Multicast)]
    [InlineData("0.0.0.0", GuardAddressClass.Unspecified)]
    [InlineData("255.255.255.255", GuardAddressClass.Broadcast)]
    [InlineData("240.0.0.1", GuardAddressClass.Reserved)]
    [InlineData("192.0.0.170", GuardAddressClass.Reserved)]
    [InlineData("192.0.2.10", GuardAddressClass.Documentation)]
    [InlineData("198.51.100.7", GuardAddressClass.Documentation)]
    [InlineData("203.0.113.99", GuardAddressClass.Documentation)]
    [InlineData("198.18.0.1", GuardAddressClass.Benchmarking)]
    [InlineData("8.8.8.8", GuardAddressClass.Public)]
    [InlineData("172.32.0.1", GuardAddressClass.Public)]
    [InlineData("100.128.0.1", GuardAddressClass.Public)]
    [InlineData("::1", GuardAddressClass.Loopback)]
    [InlineData("::", GuardAddressClass.Unspecified)]
    [InlineData("fc00::1", GuardAddressClass.UniqueLocal)]
    [InlineData("fd12:3456::1", GuardAddressClass.UniqueLocal)]
    [InlineData("fe80::1", GuardAddressClass.LinkLocal)]
    [InlineData("febf::1", GuardAddressClass.LinkLocal)]
    [InlineData("fec0::1", GuardAddressClass.Reserved)]
    [InlineData("ff02::1", GuardAddressClass.Multicast)]
    [InlineData("::ffff:127.0.0.1", GuardAddressClass.Loopback)]
    [InlineData("::ffff:169.254.169.254", GuardAddressClass.LinkLocal)]
    [InlineData("::ffff:10.1.2.3", GuardAddressClass.Private)]
    [InlineData("::ffff:8.8.8.8", GuardAddressClass.Public)]
    [InlineData("::ffff:0:a9fe:a9fe", GuardAddressClass.LinkLocal)]
    [InlineData("::127.0.0.1", GuardAddressClass.Reserved)]
    [InlineData("::8.8.8.8", GuardAddressClass.Reserved)]
    [InlineData("64:ff9b::a9fe:a9fe", GuardAddressClass.LinkLocal)]
    [InlineData("64:ff9b::808:808", GuardAddressClass.Public)]
    [InlineData("64:ff9b:1::1", GuardAddressClass.Reserved)]
    [InlineData("2002:7f00:1::1", GuardAddressClass.Loopback)]
    [InlineData("2002:a9fe:a9fe::", GuardAddressClass.LinkLocal)]
    [InlineData("2002:808:808::1", GuardAddressClass.Public)]
    [InlineData("2001:0:808:808::80ff:fffe", GuardAddressClass.Loopback)] // Teredo client 127.0.0.1 (inverted)
    [InlineData("2001:0:a9fe:a9fe::f7f7:f7f7", GuardAddressClass.LinkLocal)] // Teredo server 169.254.169.254
    [InlineData("2001:db8::1", GuardAddressClass.Documentation)]
    [InlineData("3fff::1", GuardAddressClass.Documentation)]
    [InlineData("2001:2::1", GuardAddressClass.Benchmarking)]
    [InlineData("100::1", GuardAddressClass.Reserved)]
    [InlineData("2606:4700::1111", GuardAddressClass.Public)]
    public void ClassifyAddress_KnownAddress_ReturnsItsClass(string address, GuardAddressClass expected) =>
        Assert.Equal(expected, McpGuardHttp.ClassifyAddress(IPAddress.Parse(address)));

    [Fact]
    public void ClassifyAddress_LinkLocalWithScopeId_IsLinkLocal() =>
        Assert.Equal(GuardAddressClass.LinkLocal, McpGuardHttp.ClassifyAddress(IPAddress.Parse("fe80::1%2")));
}
