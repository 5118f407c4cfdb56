namespace McpGuard.Tests.Integration.Conformance;

public sealed class ConformanceVerdictTests
{
    private const string Success = """{ "id": "token-request", "status": "SUCCESS" }""";
    private const string Info = """{ "id": "incoming-request", "status": "INFO" }""";

    [Fact]
    public void Evaluate_SuccessesAndExitZero_Passes() =>
        Assert.True(ConformanceVerdict.Evaluate($"[{Info}, {Success}]", 0).Passed);

    [Fact]
    public void Evaluate_OneFailure_Fails() =>
        Assert.False(ConformanceVerdict.Evaluate($$"""[{{Success}}, { "id": "pkce", "status": "FAILURE" }]""", 0).Passed);

    [Fact]
    public void Evaluate_OneWarning_Fails() =>
        Assert.False(ConformanceVerdict.Evaluate($$"""[{{Success}}, { "id": "scope", "status": "WARNING" }]""", 0).Passed);

    [Fact]
    public void Evaluate_OnlyInformation_Fails() =>
        Assert.False(ConformanceVerdict.Evaluate($"[{Info}]", 0).Passed);

    [Fact]
    public void Evaluate_RunnerExitNonZero_Fails() =>
        Assert.False(ConformanceVerdict.Evaluate($"[{Success}]", 1).Passed);
}
