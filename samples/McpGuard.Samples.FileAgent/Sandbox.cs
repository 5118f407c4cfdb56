using System.Security.Cryptography;

namespace McpGuard.Samples.FileAgent;

/// <summary>
/// A fresh directory tree for one run, under the system temp directory:
/// <code>
/// mcpguard-fileagent-&lt;random&gt;/
///   sandbox/                  the only directory the agent may touch (the allowed root)
///     notes.txt, todo.md
///     link-to-secret.txt  -> ../outside/secret.txt   (a symbolic link that escapes the sandbox)
///   outside/secret.txt        must never be read
///   evidence.jsonl            McpGuard's evidence (outside the sandbox, so the server cannot read or alter it)
/// </code>
/// The tree is kept after the run so the evidence can be inspected.
/// </summary>
internal sealed class Sandbox
{
    private Sandbox(string runDirectory, string secret, bool hasSymlink)
    {
        RunDirectory = runDirectory;
        Secret = secret;
        HasSymlink = hasSymlink;
    }

    public string RunDirectory { get; }

    public string Root => Path.Combine(RunDirectory, "sandbox");

    public string Outside => Path.Combine(RunDirectory, "outside");

    public string NotesFile => Path.Combine(Root, "notes.txt");

    public string SecretFile => Path.Combine(Outside, "secret.txt");

    public string SymlinkToSecret => Path.Combine(Root, "link-to-secret.txt");

    public string DefaultEvidenceFile => Path.Combine(RunDirectory, "evidence.jsonl");

    /// <summary>A random marker written into the secret file; it must never appear in anything the server returns.</summary>
    public string Secret { get; }

    /// <summary>Whether the symbolic link could be created (Windows needs developer mode or elevation).</summary>
    public bool HasSymlink { get; }

    public const string NotesContent = "Meeting notes: ship the guarded file agent on Friday.\n";

    public static Sandbox Create()
    {
        string run = Path.Combine(Path.GetTempPath(), "mcpguard-fileagent-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)));
        string secret = "TOP-SECRET-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        Directory.CreateDirectory(Path.Combine(run, "sandbox"));
        Directory.CreateDirectory(Path.Combine(run, "outside"));
        File.WriteAllText(Path.Combine(run, "sandbox", "notes.txt"), NotesContent);
        File.WriteAllText(Path.Combine(run, "sandbox", "todo.md"), "- [ ] review the evidence file\n");
        File.WriteAllText(Path.Combine(run, "outside", "secret.txt"), secret + "\n");

        bool symlink = true;
        try
        {
            File.CreateSymbolicLink(Path.Combine(run, "sandbox", "link-to-secret.txt"), Path.Combine("..", "outside", "secret.txt"));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            symlink = false;
        }

        return new Sandbox(Path.GetFullPath(run), secret, symlink);
    }

    /// <summary>A path relative to the run directory, for short display.</summary>
    public string Display(string path) =>
        path.StartsWith(RunDirectory, StringComparison.Ordinal) ? path[(RunDirectory.Length + 1)..] : path;
}
