using YamlDotNet.RepresentationModel;

namespace RouterExtProc.Deployment.Tests;

/// <summary>What every Envoy config in this repository (envoy/envoy.yaml, the chart's sidecar bootstrap) must satisfy.</summary>
internal static class EnvoyAssertions
{
    public const string ExtProcFilter = "envoy.filters.http.ext_proc";
    public const string RouterFilter = "envoy.filters.http.router";
    public const string ExtProcType = "type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor";

    public static YamlMappingNode HttpConnectionManager(YamlNode bootstrap)
    {
        var listener = bootstrap.Seq("static_resources.listeners").Single();
        var filter = listener.Seq("filter_chains").Single().Seq("filters")
            .Single(f => f.Str("name") == "envoy.filters.network.http_connection_manager");
        return filter.Map("typed_config");
    }

    /// <summary>ext_proc comes before the router filter and is configured for body routing.</summary>
    public static YamlMappingNode AssertExtProcBeforeRouter(IReadOnlyList<YamlNode> httpFilters)
    {
        var names = httpFilters.Select(f => f.Str("name")).ToList();
        Assert.That(names, Does.Contain(ExtProcFilter).And.Contain(RouterFilter));
        Assert.That(names.IndexOf(ExtProcFilter), Is.LessThan(names.IndexOf(RouterFilter)), "ext_proc must run before the router filter");
        Assert.That(names[^1], Is.EqualTo(RouterFilter), "the router filter is the last HTTP filter");
        var extProc = httpFilters.Single(f => f.Str("name") == ExtProcFilter).Map("typed_config");
        AssertExtProcSettings(extProc);
        return extProc;
    }

    public static void AssertExtProcSettings(YamlNode extProc)
    {
        Assert.Multiple(() =>
        {
            Assert.That(extProc.Str("@type"), Is.EqualTo(ExtProcType));
            Assert.That(extProc.Str("processing_mode.request_header_mode"), Is.EqualTo("SEND"));
            Assert.That(extProc.Str("processing_mode.request_body_mode"), Is.EqualTo("BUFFERED"));
            Assert.That(extProc.Str("processing_mode.response_header_mode"), Is.EqualTo("SEND"));
            Assert.That(extProc.Str("processing_mode.response_body_mode"), Is.EqualTo("NONE"));
            Assert.That(extProc.Str("processing_mode.request_trailer_mode"), Is.EqualTo("SKIP"));
            Assert.That(extProc.Str("processing_mode.response_trailer_mode"), Is.EqualTo("SKIP"));
            Assert.That(extProc.Str("allow_mode_override"), Is.EqualTo("true"), "the router's mode_override (cache fill) needs it");
            Assert.That(extProc.Str("failure_mode_allow"), Is.EqualTo("true"));
            Assert.That(extProc.Str("message_timeout"), Does.Match(@"^\d+(\.\d+)?s$"));
            Assert.That(ParseSeconds(extProc.Str("message_timeout")), Is.GreaterThanOrEqualTo(1), "the 200 ms default is too short");
        });
    }

    /// <summary>Each router model has a route matching the selected-model header exactly, to a cluster that exists.</summary>
    public static void AssertRoutesEveryModel(YamlNode bootstrap, RouterConfigFacts config)
    {
        var hcm = HttpConnectionManager(bootstrap);
        var routes = hcm.Seq("route_config.virtual_hosts").Single().Seq("routes");
        var clusters = bootstrap.Seq("static_resources.clusters").Select(c => c.Str("name")).ToHashSet(StringComparer.Ordinal);

        foreach (var model in config.ModelNames)
        {
            var matching = routes.Where(r => r.Get("match").Find("headers") is YamlSequenceNode headers &&
                                             headers.Children.Any(h => h.Str("name") == config.SelectedModelHeader &&
                                                                       h.Find("string_match")?.StrOrNull("exact") == model)).ToList();
            Assert.That(matching, Has.Count.EqualTo(1), $"route for model '{model}' on header {config.SelectedModelHeader}");
            Assert.That(clusters, Does.Contain(matching[0].Str("route.cluster")), $"cluster of model '{model}'");
        }

        var last = routes[^1];
        Assert.Multiple(() =>
        {
            Assert.That(last.Get("match").Find("headers"), Is.Null, "the last route is the default (no header match)");
            Assert.That(clusters, Does.Contain(last.Str("route.cluster")));
        });
    }

    public static YamlNode Cluster(YamlNode bootstrap, string name) =>
        bootstrap.Seq("static_resources.clusters").Single(c => c.Str("name") == name);

    /// <summary>The router cluster speaks HTTP/2 (gRPC) and is health-checked with grpc.health.v1.</summary>
    public static void AssertRouterCluster(YamlNode cluster)
    {
        var options = cluster.Map("typed_extension_protocol_options").Children.Values.Single();
        Assert.That(options.Get("explicit_http_config").Find("http2_protocol_options"), Is.Not.Null, "gRPC needs HTTP/2");
        Assert.That(cluster.Seq("health_checks").Single().Find("grpc_health_check"), Is.Not.Null);
    }

    public static double ParseSeconds(string duration) =>
        double.Parse(duration.TrimEnd('s'), System.Globalization.CultureInfo.InvariantCulture);
}
