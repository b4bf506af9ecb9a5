namespace RouterExtProc.Deployment.Tests;

public sealed class EnvoyConfigTests
{
    private static readonly RouterConfigFacts Config = RouterConfigFacts.Load(RepoPaths.RouterConfig);

    [Test]
    public void EnvoyYaml_RunsExtProcBeforeRouter_WithBodyRoutingSettings()
    {
        var hcm = EnvoyAssertions.HttpConnectionManager(Yaml.LoadFile(RepoPaths.EnvoyConfig));
        var extProc = EnvoyAssertions.AssertExtProcBeforeRouter(hcm.Seq("http_filters"));
        Assert.That(extProc.Str("grpc_service.envoy_grpc.cluster_name"), Is.EqualTo("router-extproc"));
    }

    [Test]
    public void EnvoyYaml_RoutesEveryRouterModelOnTheSelectedModelHeader()
    {
        EnvoyAssertions.AssertRoutesEveryModel(Yaml.LoadFile(RepoPaths.EnvoyConfig), Config);
    }

    [Test]
    public void EnvoyYaml_RouterClusterIsHttp2WithGrpcHealthCheck_OnTheRouterGrpcPort()
    {
        var cluster = EnvoyAssertions.Cluster(Yaml.LoadFile(RepoPaths.EnvoyConfig), "router-extproc");
        EnvoyAssertions.AssertRouterCluster(cluster);
        var address = cluster.Seq("load_assignment.endpoints").Single().Seq("lb_endpoints").Single().Get("endpoint.address.socket_address");
        Assert.That(address.Str("port_value"), Is.EqualTo(Config.GrpcPort.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Test]
    public void EnvoyYaml_ListenerBufferHoldsTheLargestRouterBody()
    {
        // The router accepts bodies up to server.max_request_body_bytes (default 8 MiB); BUFFERED bodies above the
        // listener's buffer limit never reach it (Envoy answers 413).
        var listener = Yaml.LoadFile(RepoPaths.EnvoyConfig).Seq("static_resources.listeners").Single();
        var root = Yaml.LoadFile(RepoPaths.RouterConfig);
        var maxBody = long.Parse(root.Find("server")?.StrOrNull("max_request_body_bytes") ?? (8 * 1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture),
            System.Globalization.CultureInfo.InvariantCulture);
        Assert.That(long.Parse(listener.Str("per_connection_buffer_limit_bytes"), System.Globalization.CultureInfo.InvariantCulture),
            Is.GreaterThan(maxBody));
    }

    [Test]
    public void IstioEnvoyFilters_InsertExtProcBeforeRouter_InGatewayAndSidecarContexts()
    {
        var contexts = new List<string>();
        foreach (var file in new[] { "envoyfilter-gateway.yaml", "envoyfilter-sidecar.yaml" })
        {
            var filter = Yaml.LoadFile(Path.Combine(RepoPaths.Istio, file));
            Assert.That(filter.Str("kind"), Is.EqualTo("EnvoyFilter"));
            var patch = filter.Seq("spec.configPatches").Single(p => p.Str("applyTo") == "HTTP_FILTER");
            contexts.Add(patch.Str("match.context"));
            Assert.Multiple(() =>
            {
                Assert.That(patch.Str("match.listener.filterChain.filter.subFilter.name"), Is.EqualTo(EnvoyAssertions.RouterFilter));
                Assert.That(patch.Str("patch.operation"), Is.EqualTo("INSERT_BEFORE"));
                Assert.That(patch.Str("patch.value.name"), Is.EqualTo(EnvoyAssertions.ExtProcFilter));
                Assert.That(patch.Str("patch.value.typed_config.grpc_service.envoy_grpc.cluster_name"),
                    Does.StartWith($"outbound|{Config.GrpcPort}||"), "Istio's outbound cluster for the router Service's gRPC port");
            });
            EnvoyAssertions.AssertExtProcSettings(patch.Get("patch.value.typed_config"));
        }

        Assert.That(contexts, Is.EquivalentTo(new[] { "GATEWAY", "SIDECAR_OUTBOUND" }));
    }

    [Test]
    public void IstioVirtualService_RoutesEveryRouterModelOnTheSelectedModelHeader()
    {
        var service = Yaml.LoadFile(Path.Combine(RepoPaths.Istio, "virtualservice.yaml"));
        var routes = service.Seq("spec.http");
        foreach (var model in Config.ModelNames)
        {
            var matching = routes.Where(r => r.Find("match") is YamlDotNet.RepresentationModel.YamlSequenceNode matches &&
                                             matches.Children.Any(m => m.Find("headers")?.Find(Config.SelectedModelHeader)?.StrOrNull("exact") == model)).ToList();
            Assert.That(matching, Has.Count.EqualTo(1), $"VirtualService route for model '{model}'");
            Assert.That(matching[0].Seq("route").Single().Str("destination.host"), Is.Not.Empty);
        }

        Assert.That(routes[^1].Find("match"), Is.Null, "the last route is the default");
    }
}
