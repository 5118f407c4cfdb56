using McpGuard.Tests.Infrastructure;
using Microsoft.Extensions.Options;

namespace McpGuard.Tests.Stdio;

/// <summary>Start-up validation of <see cref="StdioSandboxOptions"/> and the environment grants: each message names the setting and what to change.</summary>
public sealed class StdioSandboxValidationTests
{
    private const string Prefix = "McpGuard:Servers:srv:Stdio";

    private static IReadOnlyList<string> Failures(Action<StdioLaunchOptions> configure)
    {
        McpGuardOptions options = TestCalls.Options(s =>
        {
            s.Stdio = new StdioLaunchOptions { Command = "node" };
            configure(s.Stdio);
        });
        ValidateOptionsResult result = new McpGuardOptionsValidator().Validate(Options.DefaultName, options);
        return result.Failed ? [.. result.Failures!] : [];
    }

    [Fact]
    public void Validate_RequiredWithGrantsAndGrantedWorkingDirectory_Succeeds()
    {
        Assert.Empty(Failures(s =>
        {
            s.Sandbox.Mode = StdioSandboxMode.Required;
            s.Sandbox.ReadOnlyPaths.Add("/srv/app");
            s.Sandbox.ReadWritePaths.Add("/srv/data");
            s.WorkingDirectory = "/srv/app/bin";
        }));
    }

    [Fact]
    public void Validate_ModeOffWithGrants_MessageSaysToChooseAMode()
    {
        Assert.Equal(
            [$"{Prefix}:Sandbox:Mode is Off but paths, network, limits or BubblewrapPath are set for a sandbox; set Mode to Preferred or Required, or remove them."],
            Failures(s => s.Sandbox.ReadOnlyPaths.Add("/srv/app")));
    }

    [Theory]
    [InlineData("relative/dir", "is not an absolute path; grant a fully qualified path such as /srv/data.")]
    [InlineData("", "is not an absolute path; grant a fully qualified path such as /srv/data.")]
    [InlineData("/", "is the root directory, which would undo the sandbox; grant the specific directories the server needs.")]
    [InlineData("/srv/..", "is the root directory, which would undo the sandbox; grant the specific directories the server needs.")]
    [InlineData("/proc/1", "lies in /proc, /sys or /dev, which the sandbox provides itself; remove it.")]
    [InlineData("/sys", "lies in /proc, /sys or /dev, which the sandbox provides itself; remove it.")]
    public void Validate_BadReadWritePath_MessageSaysWhy(string path, string why)
    {
        Assert.Equal(
            [$"{Prefix}:Sandbox:ReadWritePaths entry '{path}' {why}"],
            Failures(s =>
            {
                s.Sandbox.Mode = StdioSandboxMode.Required;
                s.Sandbox.ReadWritePaths.Add(path);
            }));
    }

    [Fact]
    public void Validate_WorkingDirectoryOutsideGrants_MessageSaysToGrantIt()
    {
        Assert.Equal(
            [$"{Prefix}:Sandbox: the working directory '/home/dev/project' is not inside a granted path; add it (or a parent) to ReadOnlyPaths or ReadWritePaths, or leave WorkingDirectory empty."],
            Failures(s =>
            {
                s.Sandbox.Mode = StdioSandboxMode.Preferred;
                s.Sandbox.ReadOnlyPaths.Add("/home/dev/project-other");
                s.WorkingDirectory = "/home/dev/project";
            }));
    }

    [Fact]
    public void Validate_RelativeBubblewrapPath_MessageSaysAbsolute()
    {
        Assert.Equal(
            [$"{Prefix}:Sandbox:BubblewrapPath 'bwrap' is not an absolute path; give the full path of bwrap or leave it empty to search PATH."],
            Failures(s =>
            {
                s.Sandbox.Mode = StdioSandboxMode.Required;
                s.Sandbox.BubblewrapPath = "bwrap";
            }));
    }

    [Theory]
    [InlineData("")]
    [InlineData("A=B")]
    public void Validate_BadGrantedVariable_MessageNamesIt(string grant)
    {
        Assert.Equal(
            [$"{Prefix}:GrantedVariables has an entry '{grant}' that is empty or contains '=' or NUL; give a variable name or a pattern such as MYAPP_*."],
            Failures(s => s.GrantedVariables.Add(grant)));
    }
}
