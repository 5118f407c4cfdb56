using System.Text.RegularExpressions;
using McpGuard.Text;

namespace McpGuard.Tests.Text;

/// <summary>
/// <see cref="LinearRegex"/>: on .NET 8 the NonBacktracking engine refuses patterns whose automaton may exceed 1,000 nodes
/// unless the limit is raised; these tests run on both target frameworks (the .NET 8 run is where they can fail).
/// </summary>
public class LinearRegexTests
{
    [Fact]
    public void Create_PatternBeyondNet8DefaultAutomataLimit_BuildsAndMatches()
    {
        // Forty alternatives of nine to fourteen letters, case-insensitive, between word boundaries: about as large as the
        // catalog differ's instruction-cue pattern, which .NET 8 refused with its default limit.
        string[] words = Enumerable.Range(0, 40).Select(i => "keyword" + new string((char)('a' + (i % 26)), 2 + (i % 6)) + i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Regex regex = LinearRegex.Create(@"\b(?:" + string.Join('|', words) + @")\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

        Assert.True((regex.Options & RegexOptions.NonBacktracking) != 0);
        Assert.Matches(regex, "prefix " + words[17].ToUpperInvariant() + " suffix");
        Assert.DoesNotMatch(regex, "prefix " + words[17] + "x suffix");
    }

    [Fact]
    public void Create_Backreference_ThrowsNotSupported()
    {
        // The options validator relies on this to reject host patterns the linear-time engine cannot run.
        Assert.Throws<NotSupportedException>(() => LinearRegex.Create(@"(a)\1"));
    }

    [Fact]
    public void Create_PathologicalPatternAndInput_MatchesWithoutTimeout()
    {
        // (a+)+$ backtracks exponentially on "aaaa…b"; NonBacktracking answers in linear time, with a 1 s match timeout set.
        Regex regex = LinearRegex.Create(@"^(a+)+$", RegexOptions.None, TimeSpan.FromSeconds(1));
        Assert.DoesNotMatch(regex, new string('a', 50_000) + "b");
    }
}
