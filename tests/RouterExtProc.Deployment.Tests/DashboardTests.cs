namespace RouterExtProc.Deployment.Tests;

public sealed class DashboardTests
{
    /// <summary>The metric families the router exposes (prometheus-net names), and which are histograms.</summary>
    private static readonly Dictionary<string, bool> RouterMetrics = new(StringComparer.Ordinal)
    {
        ["llm_router_requests_total"] = false,
        ["llm_router_processing_seconds"] = true,
        ["llm_router_stream_errors_total"] = false,
        ["llm_router_signal_evaluations_total"] = false,
        ["llm_router_signal_seconds"] = true,
        ["llm_router_decision_matches_total"] = false,
        ["llm_router_selections_total"] = false,
        ["llm_router_config_reloads_total"] = false,
        ["llm_router_cache_requests_total"] = false,
        ["llm_router_plugin_blocks_total"] = false,
        ["llm_router_redis_errors_total"] = false,
        ["llm_router_inference_seconds"] = true,
        ["llm_router_inference_batch_size"] = true,
        ["llm_router_cascade_total"] = false,
        ["llm_router_blend_total"] = false,
        ["gen_ai_client_token_usage"] = true,
        ["gen_ai_server_time_to_first_token_seconds"] = true,
    };

    private static string DashboardJson => File.ReadAllText(RepoPaths.Dashboard);

    [Test]
    public void Dashboard_IsGrafanaJsonWithPanelsAndQueries()
    {
        using var doc = System.Text.Json.JsonDocument.Parse(DashboardJson);
        var root = doc.RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(root.GetProperty("title").GetString(), Is.Not.Empty);
            Assert.That(root.GetProperty("uid").GetString(), Is.EqualTo("router-extproc"));
            Assert.That(root.GetProperty("panels").GetArrayLength(), Is.GreaterThan(10));
            Assert.That(DashboardMetrics.Expressions(DashboardJson), Has.Count.GreaterThan(15));
        });
    }

    [Test]
    public void Dashboard_UsesOnlyMetricsTheRouterExposes()
    {
        foreach (var series in DashboardMetrics.Extract(DashboardJson))
        {
            var family = DashboardMetrics.Family(series);
            var known = RouterMetrics.TryGetValue(series, out _) || (RouterMetrics.TryGetValue(family, out var histogram) && histogram);
            Assert.That(known, Is.True, $"dashboard query uses '{series}', which the router does not expose");
        }
    }

    [Test]
    public void Dashboard_ChartsEveryRouterMetric()
    {
        var families = DashboardMetrics.Extract(DashboardJson).Select(DashboardMetrics.Family).ToHashSet(StringComparer.Ordinal);
        Assert.That(families, Is.SupersetOf(RouterMetrics.Keys));
    }

    [Test]
    public void Dashboard_QueriesHistogramsThroughTheirSeries()
    {
        // A histogram has no plain series: a query on the bare family name would draw nothing.
        foreach (var series in DashboardMetrics.Extract(DashboardJson))
        {
            Assert.That(RouterMetrics.TryGetValue(series, out var histogram) && histogram, Is.False,
                $"'{series}' is a histogram: query {series}_bucket, _sum or _count");
        }
    }

    [Test]
    public void Extract_SkipsFunctionsLabelsGroupingAndVariables()
    {
        const string Expr = "histogram_quantile(0.95, sum by (le, phase) (rate(llm_router_processing_seconds_bucket" +
                            "{decision=~\"$decision\", model=\"gpt_4o_total\"}[$__rate_interval]))) / on (phase) " +
                            "group_left max without (instance) (up offset 5m) and sum(foo:bar_total) > bool 0.5";
        Assert.That(DashboardMetrics.MetricNames(Expr),
            Is.EquivalentTo(new[] { "llm_router_processing_seconds_bucket", "up", "foo:bar_total" }));
    }

    [Test]
    public void Extract_ReadsQueryVariablesButNotDatasourceVariables()
    {
        const string Json = """
            {"panels":[{"targets":[{"expr":"rate(a_total[5m])"}]}],
             "templating":{"list":[{"type":"datasource","query":"prometheus"},
                                   {"type":"query","query":"label_values(b_total{x=\"1\"}, decision)"},
                                   {"type":"query","query":{"query":"label_values(c_seconds_count, model)"}},
                                   {"type":"query","query":"label_values(model)"}]}}
            """;
        Assert.That(DashboardMetrics.Extract(Json), Is.EquivalentTo(new[] { "a_total", "b_total", "c_seconds_count" }));
    }

    [Test]
    public void Family_StripsHistogramSuffixesOnly()
    {
        Assert.Multiple(() =>
        {
            Assert.That(DashboardMetrics.Family("x_seconds_bucket"), Is.EqualTo("x_seconds"));
            Assert.That(DashboardMetrics.Family("x_seconds_sum"), Is.EqualTo("x_seconds"));
            Assert.That(DashboardMetrics.Family("x_seconds_count"), Is.EqualTo("x_seconds"));
            Assert.That(DashboardMetrics.Family("llm_router_requests_total"), Is.EqualTo("llm_router_requests_total"));
        });
    }

    [Test]
    public void Chart_ShipsTheDashboardAsLabelledConfigMap_AndCanTurnItOff()
    {
        var on = HelmRenderer.Render().Single("ConfigMap", "-dashboard");
        var data = on.Root.Text("data", "router-extproc.json");
        Assert.Multiple(() =>
        {
            Assert.That(on.Root.Str("metadata.labels.grafana_dashboard"), Is.EqualTo("1"));
            Assert.That(DashboardMetrics.Extract(data), Is.EquivalentTo(DashboardMetrics.Extract(DashboardJson)));
        });

        var off = HelmRenderer.Render("grafanaDashboard: {enabled: false}");
        Assert.That(off.Documents.Where(d => d.Name.EndsWith("-dashboard", StringComparison.Ordinal)), Is.Empty);
    }
}
