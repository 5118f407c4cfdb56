using System.Text.Json;
using System.Text.Json.Serialization;
using McpGuard.Scenarios;

// Seed scenarios of ../shared/DESIGN.md, end to end. Usage: dotnet run --project samples/McpGuard.Scenarios -- <A|B|C|D|E|all>
// Each prints one line "SCENARIO <letter> ..." that contains STOPPED only when the scenario verified that the harmful
// effect did not happen, followed by the details. Exit code: 0 when every implemented scenario was stopped.
string which = args.Length > 0 ? args[0].ToUpperInvariant() : "ALL";
string workDir = Path.Combine(Path.GetTempPath(), "mcpguard-scenarios-" + Guid.NewGuid().ToString("N")[..8]);
Directory.CreateDirectory(workDir);

var planned = new Dictionary<char, string>
{
    ['B'] = "token passthrough to another audience (planned: transport and process boundaries issue)",
    ['D'] = "local server reads secrets and the disk (planned: transport and process boundaries issue)",
};

char[] letters = which == "ALL" ? ['A', 'B', 'C', 'D', 'E'] : [which[0]];
int failures = 0;
foreach (char letter in letters)
{
    ScenarioResult result;
    if (letter == 'A')
    {
        try
        {
            result = await ScenarioA.RunAsync(workDir);
        }
        catch (Exception ex)
        {
            result = new ScenarioResult('A', "rug pull", false, "NOT STOPPED (scenario failed: " + ex.GetType().Name + ": " + ex.Message + ")", []);
        }
    }
    else if (letter == 'C')
    {
        try
        {
            result = await ScenarioC.RunAsync(workDir);
        }
        catch (Exception ex)
        {
            result = new ScenarioResult('C', "SSRF through OAuth metadata discovery", false, "NOT STOPPED (scenario failed: " + ex.GetType().Name + ": " + ex.Message + ")", []);
        }
    }
    else if (letter == 'E')
    {
        try
        {
            result = await ScenarioE.RunAsync(workDir);
        }
        catch (Exception ex)
        {
            result = new ScenarioResult('E', "hidden instructions in a documentation result", false, "NOT STOPPED (scenario failed: " + ex.GetType().Name + ": " + ex.Message + ")", []);
        }
    }
    else if (planned.TryGetValue(letter, out string? what))
    {
        Console.WriteLine($"SCENARIO {letter} NOT IMPLEMENTED YET: {what}");
        continue;
    }
    else
    {
        Console.Error.WriteLine($"Unknown scenario '{letter}'. Use A, B, C, D, E or all.");
        return 2;
    }

    Console.WriteLine($"SCENARIO {result.Letter} {result.Title}: {result.Verdict}");
    foreach (string line in result.Details)
    {
        Console.WriteLine("    " + line);
    }

    if (!result.Stopped)
    {
        failures++;
    }
}

return failures == 0 ? 0 : 1;

namespace McpGuard.Scenarios
{
    internal sealed record ScenarioResult(char Letter, string Title, bool Stopped, string Verdict, IReadOnlyList<string> Details);

    internal static class Json
    {
        public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };
    }
}
