using GateStream.Daemon.Queries;

namespace GateStream.Daemon.Tests.Queries;

/// <summary>A template's secretRef read from files, with Flagger's rules: a token wins, else username and password both.</summary>
public sealed class QueryCredentialsTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("gatestream-secrets-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void A_token_wins_over_username_and_password()
    {
        Write("prom", ("token", "abc.def\n"), ("username", "u"), ("password", "p"));

        var credentials = QueryCredentials.Read(_root, "apps", "prom", out var error);

        Assert.Equal("", error);
        Assert.Equal(("abc.def", (string?)null), (credentials!.Token, credentials.Username));
        Assert.DoesNotContain("abc", credentials.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Username_and_password_are_basic_auth_and_trailing_newlines_are_not_part_of_them()
    {
        Write("prom", ("username", "reader\n"), ("password", "pw\r\n"));

        var credentials = QueryCredentials.Read(_root, "apps", "prom", out _);

        Assert.Equal(("reader", "pw"), (credentials!.Username, credentials.Password));
        Assert.Equal("basic auth (hidden)", credentials.ToString());
    }

    [Theory]
    [InlineData("username", "has a username but no password")]
    [InlineData("password", "has neither token nor username")]
    public void An_incomplete_secret_is_refused_without_its_contents(string only, string why)
    {
        Write("prom", (only, "the-secret-value"));

        var credentials = QueryCredentials.Read(_root, "apps", "prom", out var error);

        Assert.Null(credentials);
        Assert.Contains(why, error, StringComparison.Ordinal);
        Assert.DoesNotContain("the-secret-value", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_secret_or_directory_says_where_it_was_looked_for()
    {
        Assert.Null(QueryCredentials.Read(_root, "apps", "absent", out var missing));
        Assert.Contains($"no directory {Path.Combine(_root, "apps", "absent")}", missing, StringComparison.Ordinal);
        Assert.Null(QueryCredentials.Read(null, "apps", "absent", out var unset));
        Assert.Contains("GateStream:MetricQueries:SecretsDirectory", unset, StringComparison.Ordinal);
    }

    private void Write(string name, params (string Key, string Value)[] keys)
    {
        var folder = Directory.CreateDirectory(Path.Combine(_root, "apps", name)).FullName;
        foreach (var (key, value) in keys)
        {
            File.WriteAllText(Path.Combine(folder, key), value);
        }
    }
}
