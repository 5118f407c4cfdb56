using System.Globalization;
using System.Text;
using System.Text.Json;

namespace McpGuard.Policies.Arguments;

/// <summary>A compiled JSON path (subset of RFC 9535: <c>$</c>, <c>.name</c>, <c>['name']</c>, <c>[n]</c>, <c>[*]</c>, <c>.*</c>).</summary>
/// <remarks>Immutable and thread-safe. Selection visits at most <see cref="MaxMatches"/> values.</remarks>
internal sealed class JsonPathSelector
{
    public const int MaxMatches = 100_000;

    private readonly Segment[] _segments;

    // _memberPaths[d]: the normalized path after the first d segments while they are all member names (fixed for
    // every input, so built once); null from the first index or wildcard segment on.
    private readonly string?[] _memberPaths;

    private JsonPathSelector(string text, Segment[] segments)
    {
        Text = text;
        _segments = segments;
        _memberPaths = new string?[segments.Length + 1];
        _memberPaths[0] = "$";
        for (int i = 0; i < segments.Length && segments[i].Kind == SegmentKind.Member; i++)
        {
            _memberPaths[i + 1] = AppendMember(_memberPaths[i]!, segments[i].Name!);
        }
    }

    public string Text { get; }

    public static JsonPathSelector Parse(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.Length == 0 || path[0] != '$')
        {
            throw new FormatException($"JSON path '{path}' must start with '$'.");
        }

        var segments = new List<Segment>();
        int i = 1;
        while (i < path.Length)
        {
            char c = path[i];
            if (c == '.')
            {
                i++;
                if (i < path.Length && path[i] == '*')
                {
                    segments.Add(Segment.Wildcard);
                    i++;
                    continue;
                }

                int start = i;
                while (i < path.Length && path[i] != '.' && path[i] != '[')
                {
                    i++;
                }

                if (i == start)
                {
                    throw new FormatException($"JSON path '{path}' has an empty member name at position {start}.");
                }

                segments.Add(Segment.Member(path[start..i]));
            }
            else if (c == '[')
            {
                int close = path.IndexOf(']', i);
                if (close < 0)
                {
                    throw new FormatException($"JSON path '{path}' has an unclosed '['.");
                }

                string inner = path[(i + 1)..close].Trim();
                if (inner == "*")
                {
                    segments.Add(Segment.Wildcard);
                }
                else if (inner.Length >= 2 && (inner[0] == '\'' || inner[0] == '"') && inner[^1] == inner[0])
                {
                    segments.Add(Segment.Member(inner[1..^1]));
                }
                else if (int.TryParse(inner, NumberStyles.None, CultureInfo.InvariantCulture, out int index))
                {
                    segments.Add(Segment.Index(index));
                }
                else
                {
                    throw new FormatException($"JSON path '{path}' has an unsupported selector '[{inner}]'.");
                }

                i = close + 1;
            }
            else
            {
                throw new FormatException($"JSON path '{path}' has an unexpected '{c}' at position {i}.");
            }
        }

        return new JsonPathSelector(path, [.. segments]);
    }

    /// <summary>Calls <paramref name="visit"/> for each selected value with its normalized path; stops when it returns a non-null result.</summary>
    public T? Select<T>(JsonElement root, Func<JsonElement, string, T?> visit)
        where T : class
    {
        int budget = MaxMatches;
        return Walk(root, 0, "$", visit, ref budget);
    }

    private T? Walk<T>(JsonElement current, int depth, string path, Func<JsonElement, string, T?> visit, ref int budget)
        where T : class
    {
        if (budget-- <= 0)
        {
            return null;
        }

        if (depth == _segments.Length)
        {
            return visit(current, path);
        }

        Segment segment = _segments[depth];
        switch (segment.Kind)
        {
            case SegmentKind.Member when current.ValueKind == JsonValueKind.Object:
                if (current.TryGetProperty(segment.Name!, out JsonElement child))
                {
                    string childPath = _memberPaths[depth + 1] is { } fixedPath && ReferenceEquals(path, _memberPaths[depth]) ? fixedPath : AppendMember(path, segment.Name!);
                    return Walk(child, depth + 1, childPath, visit, ref budget);
                }

                break;
            case SegmentKind.Index when current.ValueKind == JsonValueKind.Array:
                if (segment.Position < current.GetArrayLength())
                {
                    return Walk(current[segment.Position], depth + 1, path + "[" + segment.Position.ToString(CultureInfo.InvariantCulture) + "]", visit, ref budget);
                }

                break;
            case SegmentKind.Wildcard when current.ValueKind == JsonValueKind.Array:
                int n = 0;
                foreach (JsonElement item in current.EnumerateArray())
                {
                    T? r = Walk(item, depth + 1, path + "[" + n.ToString(CultureInfo.InvariantCulture) + "]", visit, ref budget);
                    if (r is not null)
                    {
                        return r;
                    }

                    n++;
                }

                break;
            case SegmentKind.Wildcard when current.ValueKind == JsonValueKind.Object:
                foreach (JsonProperty property in current.EnumerateObject())
                {
                    T? r = Walk(property.Value, depth + 1, AppendMember(path, property.Name), visit, ref budget);
                    if (r is not null)
                    {
                        return r;
                    }
                }

                break;
        }

        return null;
    }

    /// <summary>Appends a member in RFC 9535 normalized-path style: <c>.name</c> for identifiers, <c>['...']</c> otherwise.</summary>
    internal static string AppendMember(string path, string name)
    {
        bool simple = name.Length > 0 && (char.IsAsciiLetter(name[0]) || name[0] == '_');
        foreach (char ch in name)
        {
            simple &= char.IsAsciiLetterOrDigit(ch) || ch == '_';
        }

        if (simple)
        {
            return path + "." + name;
        }

        var sb = new StringBuilder(path.Length + name.Length + 4).Append(path).Append("['");
        foreach (char ch in name)
        {
            switch (ch)
            {
                case '\'': sb.Append("\\'"); break;
                case '\\': sb.Append("\\\\"); break;
                default:
                    if (ch < 0x20)
                    {
                        sb.Append("\\u").Append(((int)ch).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        sb.Append(ch);
                    }

                    break;
            }
        }

        return sb.Append("']").ToString();
    }

    private enum SegmentKind
    {
        Member,
        Index,
        Wildcard,
    }

    private readonly record struct Segment(SegmentKind Kind, string? Name, int Position)
    {
        public static Segment Wildcard => new(SegmentKind.Wildcard, null, 0);

        public static Segment Member(string name) => new(SegmentKind.Member, name, 0);

        public static Segment Index(int index) => new(SegmentKind.Index, null, index);
    }
}
