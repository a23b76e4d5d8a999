using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GateStream.Daemon.Tests.Webhooks;

/// <summary>One request a <see cref="HookReceiver"/> got: its path, its JSON body and its content type.</summary>
public sealed record HookRequest(string Path, JsonElement Body, string? ContentType, DateTimeOffset At)
{
    public string Phase => Body.GetProperty("phase").GetString()!;

    public string? Metadata(string key) =>
        Body.TryGetProperty("metadata", out var metadata) && metadata.TryGetProperty(key, out var value) ? value.GetString() : null;
}

/// <summary>
/// Webhook endpoints on a real loopback socket (Kestrel), as the services a Flagger Canary points at: each path answers
/// with what its handler returns (a status, after whatever the handler awaits), and every request is kept.
/// </summary>
public sealed class HookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, Func<HookRequest, CancellationToken, Task<int>>> _handlers = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<HookRequest> _requests = new();

    private HookReceiver(WebApplication app) => _app = app;

    public string Url { get; private set; } = "";

    public IReadOnlyList<HookRequest> Requests => [.. _requests];

    public IReadOnlyList<HookRequest> To(string path) => [.. _requests.Where(r => r.Path == path)];

    public static async Task<HookReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var receiver = new HookReceiver(app);
        app.MapPost("/{path}", async (HttpContext http, string path) =>
        {
            using var document = await JsonDocument.ParseAsync(http.Request.Body, cancellationToken: http.RequestAborted);
            var request = new HookRequest("/" + path, document.RootElement.Clone(), http.Request.ContentType, DateTimeOffset.UtcNow);
            receiver._requests.Enqueue(request);
            var status = receiver._handlers.TryGetValue("/" + path, out var handler) ? await handler(request, http.RequestAborted) : 200;
            return Results.Text($"answer {status} from /{path}", statusCode: status);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        receiver.Url = address.TrimEnd('/');
        return receiver;
    }

    /// <summary>Answers <paramref name="path"/> with what <paramref name="handler"/> returns (default: 200).</summary>
    public void On(string path, Func<HookRequest, CancellationToken, Task<int>> handler) => _handlers[path] = handler;

    public void On(string path, Func<HookRequest, int> status) => _handlers[path] = (r, _) => Task.FromResult(status(r));

    public void On(string path, int status) => _handlers[path] = (_, _) => Task.FromResult(status);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
