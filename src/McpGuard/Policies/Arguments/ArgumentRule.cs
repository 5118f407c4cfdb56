namespace McpGuard;

/// <summary>How file paths are compared with allowed roots.</summary>
public enum PathCaseSensitivity
{
    /// <summary>Case-insensitive on Windows and macOS (their default file systems fold case), case-sensitive elsewhere. The default.</summary>
    Auto = 0,

    /// <summary>Always compare ordinally, case-sensitive.</summary>
    Sensitive = 1,

    /// <summary>Always compare ordinally, ignoring case.</summary>
    Insensitive = 2,
}

/// <summary>
/// A constraint on the argument values selected by <see cref="Path"/>. Every constraint that is set applies, in this
/// order: file path (<see cref="AllowedRoots"/>), URL (<see cref="AllowedSchemes"/>/<see cref="AllowedHosts"/>),
/// <see cref="Pattern"/>, <see cref="AllowedValues"/>, <see cref="Minimum"/>/<see cref="Maximum"/>,
/// <see cref="MinLength"/>/<see cref="MaxLength"/>, <see cref="MaxItems"/>. The first violation denies with a rule id
/// (<c>argument.*</c>, or <see cref="Id"/>) and the JSON path of the offending value.
/// </summary>
/// <remarks>A selector that matches nothing is not a violation unless <see cref="Required"/> is set (servers often substitute a default for a missing argument, e.g. a default URL).</remarks>
public sealed class ArgumentRule
{
    /// <summary>
    /// Which values the rule applies to, as a JSON path over the <c>arguments</c> object (subset of RFC 9535):
    /// <c>$</c>, <c>.name</c>, <c>['name']</c>, <c>[index]</c>, <c>[*]</c> and <c>.*</c>. Example: <c>$.paths[*]</c>.
    /// </summary>
    /// <value>Default: <c>$</c>.</value>
    public string Path { get; set; } = "$";

    /// <summary>Whether <see cref="Path"/> must select at least one value (rule <c>argument.required</c>), so a server cannot fall back to its own default.</summary>
    /// <value>Default: <see langword="false"/>.</value>
    public bool Required { get; set; }

    /// <summary>Optional rule id reported instead of the built-in <c>argument.*</c> id.</summary>
    public string? Id { get; set; }

    /// <summary>
    /// If non-empty, each value must be a file path that, after canonicalization (absolute, <c>.</c>/<c>..</c> and repeated
    /// separators removed, symbolic links resolved both the way the OS and the way Node's <c>path.resolve</c>+<c>realpath</c>
    /// do it), lies at or under one of these directories (rules <c>argument.path-outside-roots</c>,
    /// <c>argument.path-relative</c>, <c>argument.path-home-relative</c>, <c>argument.path-invalid</c>).
    /// </summary>
    public List<string> AllowedRoots { get; } = [];

    /// <summary>Base directory for relative paths. <see langword="null"/>: relative paths are denied, since the server resolves them against a directory the host does not control.</summary>
    public string? RelativePathBase { get; set; }

    /// <summary>How paths are compared with <see cref="AllowedRoots"/>.</summary>
    /// <value>Default: <see cref="PathCaseSensitivity.Auto"/>.</value>
    public PathCaseSensitivity PathCase { get; set; }

    /// <summary>If non-empty, each value must be an absolute URL with one of these schemes (case-insensitive), rule <c>argument.url-scheme</c>. When only <see cref="AllowedHosts"/> is set, the scheme must be <c>https</c>.</summary>
    public List<string> AllowedSchemes { get; } = [];

    /// <summary>If non-empty, each value must be an absolute URL whose host (IDNA ASCII form, case-insensitive) is one of these; <c>*.example.com</c> matches sub-domains only. URLs with user info are denied (rule <c>argument.url-userinfo</c>). Rule <c>argument.url-host</c>.</summary>
    public List<string> AllowedHosts { get; } = [];

    /// <summary>A .NET regular expression the <em>whole</em> string value must match (anchored; evaluated with <c>RegexOptions.NonBacktracking</c>, so linear time; backreferences and look-arounds are not supported). Rule <c>argument.pattern</c>.</summary>
    public string? Pattern { get; set; }

    /// <summary>If non-empty, each value must equal one of these: strings compare ordinally with string values; other entries compare with the value's JSON text (e.g. <c>42</c>, <c>true</c>). Rule <c>argument.enum</c>.</summary>
    public List<string> AllowedValues { get; } = [];

    /// <summary>Inclusive lower bound for numeric values. Rule <c>argument.range</c>.</summary>
    public double? Minimum { get; set; }

    /// <summary>Inclusive upper bound for numeric values. Rule <c>argument.range</c>.</summary>
    public double? Maximum { get; set; }

    /// <summary>Minimum string length in Unicode code points (as JSON Schema counts). Rule <c>argument.length</c>.</summary>
    public int? MinLength { get; set; }

    /// <summary>Maximum string length in Unicode code points. Rule <c>argument.length</c>.</summary>
    public int? MaxLength { get; set; }

    /// <summary>Maximum number of items for array values. Rule <c>argument.length</c>.</summary>
    public int? MaxItems { get; set; }
}
