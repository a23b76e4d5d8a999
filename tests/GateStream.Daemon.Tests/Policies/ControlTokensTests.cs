using GateStream.Daemon.Tests.Integration;
using Grpc.Core;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Daemon.Tests.Policies;

/// <summary>The control API's tokens file, like the policy directory, is operator-edited configuration read while running.</summary>
public class ControlTokensTests
{
    private static readonly V1.StartRolloutRequest Start = new() { Deployment = "checkout", BaselineVersion = "v1", CanaryVersion = "v2" };

    [Fact]
    public async Task Without_a_tokens_file_the_control_api_refuses_every_call_even_with_a_token()
    {
        await using var daemon = new TestDaemon(TestPolicies.Fast(), new Dictionary<string, string?> { ["GateStream:Control:TokensFile"] = "" });
        await daemon.StartAsync();

        var refused = await Assert.ThrowsAsync<RpcException>(async () => await daemon.Control.StartRolloutAsync(Start, TestDaemon.Bearer()));

        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        Assert.Contains("the control API is disabled", refused.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("GateStream:Control:TokensFile", refused.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_rewritten_tokens_file_takes_effect_at_the_next_call()
    {
        await using var daemon = new TestDaemon(TestPolicies.Fast(stepInterval: "1h"));
        await daemon.StartAsync();
        var pause = new V1.OverrideRequest { Gate = "checkout/v9", Kind = V1.OverrideKind.Pause, Reason = "token check" };
        var accepted = await Assert.ThrowsAsync<RpcException>(async () => await daemon.Control.OverrideAsync(pause, TestDaemon.Bearer()));
        Assert.Equal(StatusCode.NotFound, accepted.StatusCode); // past authentication: there is no such gate

        // A different length from the old file: two writes within one tick of the file system's clock share a write time.
        const string rotated = "rotated-token-for-bob";
        await File.WriteAllTextAsync(daemon.TokensFile, $"bob {rotated}\n");

        var old = await Assert.ThrowsAsync<RpcException>(async () => await daemon.Control.OverrideAsync(pause, TestDaemon.Bearer()));
        Assert.Equal(StatusCode.Unauthenticated, old.StatusCode);
        var gate = await daemon.Control.StartRolloutAsync(Start, TestDaemon.Bearer(rotated));
        Assert.Equal("bob", gate.StartedBy);
    }

    [Fact]
    public async Task A_tokens_file_that_disappears_or_grows_huge_fails_closed_and_recovers()
    {
        await using var daemon = new TestDaemon(TestPolicies.Fast(stepInterval: "1h"));
        await daemon.StartAsync();
        var original = await File.ReadAllTextAsync(daemon.TokensFile);

        File.Delete(daemon.TokensFile);
        var gone = await Assert.ThrowsAsync<RpcException>(async () => await daemon.Control.StartRolloutAsync(Start, TestDaemon.Bearer()));
        Assert.Equal(StatusCode.Unauthenticated, gone.StatusCode);

        using (var huge = File.Create(daemon.TokensFile))
        {
            huge.SetLength(1_100_000_000); // sparse; reading it would take gigabytes
        }

        var tooBig = await Assert.ThrowsAsync<RpcException>(async () => await daemon.Control.StartRolloutAsync(Start, TestDaemon.Bearer()));
        Assert.Equal(StatusCode.Unauthenticated, tooBig.StatusCode);

        File.Delete(daemon.TokensFile);
        await File.WriteAllTextAsync(daemon.TokensFile, original);
        var gate = await daemon.Control.StartRolloutAsync(Start, TestDaemon.Bearer());
        Assert.Equal("alice", gate.StartedBy);
    }
}
