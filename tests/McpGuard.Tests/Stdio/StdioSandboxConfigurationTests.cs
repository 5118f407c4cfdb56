using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace McpGuard.Tests.Stdio;

/// <summary>Binding <see cref="StdioLaunchOptions.Sandbox"/> and glob grants from configuration, as in docs/configuration.md.</summary>
public sealed class StdioSandboxConfigurationTests
{
    private const string ConfigJson = """
        {
          "McpGuard": {
            "Servers": {
              "filesystem": {
                "Stdio": {
                  "Command": "node",
                  "Arguments": [ "/opt/mcp/node_modules/@modelcontextprotocol/server-filesystem/dist/index.js", "/srv/sandbox" ],
                  "GrantedVariables": [ "HOME", "MYAPP_*" ],
                  "Sandbox": {
                    "Mode": "Required",
                    "ReadOnlyPaths": [ "/opt/mcp" ],
                    "ReadWritePaths": [ "/srv/sandbox" ],
                    "AllowNetwork": true,
                    "BubblewrapPath": "/usr/local/bin/bwrap",
                    "Limits": {
                      "MaxMemoryBytes": 1073741824,
                      "MaxFileSizeBytes": 104857600,
                      "MaxOpenFiles": 1024,
                      "MaxCpuSeconds": 86400,
                      "TmpSizeBytes": 67108864
                    }
                  }
                }
              }
            }
          }
        }
        """;

    private static McpGuardOptions Bind(string json)
    {
        IConfigurationSection section = new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))).Build().GetSection(McpGuardOptions.SectionName);
        var services = new ServiceCollection();
        services.AddMcpGuard().BindConfiguration(section);
        using ServiceProvider provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IOptions<McpGuardOptions>>().Value;
    }

    [Fact]
    public void BindConfiguration_SandboxSection_PopulatesEverySetting()
    {
        StdioLaunchOptions stdio = Bind(ConfigJson).Servers["filesystem"].Stdio!;

        Assert.Equal(StdioSandboxMode.Required, stdio.Sandbox.Mode);
        Assert.Equal(["/opt/mcp"], stdio.Sandbox.ReadOnlyPaths);
        Assert.Equal(["/srv/sandbox"], stdio.Sandbox.ReadWritePaths);
        Assert.True(stdio.Sandbox.AllowNetwork);
        Assert.Equal("/usr/local/bin/bwrap", stdio.Sandbox.BubblewrapPath);
        Assert.Equal(["HOME", "MYAPP_*"], stdio.GrantedVariables);
        StdioResourceLimits limits = stdio.Sandbox.Limits;
        Assert.Equal((1073741824L, 104857600L, 1024, 86400, 67108864L), (limits.MaxMemoryBytes, limits.MaxFileSizeBytes, limits.MaxOpenFiles, limits.MaxCpuSeconds, limits.TmpSizeBytes));
    }

    [Fact]
    public void BindConfiguration_InvalidSandbox_FailsAtStartWithSettingName()
    {
        string json = ConfigJson.Replace("\"/srv/sandbox\" ]", "\"/\" ]", StringComparison.Ordinal);
        var services = new ServiceCollection();
        IConfigurationSection section = new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))).Build().GetSection(McpGuardOptions.SectionName);
        services.AddMcpGuard().BindConfiguration(section);
        using ServiceProvider provider = services.BuildServiceProvider();

        OptionsValidationException error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<McpGuardOptions>>().Value);

        Assert.Contains("McpGuard:Servers:filesystem:Stdio:Sandbox:ReadWritePaths entry '/' is the root directory", error.Message, StringComparison.Ordinal);
    }
}
