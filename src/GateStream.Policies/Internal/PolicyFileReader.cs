using System.Security.Cryptography;
using System.Text;
using GateStream.Core.Policies;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace GateStream.Policies.Internal;

/// <summary>What every policy document has before its spec: its name and where it came from.</summary>
internal sealed record PolicyHeader(string Name, string Revision, string SourcePath);

/// <summary>A policy read without errors, with the positions cross-file checks point at.</summary>
internal sealed record LoadedPolicy(PolicyDefinition Policy, Mark NameAt, Mark TargetAt)
{
    /// <summary>A Flagger Canary's names for rendering its metric queries; null for native policies.</summary>
    public QueryNames? QueryNames { get; init; }
}

/// <summary>Reads one file: its documents, each dispatched by apiVersion and kind.</summary>
internal static class PolicyFileReader
{
    public const string CanaryKind = "Canary";
    public const string GatePolicyKind = "GatePolicy";

    private static readonly string[] Kinds = [GatePolicyKind, CanaryKind, MetricTemplateReader.Kind];

    /// <summary>Reads the file's policies; its <c>MetricTemplate</c> documents go to <paramref name="templates"/>.</summary>
    public static List<LoadedPolicy> Read(string text, ProblemSink problems, List<LoadedTemplate>? templates = null)
    {
        var parser = new TrackingParser(text, problems);
        var stream = new YamlStream();
        try
        {
            stream.Load(parser);
        }
        catch (YamlException e)
        {
            // Documents completed before the error are still in the stream and are read below.
            problems.Error(WithinText(e.Start, text), $"YAML syntax error: {ProblemSink.Clip(e.Message)}");
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or NotSupportedException or FormatException or OverflowException or InvalidCastException or KeyNotFoundException or IndexOutOfRangeException or NullReferenceException)
        {
            // YamlDotNet throws more than YamlException on malformed input (" : i" gives ArgumentException,
            // "a: { b\nc: [[[" InvalidOperationException). None of it may escape a policy load.
            problems.Error(WithinText(parser.LastMark, text), $"YAML syntax error: the parser stopped here ({e.GetType().Name}); check the indentation and the brackets around this point.");
        }

        var policies = new List<LoadedPolicy>();
        var documents = 0;
        for (var i = 0; i < stream.Documents.Count; i++)
        {
            var root = stream.Documents[i].RootNode;
            if (Scalars.IsNull(root))
            {
                continue;
            }

            documents++;
            var span = i < parser.DocumentSpans.Count ? parser.DocumentSpans[i] : (Start: 0L, End: (long)text.Length);
            LoadedPolicy? policy;
            try
            {
                policy = ReadDocument(root, Revision(text, span.Start, span.End), problems, templates);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A reader bug must cost one document, not the daemon; the fuzz corpus replays what found such bugs.
                problems.Error(root, $"internal error reading this document ({e.GetType().Name}); please report it with the file.");
                policy = null;
            }

            if (policy is not null)
            {
                policies.Add(policy);
            }
        }

        if (documents == 0 && problems.ErrorCount == 0)
        {
            problems.FileWarning("the file holds no policy documents.");
        }

        return policies;
    }

    /// <summary>A position at the end of the stream (the line after a final newline, or one a file without one never had) moved back onto the text's last character.</summary>
    internal static Mark WithinText(Mark at, string text)
    {
        var trimmed = text.AsSpan().TrimEnd("\r\n");
        var lines = trimmed.Count('\n') + 1;
        if (at.Line <= lines && at.Index <= trimmed.Length)
        {
            return at;
        }

        var lastLine = trimmed[(trimmed.LastIndexOf('\n') + 1)..];
        return new Mark(trimmed.Length, lines, Math.Max(1, lastLine.Length));
    }

    /// <summary>First 12 hex digits of the SHA-256 of the document's text, line endings and outer blank space normalised.</summary>
    internal static string Revision(string text, long start, long end)
    {
        start = Math.Clamp(start, 0, text.Length);
        end = Math.Clamp(end, start, text.Length);
        var content = text[(int)start..(int)end].Replace("\r\n", "\n", StringComparison.Ordinal).Trim();
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(content)))[..12];
    }

    private static LoadedPolicy? ReadDocument(YamlNode root, string revision, ProblemSink problems, List<LoadedTemplate>? templates)
    {
        if (root is not YamlMappingNode map)
        {
            // Not the value: a file that is not YAML at all (a copied /etc/passwd) reads as one long scalar.
            problems.Error(root, $"a policy document must be a mapping with apiVersion, kind, metadata and spec, got {Scalars.DescribeKind(root)}.");
            return null;
        }

        var errorsBefore = problems.ErrorCount;
        var doc = new MapReader(map, "", problems);
        var apiVersionNode = doc.Required("apiVersion");
        var apiVersion = apiVersionNode is not null && Scalars.TryString(apiVersionNode, "apiVersion", problems, out var a) ? a : null;
        var kindNode = doc.Required("kind");
        var kind = kindNode is not null && Scalars.TryString(kindNode, "kind", problems, out var k) ? k : null;

        // A missing kind is inferred from the apiVersion so the rest of the document is still checked.
        kind ??= apiVersion switch
        {
            FlaggerCanaryReader.ApiVersion => CanaryKind,
            GatePolicyReader.ApiVersion => GatePolicyKind,
            _ => null,
        };

        var expectedApiVersion = kind switch
        {
            CanaryKind or MetricTemplateReader.Kind => FlaggerCanaryReader.ApiVersion,
            GatePolicyKind => GatePolicyReader.ApiVersion,
            _ => null,
        };

        if (expectedApiVersion is null)
        {
            if (kindNode is not null && kind is not null)
            {
                problems.Error(kindNode, $"kind '{kind}' is not a policy GateStream reads: expected {GatePolicyKind} ({GatePolicyReader.ApiVersion}), {CanaryKind} or {MetricTemplateReader.Kind} ({FlaggerCanaryReader.ApiVersion}){Suggestions.DidYouMean(kind, Kinds)}");
            }

            doc.Allow("metadata", "spec", "status");
            doc.Finish();
            return null;
        }

        if (apiVersion is not null && !string.Equals(apiVersion, expectedApiVersion, StringComparison.Ordinal))
        {
            problems.Error(apiVersionNode!, $"apiVersion for kind {kind} must be {expectedApiVersion}, got '{apiVersion}'.");
        }

        if (kind == MetricTemplateReader.Kind)
        {
            var template = MetricTemplateReader.Read(doc);
            doc.Finish();
            if (template is not null && problems.ErrorCount == errorsBefore)
            {
                templates?.Add(template);
            }

            return null;
        }

        var (name, nameAt) = ReadMetadata(doc, kind!);
        var header = new PolicyHeader(name ?? "", revision, problems.File);
        (PolicyDefinition Policy, Mark TargetAt)? read = kind == CanaryKind
            ? FlaggerCanaryReader.Read(doc, header)
            : GatePolicyReader.Read(doc, header);
        doc.Finish();
        if (read is null && problems.ErrorCount == errorsBefore)
        {
            // Every path that drops a policy reports why; this is the backstop that keeps a set from loading short.
            problems.Error(map, $"the {kind} document could not be read.");
        }

        return read is { } r && name is not null && problems.ErrorCount == errorsBefore
            ? new LoadedPolicy(r.Policy, nameAt, r.TargetAt) { QueryNames = kind == CanaryKind ? FlaggerCanaryReader.NamesOf(map, r.Policy) : null }
            : null;
    }

    private static (string? Name, Mark At) ReadMetadata(MapReader doc, string kind)
    {
        var metadata = doc.Map("metadata", required: true);
        if (metadata is null)
        {
            return (null, doc.Anchor);
        }

        var name = metadata.String("name", required: true);
        var at = metadata.At("name");
        if (name is not null && !Names.IsValidName(name))
        {
            doc.Problems.Error(at, $"metadata.name '{name}' is not a valid policy name: use {Names.NameRule}.");
            name = null;
        }

        if (kind == CanaryKind)
        {
            // A Canary's namespace is where its templateRefs are looked up and what {{ namespace }} renders as.
            metadata.Allow("namespace");
        }
        else
        {
            metadata.Ignore("namespace", "policy names are global in GateStream and a policy matches deployments by name alone");
        }
        metadata.Allow("labels", "annotations");
        metadata.Finish();
        return (name, at);
    }
}
