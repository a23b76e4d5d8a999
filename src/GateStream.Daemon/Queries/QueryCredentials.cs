using System.Text;

namespace GateStream.Daemon.Queries;

/// <summary>
/// A provider's credentials from its template's <c>secretRef</c>, read from files as Flagger reads the Secret's keys: a
/// <c>token</c> is sent as a bearer token; without one, <c>username</c> and <c>password</c> are both required (basic auth).
/// Never logged, never part of an error message: <see cref="ToString"/> hides them.
/// </summary>
internal sealed class QueryCredentials
{
    private const long MaxFileBytes = 64 * 1024;

    private QueryCredentials(string? token, string? username, string? password)
    {
        Token = token;
        Username = username;
        Password = password;
    }

    public string? Token { get; }

    public string? Username { get; }

    public string? Password { get; }

    public override string ToString() => Token is not null ? "bearer token (hidden)" : "basic auth (hidden)";

    /// <summary>Reads the secret <paramref name="name"/> of <paramref name="ns"/>; the error names the files, never their contents.</summary>
    public static QueryCredentials? Read(string? directory, string ns, string name, out string error)
    {
        error = "";
        if (string.IsNullOrEmpty(directory))
        {
            error = $"the template's secretRef '{name}' needs GateStream:MetricQueries:SecretsDirectory, which is not set";
            return null;
        }

        var folder = Path.Combine(directory, ns, name);
        if (!Directory.Exists(folder))
        {
            error = $"secret '{ns}/{name}' not found: no directory {folder}";
            return null;
        }

        if (TryKey(folder, "token", out var token, ref error) && token is not null)
        {
            return new QueryCredentials(token, null, null);
        }

        if (error.Length > 0)
        {
            return null;
        }

        if (!TryKey(folder, "username", out var username, ref error) || username is null)
        {
            error = error.Length > 0 ? error : $"secret '{ns}/{name}' has neither token nor username ({folder})";
            return null;
        }

        if (!TryKey(folder, "password", out var password, ref error) || password is null)
        {
            error = error.Length > 0 ? error : $"secret '{ns}/{name}' has a username but no password ({folder})";
            return null;
        }

        return new QueryCredentials(null, username, password);
    }

    /// <summary>False with an error when the key's file exists but cannot be used; true with null when it is absent.</summary>
    private static bool TryKey(string folder, string key, out string? value, ref string error)
    {
        value = null;
        var path = Path.Combine(folder, key);
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                return true;
            }

            if (info.Length > MaxFileBytes)
            {
                error = $"{path} is larger than {MaxFileBytes} bytes";
                return false;
            }

            // A file written with echo ends in a newline, which no token or password means.
            value = Encoding.UTF8.GetString(File.ReadAllBytes(path)).TrimEnd('\r', '\n');
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = $"{path} cannot be read ({e.GetType().Name})";
            return false;
        }
    }
}
