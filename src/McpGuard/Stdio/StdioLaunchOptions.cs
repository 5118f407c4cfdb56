using System.Collections;
using McpGuard.Stdio;

namespace McpGuard;

/// <summary>
/// How to launch a local MCP server over stdio (MCP spec, "Transports / stdio") with a scrubbed environment: the child
/// gets only a minimal baseline (<see cref="BaselineVariables"/>), the variables granted by name, and explicit values.
/// Secrets in the host's environment (<c>*_TOKEN</c>, <c>AWS_*</c>, ...) never reach it unless granted by their exact name.
/// Optionally the server runs in a sandbox (<see cref="Sandbox"/>).
/// </summary>
/// <remarks>
/// Scrubbing is always on for servers McpGuard launches (<see cref="McpGuardEngine.CreateClientAsync"/>): there is no
/// setting that passes the whole host environment through. Not thread-safe to mutate; treat as immutable once the engine is built.
/// </remarks>
public sealed class StdioLaunchOptions
{
    /// <summary>The variables every child gets from the host when set: <c>PATH</c>, locale and time zone, temp directory, and on Windows the system variables a process needs to start.</summary>
    public static IReadOnlyList<string> BaselineVariables { get; } =
        ["PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "TEMP", "TMP", "SystemRoot", "windir", "ComSpec", "PATHEXT", "SystemDrive"];

    /// <summary>
    /// Patterns (<c>*</c> matches any run of characters, case-insensitive) of variable names that look like secrets: tokens,
    /// keys, passwords, credentials, session cookies, connection strings, and whole families of cloud and AI provider
    /// variables (<c>AWS_*</c>, <c>AZURE_*</c>, <c>GITHUB_*</c>, <c>OPENAI_*</c>, ...). A host variable whose name matches one
    /// of these reaches the child only when <see cref="GrantedVariables"/> names it exactly; a glob grant never lets it through.
    /// </summary>
    public static IReadOnlyList<string> SecretVariablePatterns { get; } =
    [
        "*TOKEN*", "*SECRET*", "*PASSWORD*", "*PASSWD*", "*PASSPHRASE*", "*_PASS", "*_PWD", "*CREDENTIAL*", "*_KEY", "*_KEY_*", "*_KEYS",
        "*APIKEY*", "*API_KEY*", "*PRIVATE*", "*_PAT", "*AUTH*", "*COOKIE*", "*SESSION*", "*CONNECTION_STRING*", "*CONNECTIONSTRING*",
        "*_DSN", "*DATABASE_URL*", "*_SAS",
        "AWS_*", "AZURE_*", "ARM_*", "GITHUB_*", "GH_*", "GITLAB_*", "OPENAI_*", "ANTHROPIC_*", "GOOGLE_*", "GCP_*", "GCLOUD_*", "GEMINI_*",
        "MISTRAL_*", "COHERE_*", "HF_*", "HUGGING*", "NPM_CONFIG_*", "NUGET_*", "DOCKER_*", "KUBECONFIG*", "VAULT_*", "SLACK_*", "STRIPE_*",
        "TWILIO_*", "SENDGRID_*", "CLOUDFLARE_*", "DIGITALOCEAN_*", "HEROKU_*", "VERCEL_*", "NETLIFY_*", "SENTRY_*", "DATADOG_*", "DD_*",
        "SSH_*", "GPG_*", "GNUPG*", "PGPASS*", "MYSQL_PWD", "REDIS_URL", "MONGO*_URI", "MONGO*_URL",
    ];

    /// <summary>The executable, e.g. <c>node</c> or an absolute path. Required.</summary>
    public string Command { get; set; } = string.Empty;

    /// <summary>Arguments, passed as-is (no shell).</summary>
    public List<string> Arguments { get; } = [];

    /// <summary>Working directory of the child; <see langword="null"/>: the host's current directory (in a sandbox: <c>/</c>).</summary>
    public string? WorkingDirectory { get; set; }

    /// <summary>
    /// Host environment variables passed through to the child beyond the baseline. An entry is an exact name
    /// (case-sensitive on Unix), which passes the variable even if it looks like a secret, or a pattern with <c>*</c>
    /// (e.g. <c>MYAPP_*</c>), which passes the matching variables except those matching <see cref="SecretVariablePatterns"/>.
    /// </summary>
    public List<string> GrantedVariables { get; } = [];

    /// <summary>Explicit variables for the child; these override inherited values.</summary>
    public Dictionary<string, string> Environment { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// The environment the baseline and granted variables are read from; <see langword="null"/>: the host process's
    /// environment at launch. Set it when the host launches servers on behalf of a user whose environment differs from the
    /// host process's, or to give a launch a controlled environment (tests).
    /// </summary>
    /// <value>Default: <see langword="null"/>.</value>
    public IReadOnlyDictionary<string, string>? ParentEnvironment { get; set; }

    /// <summary>The sandbox the server runs in (bubblewrap on Linux).</summary>
    /// <value>Default: <see cref="StdioSandboxMode.Off"/>.</value>
    public StdioSandboxOptions Sandbox { get; } = new();

    /// <summary>Whether <paramref name="name"/> matches one of <see cref="SecretVariablePatterns"/> (case-insensitive).</summary>
    /// <param name="name">An environment variable name.</param>
    /// <returns><see langword="true"/> if the name looks like it holds a secret.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is <see langword="null"/>.</exception>
    public static bool IsSecretVariableName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        foreach (string pattern in SecretVariablePatterns)
        {
            if (Wildcard.IsMatch(pattern, name, ignoreCase: true))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The server's own command line, for display (arguments with spaces or quotes are quoted). When the server is
    /// sandboxed, the command line actually run (with <c>bwrap</c> and its arguments in front) is in the launch evidence
    /// (<see cref="GuardEvidenceKind.ServerLaunched"/>), the session's <see cref="GuardSessionInfo.Endpoint"/> and the inventory.
    /// </summary>
    /// <returns>The command line.</returns>
    public string ToCommandLine() => CommandLine.Format(Command, Arguments);

    /// <summary>Builds the child's complete environment from <see cref="ParentEnvironment"/>, or from the host process's environment when that is <see langword="null"/>.</summary>
    /// <returns>The scrubbed environment (name → value).</returns>
    public Dictionary<string, string?> BuildEnvironment() =>
        ParentEnvironment is { } parent ? Build(parent) : BuildEnvironment(System.Environment.GetEnvironmentVariables());

    /// <summary>Builds the child's complete environment from <paramref name="parent"/>.</summary>
    /// <param name="parent">The host's environment (name → value).</param>
    /// <returns>The scrubbed environment.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="parent"/> is <see langword="null"/>.</exception>
    public Dictionary<string, string?> BuildEnvironment(IDictionary parent)
    {
        ArgumentNullException.ThrowIfNull(parent);
        var pairs = new List<KeyValuePair<string, string>>(parent.Count);
        foreach (DictionaryEntry entry in parent)
        {
            if (entry.Key is string name && entry.Value is string value)
            {
                pairs.Add(new KeyValuePair<string, string>(name, value));
            }
        }

        return Build(pairs);
    }

    internal void Validate(string prefix, List<string> failures)
    {
        foreach (string grant in GrantedVariables)
        {
            if (string.IsNullOrEmpty(grant) || grant.Contains('=', StringComparison.Ordinal) || grant.Contains('\0', StringComparison.Ordinal))
            {
                failures.Add($"{prefix}:GrantedVariables has an entry '{grant}' that is empty or contains '=' or NUL; give a variable name or a pattern such as MYAPP_*.");
            }
        }

        foreach (string name in Environment.Keys)
        {
            if (name.Length == 0 || name.Contains('=', StringComparison.Ordinal) || name.Contains('\0', StringComparison.Ordinal))
            {
                failures.Add($"{prefix}:Environment has a variable name '{name}' that is empty or contains '=' or NUL; use a plain name.");
            }
        }

        Sandbox.Validate(prefix + ":Sandbox", WorkingDirectory, failures);
    }

    private Dictionary<string, string?> Build(IEnumerable<KeyValuePair<string, string>> parent)
    {
        var host = new Dictionary<string, string>(OperatingSystem.IsWindows() ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal);
        foreach (KeyValuePair<string, string> pair in parent)
        {
            host[pair.Key] = pair.Value;
        }

        var result = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (string name in BaselineVariables)
        {
            if (host.TryGetValue(name, out string? value))
            {
                result[name] = value;
            }
        }

        foreach (string grant in GrantedVariables)
        {
            if (!Wildcard.IsPattern(grant))
            {
                if (host.TryGetValue(grant, out string? value))
                {
                    result[grant] = value;
                }

                continue;
            }

            foreach ((string name, string value) in host)
            {
                // A glob is a convenience, not a decision about a secret: those need their exact name.
                if (Wildcard.IsMatch(grant, name, OperatingSystem.IsWindows()) && !IsSecretVariableName(name))
                {
                    result[name] = value;
                }
            }
        }

        foreach (KeyValuePair<string, string> pair in Environment)
        {
            result[pair.Key] = pair.Value;
        }

        return result;
    }
}
