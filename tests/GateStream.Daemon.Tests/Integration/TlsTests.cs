using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using GateStream.Daemon.Tests.Otlp;
using Grpc.Core;
using Grpc.Net.Client;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Daemon.Tests.Integration;

/// <summary>TLS on the gRPC listener from PEM files, and client-certificate authentication against a CA.</summary>
public class TlsTests
{
    private sealed class Pki : IDisposable
    {
        public Pki(string directory)
        {
            using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var caRequest = new CertificateRequest("CN=GateStream Test CA", caKey, HashAlgorithmName.SHA256);
            caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
            Ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
            Server = Issue("CN=127.0.0.1", serverAuth: true);
            Client = Issue("CN=controller", serverAuth: false);

            CaPath = Path.Combine(directory, "ca.pem");
            ServerCertPath = Path.Combine(directory, "server.pem");
            ServerKeyPath = Path.Combine(directory, "server.key");
            File.WriteAllText(CaPath, Ca.ExportCertificatePem());
            File.WriteAllText(ServerCertPath, Server.ExportCertificatePem());
            File.WriteAllText(ServerKeyPath, Server.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        }

        public X509Certificate2 Ca { get; }

        public X509Certificate2 Server { get; }

        public X509Certificate2 Client { get; }

        public string CaPath { get; }

        public string ServerCertPath { get; }

        public string ServerKeyPath { get; }

        public void Dispose()
        {
            Ca.Dispose();
            Server.Dispose();
            Client.Dispose();
        }

        private X509Certificate2 Issue(string subject, bool serverAuth)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
                [new Oid(serverAuth ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
            if (serverAuth)
            {
                var san = new SubjectAlternativeNameBuilder();
                san.AddIpAddress(IPAddress.Loopback);
                request.CertificateExtensions.Add(san.Build());
            }

            using var caKey = Ca.GetECDsaPrivateKey()!;
            var serial = RandomNumberGenerator.GetBytes(8);
            using var issued = request.Create(Ca.SubjectName, X509SignatureGenerator.CreateForECDsa(caKey), DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(10), serial);
            return issued.CopyWithPrivateKey(key);
        }
    }

    private static GrpcChannel Channel(TestDaemon daemon, Pki pki, X509Certificate2? clientCertificate) =>
        GrpcChannel.ForAddress($"https://127.0.0.1:{daemon.GrpcPort}", new GrpcChannelOptions { HttpHandler = Handler(pki, clientCertificate) });

    private static HttpClientHandler Handler(Pki pki, X509Certificate2? clientCertificate)
    {
        var handler = new HttpClientHandler
        {
            // Trust exactly the test CA.
            ServerCertificateCustomValidationCallback = (_, certificate, _, _) =>
            {
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(pki.Ca);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return certificate is not null && chain.Build(certificate);
            },
        };
        if (clientCertificate is not null)
        {
            handler.ClientCertificates.Add(clientCertificate);
        }

        return handler;
    }

    private static Dictionary<string, string?> TlsSettings(Pki pki, bool requireClientCertificate)
    {
        var settings = new Dictionary<string, string?>
        {
            ["GateStream:Grpc:Url"] = "https://127.0.0.1:0", // the test daemon chooses the port
            ["GateStream:Grpc:CertificatePath"] = pki.ServerCertPath,
            ["GateStream:Grpc:KeyPath"] = pki.ServerKeyPath,
        };
        if (requireClientCertificate)
        {
            settings["GateStream:Grpc:ClientCaPath"] = pki.CaPath;
        }

        return settings;
    }

    [Fact]
    public async Task Grpc_listener_serves_tls_from_pem_files()
    {
        var directory = Directory.CreateTempSubdirectory("gatestream-tls-").FullName;
        using var pki = new Pki(directory);
        await using var daemon = new TestDaemon(TestPolicies.Fast(), TlsSettings(pki, requireClientCertificate: false));
        await daemon.StartAsync();

        using var channel = Channel(daemon, pki, null);
        var gates = await new V1.DecisionService.DecisionServiceClient(channel).ListGatesAsync(new V1.ListGatesRequest());
        Assert.Empty(gates.Gates);
    }

    [Fact]
    public async Task Client_certificates_are_required_when_a_client_ca_is_configured()
    {
        var directory = Directory.CreateTempSubdirectory("gatestream-mtls-").FullName;
        using var pki = new Pki(directory);
        await using var daemon = new TestDaemon(TestPolicies.Fast(), TlsSettings(pki, requireClientCertificate: true));
        await daemon.StartAsync();

        using (var anonymous = Channel(daemon, pki, null))
        {
            var refused = await Assert.ThrowsAsync<RpcException>(async () =>
                await new V1.DecisionService.DecisionServiceClient(anonymous).ListGatesAsync(new V1.ListGatesRequest()));
            // The TLS handshake fails: the client reports it as UNAVAILABLE or, depending on timing, INTERNAL.
            Assert.Contains(refused.StatusCode, new[] { StatusCode.Unavailable, StatusCode.Internal });
        }

        using var authenticated = Channel(daemon, pki, pki.Client);
        var gates = await new V1.DecisionService.DecisionServiceClient(authenticated).ListGatesAsync(new V1.ListGatesRequest());
        Assert.Empty(gates.Gates);
    }

    [Fact]
    public async Task The_OpenTelemetry_exporter_with_a_client_certificate_is_accepted_and_without_one_is_refused_and_counted()
    {
        var directory = Directory.CreateTempSubdirectory("gatestream-mtls-otel-").FullName;
        using var pki = new Pki(directory);
        await using var daemon = new TestDaemon(TestPolicies.Fast(), TlsSettings(pki, requireClientCertificate: true));
        await daemon.StartAsync();
        var endpoint = new Uri($"https://127.0.0.1:{daemon.GrpcPort}");
        using var http = new HttpClient();
        async Task<string> MetricsAsync() => await http.GetStringAsync(new Uri($"http://127.0.0.1:{daemon.HttpPort}/metrics"));

        using (var anonymous = new OtelService(endpoint, "checkout", "v2", httpClient: () => new HttpClient(Handler(pki, null))))
        {
            Span(anonymous, 40);
        }

        Assert.Matches("gatestream_auth_refused_total\\{listener=\"grpc\",reason=\"no_client_certificate\"\\} [1-9]", await MetricsAsync());

        using (var authenticated = new OtelService(endpoint, "checkout", "v1", httpClient: () => new HttpClient(Handler(pki, pki.Client))))
        {
            Span(authenticated, 25);
        }

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!(await MetricsAsync()).Contains("gatestream_events_received_total{source=\"otlp\"} 25", StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, await MetricsAsync());
            await Task.Delay(50);
        }

        static void Span(OtelService service, int spans)
        {
            for (var i = 0; i < spans; i++)
            {
                service.Span(DateTimeOffset.UtcNow, TimeSpan.FromMilliseconds(3), httpStatus: 200);
            }

            service.Flush();
        }
    }

    [Fact]
    public async Task Refused_client_certificates_are_counted_by_reason_and_a_certificate_of_another_ca_is_refused()
    {
        var directory = Directory.CreateTempSubdirectory("gatestream-mtls-").FullName;
        var otherDirectory = Directory.CreateTempSubdirectory("gatestream-mtls-other-").FullName;
        using var pki = new Pki(directory);
        using var other = new Pki(otherDirectory);
        await using var daemon = new TestDaemon(TestPolicies.Fast(), TlsSettings(pki, requireClientCertificate: true));
        await daemon.StartAsync();

        foreach (var certificate in new[] { null, other.Client })
        {
            using var refused = Channel(daemon, pki, certificate);
            var e = await Assert.ThrowsAsync<RpcException>(async () =>
            {
                using var call = new V1.IngestService.IngestServiceClient(refused).Push();
                await call.ResponseAsync;
            });
            Assert.Contains(e.StatusCode, new[] { StatusCode.Unavailable, StatusCode.Internal });
        }

        using var http = new HttpClient();
        var metrics = await http.GetStringAsync(new Uri($"http://127.0.0.1:{daemon.HttpPort}/metrics"));
        Assert.Matches("gatestream_auth_refused_total\\{listener=\"grpc\",reason=\"no_client_certificate\"\\} [1-9]", metrics);
        Assert.Matches("gatestream_auth_refused_total\\{listener=\"grpc\",reason=\"untrusted_client_certificate\"\\} [1-9]", metrics);
    }
}
