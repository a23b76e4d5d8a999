using System.Globalization;
using GateStream.Cli.Commands;
using Spectre.Console;

namespace GateStream.Cli.Internal;

/// <summary>
/// Replay's progress bar: Spectre.Console's progress display on stderr, only when <see cref="CommandIO.ShowProgress"/>
/// (stderr a terminal, stdout not), so it never draws over the decisions; cleared when the replay ends.
/// </summary>
internal sealed class ReplayProgress
{
    private readonly ProgressTask _task;
    private readonly string _label;

    private ReplayProgress(ProgressTask task, string label)
    {
        _task = task;
        _label = label;
    }

    /// <summary>Runs <paramref name="body"/> with a progress bar when one may be shown, else with null.</summary>
    public static async Task RunAsync(CommandIO io, long total, string label, Func<ReplayProgress?, Task> body)
    {
        ArgumentNullException.ThrowIfNull(io);
        ArgumentNullException.ThrowIfNull(body);
        if (!io.ShowProgress)
        {
            await body(null).ConfigureAwait(false);
            return;
        }

        await io.ErrorConsole.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask(label, maxValue: Math.Max(1, total));
                task.IsIndeterminate = total <= 0;
                io.ProgressActive = true;
                try
                {
                    await body(new ReplayProgress(task, label)).ConfigureAwait(false);
                }
                finally
                {
                    io.ProgressActive = false;
                    task.StopTask();
                }
            }).ConfigureAwait(false);
    }

    /// <summary>The total, once known (a Kafka range is measured after the first message).</summary>
    public void Total(long total)
    {
        if (_task.IsIndeterminate || Math.Abs(_task.MaxValue - total) > 0.5)
        {
            _task.MaxValue = Math.Max(1, total);
            _task.IsIndeterminate = false;
        }
    }

    public void Report(long done, long events)
    {
        _task.Value = done;
        _task.Description = _label + " (" + Plural.Of(events, "event") + ")";
    }
}
