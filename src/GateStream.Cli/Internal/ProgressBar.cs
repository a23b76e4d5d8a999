using System.Diagnostics;
using System.Globalization;

namespace GateStream.Cli.Internal;

/// <summary>
/// One self-overwriting line on a terminal's stderr (<c>[#####.....] 47%  1,234,567 events</c>), redrawn at most ten
/// times a second and erased at the end. Only drawn where stderr is a terminal, so redirected output stays clean.
/// </summary>
internal sealed class ProgressBar(TextWriter terminal, long total)
{
    private const int Width = 30;
    private static readonly TimeSpan Every = TimeSpan.FromMilliseconds(100);
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private TimeSpan _drawn = -Every;
    private int _lastLength;

    public void Update(long done, long events)
    {
        if (_clock.Elapsed - _drawn < Every)
        {
            return;
        }

        _drawn = _clock.Elapsed;
        var fraction = total <= 0 ? 0 : Math.Clamp((double)done / total, 0, 1);
        var filled = (int)(fraction * Width);
        var line = string.Create(CultureInfo.InvariantCulture,
            $"[{new string('#', filled)}{new string('.', Width - filled)}] {fraction * 100,3:0}%  {events:N0} events");
        terminal.Write("\r" + line.PadRight(_lastLength));
        terminal.Flush();
        _lastLength = line.Length;
    }

    public void Clear()
    {
        if (_lastLength > 0)
        {
            terminal.Write("\r" + new string(' ', _lastLength) + "\r");
            terminal.Flush();
        }
    }
}
