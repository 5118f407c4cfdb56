using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace McpGuard.Json;

/// <summary>
/// Reads a JSON number as the IEEE 754 double nearest to its decimal value (round half to even), whatever its notation.
/// </summary>
/// <remarks>
/// <see cref="JsonElement.TryGetDouble"/> (System.Text.Json 8 to 10, its <c>Utf8Parser</c>) rounds some halfway cases
/// the wrong way when the text has trailing fraction zeros: <c>-31625746888842330.000</c> reads as
/// <c>-31625746888842332</c>, while <c>-31625746888842330</c> reads as <c>-31625746888842328</c>, the correctly
/// rounded value. The same number would then canonicalize (RFC 8785 §3.2.2.3) and compare differently depending on how
/// the server wrote it; found by <c>JsonCanonicalizerProperties</c>. <see cref="double.TryParse(ReadOnlySpan{byte}, NumberStyles, IFormatProvider?, out double)"/>
/// on the raw token is correctly rounded.
/// </remarks>
internal static class JsonNumbers
{
    /// <summary>The double nearest to the number's decimal value; ±∞ when it is beyond the double range.</summary>
    /// <param name="element">A <see cref="JsonValueKind.Number"/> element.</param>
    /// <exception cref="InvalidOperationException">The element is not a number.</exception>
    public static double ToDouble(JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Number)
        {
            throw new InvalidOperationException("The element is not a number.");
        }

        // A JSON number token is always valid Float syntax for the invariant culture; an out-of-range one parses to ±∞.
        return double.Parse(JsonMarshal.GetRawUtf8Value(element), NumberStyles.Float, CultureInfo.InvariantCulture);
    }

    /// <summary>Whether the element is a number within the double range, and its correctly rounded value.</summary>
    public static bool TryGetFiniteDouble(JsonElement element, out double value)
    {
        value = element.ValueKind == JsonValueKind.Number ? ToDouble(element) : double.NaN;
        return double.IsFinite(value);
    }
}
