namespace McpGuard.Isolation;

/// <summary>Adapts a delegate to <see cref="IInjectionDetector"/>.</summary>
internal sealed class DelegateInjectionDetector(Func<string, ScanTarget, CancellationToken, ValueTask<InjectionScan>> scan) : IInjectionDetector
{
    public ValueTask<InjectionScan> ScanAsync(string text, ScanTarget target, CancellationToken cancellationToken) => scan(text, target, cancellationToken);
}
