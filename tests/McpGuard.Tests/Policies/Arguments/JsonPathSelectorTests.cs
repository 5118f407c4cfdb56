using System.Text.Json;
using McpGuard.Policies.Arguments;

namespace McpGuard.Tests.Policies.Arguments;

public sealed class JsonPathSelectorTests
{
    private static List<(string Path, string Value)> SelectAll(string path, string json)
    {
        var found = new List<(string, string)>();
        using JsonDocument document = JsonDocument.Parse(json);
        JsonPathSelector.Parse(path).Select<object>(document.RootElement, (value, p) =>
        {
            found.Add((p, value.GetRawText()));
            return null;
        });
        return found;
    }

    [Theory]
    [InlineData("$")]
    [InlineData("$.a")]
    [InlineData("$.a.b")]
    [InlineData("$['a b']")]
    [InlineData("$[\"a\"]")]
    [InlineData("$[0]")]
    [InlineData("$[*]")]
    [InlineData("$.*")]
    [InlineData("$.a[*].b")]
    [InlineData("$[ 'x' ]")]
    [InlineData("$.a[12][*].*")]
    public void Parse_ValidPath_KeepsText(string path)
    {
        Assert.Equal(path, JsonPathSelector.Parse(path).Text);
    }

    [Theory]
    [InlineData("")]
    [InlineData("a")]
    [InlineData("$a")]
    [InlineData("$.")]
    [InlineData("$..a")]
    [InlineData("$[")]
    [InlineData("$[-1]")]
    [InlineData("$[1:2]")]
    [InlineData("$[?(@.a)]")]
    [InlineData("$['a]")]
    [InlineData("$[abc]")]
    [InlineData("$ .a")]
    public void Parse_InvalidPath_ThrowsFormatException(string path)
    {
        Assert.Throws<FormatException>(() => JsonPathSelector.Parse(path));
    }

    [Fact]
    public void Parse_Null_ThrowsArgumentNullException()
    {
        Assert.Throws<ArgumentNullException>(() => JsonPathSelector.Parse(null!));
    }

    [Fact]
    public void Select_Root_SelectsWholeDocument()
    {
        Assert.Equal([("$", """{"a":1}""")], SelectAll("$", """{"a":1}"""));
    }

    [Fact]
    public void Select_Member_SelectsValueWithDotPath()
    {
        Assert.Equal([("$.a.b", "2")], SelectAll("$.a.b", """{"a":{"b":2}}"""));
    }

    [Fact]
    public void Select_QuotedMemberWithSpace_NormalizesToBracketPath()
    {
        Assert.Equal([("$['a b']", "1")], SelectAll("$[\"a b\"]", """{"a b":1}"""));
    }

    [Fact]
    public void Select_Index_SelectsElementWithIndexPath()
    {
        Assert.Equal([("$.a[2]", "\"z\"")], SelectAll("$.a[2]", """{"a":["x","y","z"]}"""));
    }

    [Fact]
    public void Select_IndexOutOfRange_SelectsNothing()
    {
        Assert.Empty(SelectAll("$.a[3]", """{"a":["x","y","z"]}"""));
    }

    [Fact]
    public void Select_ArrayWildcard_SelectsEveryItemInOrder()
    {
        Assert.Equal([("$[0]", "1"), ("$[1]", "2")], SelectAll("$[*]", "[1,2]"));
    }

    [Fact]
    public void Select_ObjectWildcard_SelectsEveryMember()
    {
        Assert.Equal([("$.a", "1"), ("$['b-c']", "2")], SelectAll("$.*", """{"a":1,"b-c":2}"""));
    }

    [Fact]
    public void Select_WildcardOnScalar_SelectsNothing()
    {
        Assert.Empty(SelectAll("$.*", "42"));
    }

    [Fact]
    public void Select_MemberOnArray_SelectsNothing()
    {
        Assert.Empty(SelectAll("$.a", """[{"a":1}]"""));
    }

    [Fact]
    public void Select_IndexOnObject_SelectsNothing()
    {
        Assert.Empty(SelectAll("$[0]", """{"0":1}"""));
    }

    [Fact]
    public void Select_VisitReturnsResult_StopsAtFirst()
    {
        using JsonDocument document = JsonDocument.Parse("[1,2,3]");
        int visits = 0;

        string? result = JsonPathSelector.Parse("$[*]").Select(document.RootElement, (_, p) => ++visits == 2 ? p : null);

        Assert.Equal(("$[1]", 2), (result, visits));
    }

    [Fact]
    public void Select_HugeFanOut_StopsAtMatchBudget()
    {
        string json = "[" + string.Join(',', Enumerable.Repeat("[" + string.Join(',', Enumerable.Repeat("0", 1000)) + "]", 200)) + "]";

        Assert.True(SelectAll("$[*][*]", json).Count < JsonPathSelector.MaxMatches);
    }

    [Theory]
    [InlineData("name", "$.name")]
    [InlineData("_x1", "$._x1")]
    [InlineData("a b", "$['a b']")]
    [InlineData("1a", "$['1a']")]
    [InlineData("", "$['']")]
    [InlineData("it's", "$['it\\'s']")]
    [InlineData("back\\slash", "$['back\\\\slash']")]
    [InlineData("line\nbreak", "$['line\\u000abreak']")]
    [InlineData("é", "$['é']")]
    public void AppendMember_Name_WritesNormalizedPath(string name, string expected)
    {
        Assert.Equal(expected, JsonPathSelector.AppendMember("$", name));
    }
}
