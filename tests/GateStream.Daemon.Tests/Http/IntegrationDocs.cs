namespace GateStream.Daemon.Tests.Http;

/// <summary>The parts of docs/integrations.md the tests hold the daemon to, between their begin/end markers.</summary>
internal static class IntegrationDocs
{
    public static string Section(string marker)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "GateStream.sln")))
        {
            dir = dir.Parent;
        }

        var path = Path.Combine(dir?.FullName ?? throw new InvalidOperationException("GateStream.sln not found above the test's directory."), "docs", "integrations.md");
        var text = File.ReadAllText(path);
        var begin = text.IndexOf($"<!-- {marker}:begin", StringComparison.Ordinal);
        var end = text.IndexOf($"<!-- {marker}:end -->", StringComparison.Ordinal);
        Assert.True(begin >= 0 && end > begin, $"docs/integrations.md has no {marker} section");
        var afterMarker = text.IndexOf('\n', begin) + 1;
        return text[afterMarker..end];
    }
}
