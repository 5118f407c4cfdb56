using System.Globalization;
using System.Text;

namespace McpGuard.ServerRequests;

/// <summary>
/// Cheap, deterministic cues that a text (a requested field's name, title or description, or an elicitation message)
/// asks the user for a secret: passwords and passphrases, tokens and API keys, secrets and credentials, one-time and
/// two-factor codes, private and seed/recovery keys, card numbers and CVV, social security numbers, bank details.
/// </summary>
/// <remarks>
/// Text is normalized first (camelCase and snake_case split, compatibility decomposition, accents and format
/// characters removed, lower-cased), then matched on word boundaries against phrases in English and a few common
/// languages (German, French, Spanish, Portuguese, Italian, Dutch, Swedish, Polish, Turkish, Russian) and by
/// substring for scripts written without spaces (Chinese, Japanese, Korean) and a few others. A cue is a reason to ask
/// the host, not a verdict. A text without a cue is looked at once more with look-alike letters replaced (see
/// <see cref="Latinize"/>), so Cyrillic "а" in "pаssword" still counts. Not covered: look-alikes outside that table
/// (e.g. Cherokee or mathematical letters NFKD leaves alone), secrets asked for in paraphrase. Linear time; immutable;
/// thread-safe.
/// </remarks>
internal sealed class SecretCues
{
    private const int MaxScanChars = 8192;

    private static readonly string[] s_phrases =
    [
        // English
        "password", "passwords", "passwd", "pwd", "passphrase", "passcode", "passkey", "pin", "pin code", "pincode",
        "secret", "secrets", "client secret", "secret key", "secretkey", "credential", "credentials",
        "token", "access token", "auth token", "bearer", "refresh token", "api key", "apikey", "api token", "access key", "accesskey",
        "private key", "privatekey", "ssh key", "signing key", "encryption key", "recovery key", "master key",
        "otp", "totp", "hotp", "one time code", "one time password", "2fa", "2fa code", "mfa", "mfa code",
        "verification code", "security code", "auth code", "authentication code", "sms code", "authenticator code", "backup code", "backup codes",
        "card number", "credit card", "debit card", "cvv", "cvv2", "cvc", "cvc2", "card verification",
        "ssn", "social security", "social security number", "national insurance number", "tax id",
        "seed phrase", "recovery phrase", "secret phrase", "mnemonic", "wallet seed",
        "bank account", "account number", "routing number", "iban", "sort code", "session cookie",

        // German, French, Spanish, Portuguese, Italian, Dutch, Swedish, Polish, Turkish, Russian (accents removed)
        "passwort", "kennwort", "geheimnis", "zugangsdaten", "kartennummer", "prufziffer", "geheimzahl",
        "mot de passe", "mdp", "jeton", "identifiants", "cle api", "cle privee", "code secret", "numero de carte",
        "contrasena", "clave secreta", "credenciales", "numero de tarjeta", "codigo de verificacion",
        "senha", "chave privada", "numero do cartao", "codigo de seguranca",
        "parola d ordine", "chiave privata", "codice di verifica",
        "wachtwoord", "toegangscode", "losenord", "haslo", "hasło", "sifre",
        "пароль", "токен", "секрет", "ключ api", "код подтверждения", "номер карты",
    ];

    // Matched by substring after normalization: scripts written without spaces, or where word splitting is unreliable.
    private static readonly string[] s_substrings =
    [
        "密码", "密碼", "口令", "令牌", "密钥", "密鑰", "验证码", "驗證碼", "私钥", "私鑰", "信用卡",
        "パスワード", "暗証番号", "認証コード", "確認コード", "トークン", "秘密鍵", "クレジットカード",
        "비밀번호", "암호", "인증번호", "인증 코드", "토큰", "카드 번호",
        "كلمة المرور", "كلمة السر", "पासवर्ड", "סיסמה", "รหัสผ่าน",
    ];

    // Look-alike letter -> the Latin letter it imitates (a subset of Unicode confusables.txt; case kept). Lower-case
    // Cyrillic в, к, м, н, т look like small capitals, not like Latin lower case, and are left out.
    private static readonly Dictionary<char, char> s_lookAlikes = new()
    {
        // Cyrillic
        ['а'] = 'a', ['е'] = 'e', ['ё'] = 'e', ['о'] = 'o', ['р'] = 'p', ['с'] = 'c', ['у'] = 'y', ['х'] = 'x', ['ѕ'] = 's',
        ['і'] = 'i', ['ї'] = 'i', ['ј'] = 'j', ['ԁ'] = 'd', ['ԛ'] = 'q', ['ԝ'] = 'w', ['һ'] = 'h', ['ӏ'] = 'l',
        ['А'] = 'A', ['В'] = 'B', ['Е'] = 'E', ['К'] = 'K', ['М'] = 'M', ['Н'] = 'H', ['О'] = 'O', ['Р'] = 'P', ['С'] = 'C',
        ['Т'] = 'T', ['У'] = 'Y', ['Х'] = 'X', ['Ѕ'] = 'S', ['І'] = 'I', ['Ј'] = 'J', ['Ԁ'] = 'D', ['Ԛ'] = 'Q', ['Ԝ'] = 'W',

        // Greek
        ['α'] = 'a', ['ι'] = 'i', ['κ'] = 'k', ['ν'] = 'v', ['ο'] = 'o', ['ρ'] = 'p', ['τ'] = 't', ['υ'] = 'u', ['χ'] = 'x',
        ['Α'] = 'A', ['Β'] = 'B', ['Ε'] = 'E', ['Η'] = 'H', ['Ι'] = 'I', ['Κ'] = 'K', ['Μ'] = 'M', ['Ν'] = 'N', ['Ο'] = 'O',
        ['Ρ'] = 'P', ['Τ'] = 'T', ['Υ'] = 'Y', ['Χ'] = 'X', ['Ζ'] = 'Z',

        // Latin letters that NFKD keeps
        ['ı'] = 'i', ['ȷ'] = 'j', ['ɡ'] = 'g', ['ɑ'] = 'a', ['ɩ'] = 'i',
    };

    private readonly Dictionary<string, List<string[]>> _phrases = new(StringComparer.Ordinal);
    private readonly List<(string Normalized, string Term)> _substrings = [];

    public SecretCues(IEnumerable<string> additionalTerms)
    {
        foreach (string phrase in s_phrases.Concat(additionalTerms))
        {
            Add(phrase);
        }

        foreach (string term in s_substrings)
        {
            _substrings.Add((Normalize(term), term));
        }
    }

    /// <summary>The shared instance with the built-in terms only.</summary>
    public static SecretCues Default { get; } = new([]);

    /// <summary>The first cue found in <paramref name="text"/>, or <see langword="null"/>; a cue found only after
    /// look-alike letters were replaced ends in <c>" (look-alike letters)"</c>.</summary>
    public string? Find(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        string scanned = text.Length > MaxScanChars ? text[..MaxScanChars] : text;
        return FindNormalized(Normalize(scanned))
            ?? (Latinize(scanned) is { } latin && FindNormalized(Normalize(latin)) is { } cue ? cue + " (look-alike letters)" : null);
    }

    /// <summary>
    /// Replaces look-alike letters from the Cyrillic and Greek scripts (and a few Latin ones NFKD leaves alone) by the
    /// Latin letters they imitate, in every word made only of Latin-script letters, digits and such look-alikes that has
    /// at least one of them: the mixed-script and whole-script confusables of UTS #39 ("Unicode Security Mechanisms",
    /// section 4, "Confusable Detection"). A word with any other letter (a real Russian or Greek word such as "пароль")
    /// is left alone, so the cues of those languages still match as they are written. The table is a subset of
    /// <c>confusables.txt</c>; case is kept.
    /// </summary>
    /// <returns>The text with those words replaced, or <see langword="null"/> when no word qualified.</returns>
    internal static string? Latinize(string text)
    {
        char[]? result = null;
        int start = 0;
        for (int i = 0; i <= text.Length; i++)
        {
            if (i < text.Length && char.IsLetterOrDigit(text[i]))
            {
                continue;
            }

            // text[start..i] is one word: replace its look-alikes when it has some and no other non-Latin letter.
            bool any = false;
            bool qualifies = true;
            for (int j = start; j < i && qualifies; j++)
            {
                char c = text[j];
                if (s_lookAlikes.ContainsKey(c))
                {
                    any = true;
                }
                else if (!IsLatin(c))
                {
                    qualifies = false;
                }
            }

            if (any && qualifies)
            {
                result ??= text.ToCharArray();
                for (int j = start; j < i; j++)
                {
                    if (s_lookAlikes.TryGetValue(text[j], out char latin))
                    {
                        result[j] = latin;
                    }
                }
            }

            start = i + 1;
        }

        return result is null ? null : new string(result);
    }

    /// <summary>ASCII, the Latin blocks up to Latin Extended-B, Latin Extended Additional and fullwidth ASCII (which NFKD folds).</summary>
    private static bool IsLatin(char c) => c < 0x0250 || c is (>= '\u1E00' and <= '\u1EFF') or (>= '\uFF01' and <= '\uFF5E');

    private string? FindNormalized(string normalized)
    {
        foreach ((string needle, string term) in _substrings)
        {
            if (normalized.Contains(needle, StringComparison.Ordinal))
            {
                return term;
            }
        }

        string[] tokens = Tokenize(normalized);
        for (int i = 0; i < tokens.Length; i++)
        {
            if (!_phrases.TryGetValue(tokens[i], out List<string[]>? candidates))
            {
                continue;
            }

            foreach (string[] phrase in candidates)
            {
                if (i + phrase.Length <= tokens.Length && tokens.AsSpan(i, phrase.Length).SequenceEqual(phrase))
                {
                    return string.Join(' ', phrase);
                }
            }
        }

        return null;
    }

    private void Add(string phrase)
    {
        string[] tokens = Tokenize(Normalize(phrase));
        if (tokens.Length == 0)
        {
            return;
        }

        if (!_phrases.TryGetValue(tokens[0], out List<string[]>? list))
        {
            _phrases[tokens[0]] = list = [];
        }

        list.Add(tokens);
    }

    private static string[] Tokenize(string normalized) =>
        normalized.SplitWhere(static c => !char.IsLetterOrDigit(c));

    /// <summary>Splits camelCase, decomposes (NFKD), drops combining marks and format characters, lower-cases.</summary>
    internal static string Normalize(string text)
    {
        var split = new StringBuilder(text.Length + 8);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (i > 0 && char.IsUpper(c) && (char.IsLower(text[i - 1]) || (i + 1 < text.Length && char.IsUpper(text[i - 1]) && char.IsLower(text[i + 1]))))
            {
                split.Append(' ');
            }

            split.Append(c);
        }

        string decomposed;
        try
        {
            decomposed = split.ToString().Normalize(NormalizationForm.FormKD);
        }
        catch (ArgumentException)
        {
            decomposed = split.ToString(); // invalid UTF-16 (a lone surrogate): scan as is
        }

        var sb = new StringBuilder(decomposed.Length);
        foreach (char c in decomposed)
        {
            UnicodeCategory category = CharUnicodeInfo.GetUnicodeCategory(c);
            if (category is UnicodeCategory.NonSpacingMark or UnicodeCategory.Format or UnicodeCategory.EnclosingMark)
            {
                continue;
            }

            sb.Append(char.ToLowerInvariant(c));
        }

        return sb.ToString();
    }
}

internal static class StringSplitExtensions
{
    public static string[] SplitWhere(this string text, Func<char, bool> isSeparator)
    {
        var parts = new List<string>();
        int start = -1;
        for (int i = 0; i <= text.Length; i++)
        {
            bool separator = i == text.Length || isSeparator(text[i]);
            if (separator)
            {
                if (start >= 0)
                {
                    parts.Add(text[start..i]);
                    start = -1;
                }
            }
            else if (start < 0)
            {
                start = i;
            }
        }

        return [.. parts];
    }
}
