using System.Threading.Channels;

namespace McpGuard.Samples.FileAgent;

/// <summary>
/// Lines from standard input, readable with a cancellation token. <c>Console.In.ReadLineAsync</c> blocks synchronously
/// and cannot be cancelled, so an approval prompt that timed out would swallow the next line the user types; here one
/// background reader feeds a channel, and both the shell and the approver take lines from it.
/// </summary>
internal sealed class ConsoleLines
{
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleWriter = true });

    private readonly TextReader _input;
    private int _started;

    public ConsoleLines(TextReader input) => _input = input;

    /// <summary>The next line, or <see langword="null"/> at the end of input.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async ValueTask<string?> ReadLineAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _started, 1) == 0)
        {
            new Thread(Pump) { IsBackground = true, Name = "stdin" }.Start();
        }

        try
        {
            return await _lines.Reader.ReadAsync(cancellationToken);
        }
        catch (ChannelClosedException)
        {
            return null;
        }
    }

    private void Pump()
    {
        while (_input.ReadLine() is { } line)
        {
            _lines.Writer.TryWrite(line);
        }

        _lines.Writer.TryComplete();
    }
}
