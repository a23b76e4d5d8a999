using System.Globalization;

namespace GateStream.Daemon.Http;

/// <summary>
/// The HTTP API's errors: an RFC 9457 problem body (<c>application/problem+json</c>) whose <c>detail</c> names what
/// was wrong or not found, in the same words as the gRPC status messages.
/// </summary>
internal static class ApiProblem
{
    public static IResult BadRequest(string detail) => Results.Problem(detail, statusCode: StatusCodes.Status400BadRequest, title: "Bad request");

    public static IResult NotFound(string detail) => Results.Problem(detail, statusCode: StatusCodes.Status404NotFound, title: "Not found");

    public static IResult Conflict(string detail) => Results.Problem(detail, statusCode: StatusCodes.Status409Conflict, title: "Not allowed in the gate's phase");

    public static IResult Gone(string detail) => Results.Problem(detail, statusCode: StatusCodes.Status410Gone, title: "No longer retained");

    public static IResult Unavailable(string detail) => Results.Problem(detail, statusCode: StatusCodes.Status503ServiceUnavailable, title: "Unavailable");

    /// <summary>Reads an optional unsigned integer query parameter; <paramref name="problem"/> says what is wrong with a bad one.</summary>
    public static bool TryQuery(HttpContext http, string name, out ulong? value, out IResult? problem)
    {
        ArgumentNullException.ThrowIfNull(http);
        value = null;
        problem = null;
        if (!http.Request.Query.TryGetValue(name, out var raw) || raw.Count == 0)
        {
            return true;
        }

        if (raw.Count > 1 || !ulong.TryParse(raw[0], NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
        {
            problem = BadRequest($"{name}: must be one non-negative integer (got '{raw}')");
            return false;
        }

        value = parsed;
        return true;
    }

    /// <summary>Reads an optional boolean query parameter (<c>true</c>/<c>false</c>, or present without a value = true).</summary>
    public static bool TryQuery(HttpContext http, string name, out bool value, out IResult? problem)
    {
        ArgumentNullException.ThrowIfNull(http);
        value = false;
        problem = null;
        if (!http.Request.Query.TryGetValue(name, out var raw) || raw.Count == 0)
        {
            return true;
        }

        if (raw.Count == 1 && raw[0] is "" or null)
        {
            value = true;
            return true;
        }

        if (raw.Count > 1 || !bool.TryParse(raw[0], out value))
        {
            problem = BadRequest($"{name}: must be true or false (got '{raw}')");
            return false;
        }

        return true;
    }
}
