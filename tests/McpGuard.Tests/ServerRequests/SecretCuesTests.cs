using McpGuard.ServerRequests;

namespace McpGuard.Tests.ServerRequests;

public sealed class SecretCuesTests
{
    [Theory]
    [InlineData("password")]
    [InlineData("userPassword")]
    [InlineData("db_passwd")]
    [InlineData("Passphrase for the key")]
    [InlineData("apiKey")]
    [InlineData("OPENAI_API_KEY")]
    [InlineData("Your personal access token")]
    [InlineData("GitHub token")]
    [InlineData("clientSecret")]
    [InlineData("Enter your credentials")]
    [InlineData("The 6-digit code from your authenticator: one-time code")]
    [InlineData("2FA code")]
    [InlineData("otp")]
    [InlineData("PIN")]
    [InlineData("SSH private key")]
    [InlineData("cardNumber")]
    [InlineData("CVV")]
    [InlineData("SSN")]
    [InlineData("Your wallet seed phrase (12 words)")]
    [InlineData("recovery phrase")]
    [InlineData("IBAN")]
    [InlineData("Passwort")]
    [InlineData("Bitte geben Sie Ihr Kennwort ein")]
    [InlineData("Votre mot de passe")]
    [InlineData("Introduzca su contraseña")]
    [InlineData("Digite sua senha")]
    [InlineData("Wachtwoord")]
    [InlineData("Ange ditt lösenord")]
    [InlineData("Podaj hasło")]
    [InlineData("Lütfen Şifre girin")]
    [InlineData("Введите пароль")]
    [InlineData("请输入密码")]
    [InlineData("パスワードを入力してください")]
    [InlineData("비밀번호를 입력하세요")]
    [InlineData("pass\u200Bword")]
    [InlineData("ｐａｓｓｗｏｒｄ")]
    public void Find_SecretCue_Found(string text) => Assert.NotNull(SecretCues.Default.Find(text));

    [Theory]
    [InlineData("name")]
    [InlineData("Your display name")]
    [InlineData("maxTokens")]
    [InlineData("How many results should be shown?")]
    [InlineData("Pick a colour theme")]
    [InlineData("Which passage should be summarized?")]
    [InlineData("Spinning up the keyboard shortcuts")]
    [InlineData("Confirm the deployment")]
    [InlineData("email")]
    [InlineData("")]
    public void Find_InnocentText_NotFound(string text) => Assert.Null(SecretCues.Default.Find(text));

    /// <summary>Words that mix Latin letters with Cyrillic or Greek look-alikes, or are made of look-alikes only
    /// (UTS #39 mixed- and whole-script confusables), are read as the Latin word they imitate.</summary>
    [Theory]
    [InlineData("p\u0430ssword", "password")] // Cyrillic а
    [InlineData("\u0440\u0430\u0455\u0455\u051D\u043Er\u0501", "password")] // р а ѕ ѕ ԝ о (Latin r) ԁ
    [InlineData("Your \u0430piKey, please", "api key")] // Cyrillic а opens a camelCase name
    [InlineData("t\u043Eken", "token")] // Cyrillic о
    [InlineData("S\u0435cret", "secret")] // Cyrillic е after a capital
    [InlineData("\u039F\u03A4\u03A1", "otp")] // Greek capitals Ο Τ Ρ
    [InlineData("\u0440\u0456n code", "pin")] // Cyrillic р і, Latin n
    [InlineData("contras\u0435\u00F1a", "contrasena")] // Cyrillic е next to a Latin ñ
    [InlineData("p\u0430ss\u200Bw\u043Erd", "password")] // look-alikes split by a zero-width space
    public void Find_LookAlikeLetters_FoundAndMarked(string text, string phrase)
    {
        Assert.Contains(text, c => c > 0x7F && !char.IsWhiteSpace(c) && c != '\u200B'); // not the ASCII word in disguise
        Assert.Equal(phrase + " (look-alike letters)", SecretCues.Default.Find(text));
    }

    /// <summary>Real Cyrillic and Greek words are not rewritten: their own cues still match as written, and innocent
    /// words made partly of look-alike letters do not turn into cues.</summary>
    [Theory]
    [InlineData("\u0412\u0432\u0435\u0434\u0438\u0442\u0435 \u0432\u0430\u0448\u0435 \u0438\u043C\u044F", null)] // "Введите ваше имя" (your name)
    [InlineData("\u0423\u043A\u0430\u0436\u0438\u0442\u0435 \u0441\u043E\u0440\u0442 \u043A\u043E\u0444\u0435", null)] // "Укажите сорт кофе" (coffee kind)
    [InlineData("\u038C\u03BD\u03BF\u03BC\u03B1 \u03C7\u03C1\u03AE\u03C3\u03C4\u03B7", null)] // "Όνομα χρήστη" (user name)
    [InlineData("\u0412\u0432\u0435\u0434\u0438\u0442\u0435 \u0442\u043E\u043A\u0435\u043D", "токен")] // "Введите токен": the Russian cue, unmarked
    public void Find_RealCyrillicAndGreekWords_NotRewritten(string text, string? expected) => Assert.Equal(expected, SecretCues.Default.Find(text));

    [Fact]
    public void Latinize_OnlyQualifyingWordsChange()
    {
        Assert.Null(SecretCues.Latinize("plain ASCII text"));
        Assert.Null(SecretCues.Latinize("\u043F\u0430\u0440\u043E\u043B\u044C")); // "пароль": п and л are not look-alikes
        Assert.Equal("password \u043F\u0430\u0440\u043E\u043B\u044C", SecretCues.Latinize("p\u0430ssword \u043F\u0430\u0440\u043E\u043B\u044C"));
    }

    [Fact]
    public void Find_AdditionalTerm_Found()
    {
        var cues = new SecretCues(["Vault Unseal Share"]);

        Assert.Equal("vault unseal share", cues.Find("Paste your vaultUnsealShare here"));
        Assert.Null(SecretCues.Default.Find("Paste your vaultUnsealShare here"));
    }

    [Fact]
    public void Find_HugeText_ScansBoundedPrefix()
    {
        string text = new string('a', 1_000_000) + " password";

        Assert.Null(SecretCues.Default.Find(text));
        Assert.NotNull(SecretCues.Default.Find("password " + new string('a', 1_000_000)));
    }
}
