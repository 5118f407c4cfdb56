using System.Text.RegularExpressions;

namespace McpGuard.Text;

/// <summary>
/// Builds every regular expression McpGuard matches against server-controlled text, and the host's argument patterns,
/// with <see cref="RegexOptions.NonBacktracking"/>: matching time is linear in the input length whatever the pattern
/// (no catastrophic backtracking), at the price of no backreferences or look-arounds.
/// </summary>
/// <remarks>
/// <para>On .NET 8 the NonBacktracking engine refuses, with <see cref="NotSupportedException"/>, any pattern whose
/// symbolic automaton could exceed 1,000 nodes (the process-wide <see cref="AppContext"/> setting
/// <c>REGEX_NONBACKTRACKING_MAX_AUTOMATA_SIZE</c>); several of the detector's and the catalog differ's patterns need
/// more (one about 1,700). .NET 9 and later build them as they are. So on .NET 8 each construction here runs with that
/// setting raised to <see cref="Net8AutomataSizeLimit"/> and then restores the previous value. The raise is serialized
/// but process-wide while it lasts: a NonBacktracking regex the host builds on another thread in those few milliseconds
/// gets the higher limit too. A host value at or above the limit is left alone.</para>
/// <para>The limit bounds the size of the pattern's parsed tree, not the input: McpGuard's own patterns are fixed, and
/// the host's argument patterns are configuration that the options validator builds (and so checks) at start.</para>
/// </remarks>
internal static class LinearRegex
{
    /// <summary>The automaton size limit used while building on .NET 8 (nodes of the symbolic regex tree).</summary>
    internal const int Net8AutomataSizeLimit = 100_000;

#if !NET9_0_OR_GREATER
    private const string AutomataSizeKey = "REGEX_NONBACKTRACKING_MAX_AUTOMATA_SIZE";
    private static readonly object s_gate = new();
#endif

    /// <summary>Builds <paramref name="pattern"/> with <see cref="RegexOptions.NonBacktracking"/> added to <paramref name="options"/>.</summary>
    /// <param name="pattern">The .NET regular expression.</param>
    /// <param name="options">Further options (culture, case, multiline).</param>
    /// <param name="matchTimeout">The match timeout; <see langword="null"/> for none (<see cref="Regex.InfiniteMatchTimeout"/>).</param>
    /// <exception cref="ArgumentException">The pattern is malformed.</exception>
    /// <exception cref="NotSupportedException">The pattern uses a construct the NonBacktracking engine does not support
    /// (backreferences, look-arounds, atomic groups, …).</exception>
    public static Regex Create(string pattern, RegexOptions options = RegexOptions.None, TimeSpan? matchTimeout = null)
    {
        options |= RegexOptions.NonBacktracking;
        TimeSpan timeout = matchTimeout ?? Regex.InfiniteMatchTimeout;
#if NET9_0_OR_GREATER
        return new Regex(pattern, options, timeout);
#else
        lock (s_gate)
        {
            object? previous = AppContext.GetData(AutomataSizeKey);
            bool raise = previous is not int set || set < Net8AutomataSizeLimit;
            if (raise)
            {
                AppContext.SetData(AutomataSizeKey, Net8AutomataSizeLimit);
            }

            try
            {
                return new Regex(pattern, options, timeout);
            }
            finally
            {
                if (raise)
                {
                    AppContext.SetData(AutomataSizeKey, previous);
                }
            }
        }
#endif
    }
}
