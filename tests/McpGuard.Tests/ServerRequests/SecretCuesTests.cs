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
