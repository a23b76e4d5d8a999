using System.Globalization;
using System.Text;

namespace GateStream.Scenarios.Tests.Rollouts;

/// <summary>A small SVG writer for empirical distribution functions of times (log-scaled seconds).</summary>
internal static class CdfPlot
{
    public sealed record Series(string Label, IReadOnlyList<double> SortedSeconds, int Runs, string Colour, bool Dashed);

    private const int Width = 760, Height = 380, Left = 60, Right = 250, Top = 30, Bottom = 50;
    private const double MinSeconds = 1, MaxSeconds = 1_000;

    public static string Render(string title, IReadOnlyList<Series> series)
    {
        var svg = new StringBuilder();
        var plotW = Width - Left - Right;
        var plotH = Height - Top - Bottom;
        Append(svg, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" font-family=\"sans-serif\" font-size=\"12\">");
        Append(svg, $"<rect width=\"{Width}\" height=\"{Height}\" fill=\"white\"/>");
        Append(svg, $"<text x=\"{Left}\" y=\"18\" font-size=\"14\" font-weight=\"bold\">{Escape(title)}</text>");
        for (var decade = MinSeconds; decade <= MaxSeconds; decade *= 10)
        {
            var x = X(decade, plotW);
            Append(svg, $"<line x1=\"{F(x)}\" y1=\"{Top}\" x2=\"{F(x)}\" y2=\"{Top + plotH}\" stroke=\"#ddd\"/>");
            Append(svg, $"<text x=\"{F(x)}\" y=\"{Top + plotH + 16}\" text-anchor=\"middle\">{decade.ToString("0", CultureInfo.InvariantCulture)} s</text>");
        }

        for (var q = 0; q <= 4; q++)
        {
            var y = Top + plotH - (plotH * q / 4.0);
            Append(svg, $"<line x1=\"{Left}\" y1=\"{F(y)}\" x2=\"{Left + plotW}\" y2=\"{F(y)}\" stroke=\"#ddd\"/>");
            Append(svg, $"<text x=\"{Left - 6}\" y=\"{F(y + 4)}\" text-anchor=\"end\">{q * 25}%</text>");
        }

        Append(svg, $"<text x=\"{Left + (plotW / 2)}\" y=\"{Height - 12}\" text-anchor=\"middle\">time from the fault's onset to ROLLBACK (log scale)</text>");
        Append(svg, $"<text transform=\"translate(16,{Top + (plotH / 2)}) rotate(-90)\" text-anchor=\"middle\">runs rolled back</text>");
        for (var i = 0; i < series.Count; i++)
        {
            var s = series[i];
            var points = new StringBuilder();
            points.Append(CultureInfo.InvariantCulture, $"{F(Left)},{F(Top + plotH)}");
            for (var k = 0; k < s.SortedSeconds.Count; k++)
            {
                var x = X(s.SortedSeconds[k], plotW);
                points.Append(CultureInfo.InvariantCulture, $" {F(x)},{F(Y(k, s.Runs, plotH))} {F(x)},{F(Y(k + 1, s.Runs, plotH))}");
            }

            points.Append(CultureInfo.InvariantCulture, $" {F(Left + plotW)},{F(Y(s.SortedSeconds.Count, s.Runs, plotH))}");
            var dash = s.Dashed ? " stroke-dasharray=\"6,4\"" : "";
            Append(svg, $"<polyline fill=\"none\" stroke=\"{s.Colour}\" stroke-width=\"2\"{dash} points=\"{points}\"/>");
            var ly = Top + 10 + (i * 22);
            Append(svg, $"<line x1=\"{Left + plotW + 14}\" y1=\"{ly}\" x2=\"{Left + plotW + 44}\" y2=\"{ly}\" stroke=\"{s.Colour}\" stroke-width=\"2\"{dash}/>");
            Append(svg, $"<text x=\"{Left + plotW + 50}\" y=\"{ly + 4}\">{Escape(s.Label)}</text>");
        }

        Append(svg, "</svg>");
        return svg.ToString();
    }

    private static double X(double seconds, int plotW) =>
        Left + (plotW * (Math.Log10(Math.Clamp(seconds, MinSeconds, MaxSeconds)) - Math.Log10(MinSeconds)) / (Math.Log10(MaxSeconds) - Math.Log10(MinSeconds)));

    private static double Y(int count, int runs, int plotH) => Top + plotH - (plotH * (double)count / runs);

    private static string F(double v) => v.ToString("0.#", CultureInfo.InvariantCulture);

    private static string Escape(string s) => s.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal);

    private static void Append(StringBuilder svg, string line) => svg.Append(line).Append('\n');
}
