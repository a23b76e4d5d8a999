using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace GateStream.Daemon.Tests.DecisionLog;

/// <summary>Keeps every log entry, with its structured values, for assertions.</summary>
internal sealed class ListLogger : ILogger
{
    private readonly ConcurrentQueue<Entry> _entries = new();

    public IReadOnlyList<Entry> Entries => [.. _entries];

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        var values = new Dictionary<string, object?>();
        if (state is IEnumerable<KeyValuePair<string, object?>> pairs)
        {
            foreach (var (key, value) in pairs)
            {
                values[key] = value;
            }
        }

        _entries.Enqueue(new Entry(logLevel, eventId.Id, formatter(state, exception), values));
    }

    public Entry Single(int eventId) => Assert.Single(Entries, e => e.EventId == eventId);

    public bool Has(int eventId) => Entries.Any(e => e.EventId == eventId);

    internal sealed record Entry(LogLevel Level, int EventId, string Message, IReadOnlyDictionary<string, object?> Values);
}
