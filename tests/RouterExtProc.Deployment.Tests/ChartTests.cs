using System.Security.Cryptography;
using System.Text;
using YamlDotNet.RepresentationModel;

namespace RouterExtProc.Deployment.Tests;

public sealed class ChartTests
{
    private const string Sidecar = "mode: sidecar";

    private static readonly string[] Everything =
    [
        """
        autoscaling: {enabled: true, minReplicas: 3, maxReplicas: 7, targetMemoryUtilizationPercentage: 80}
        metrics: {serviceMonitor: {enabled: true, labels: {release: kube-prometheus}}}
        redis: {enabled: true, password: s3cret, endpoints: ["redis-0.redis:6379", "redis-1.redis:6379"]}
        podDisruptionBudget: {maxUnavailable: 1}
        models: {source: pvc, pvc: {claimName: router-models, subPath: v3}}
        """,
    ];

    [Test]
    public void Standalone_Defaults_RenderRouterDeploymentServiceConfigAndPdb()
    {
        var chart = HelmRenderer.Render();
        Assert.Multiple(() =>
        {
            Assert.That(chart.Kinds, Is.EquivalentTo(new[] { "ConfigMap", "ConfigMap", "Deployment", "Service", "ServiceAccount", "PodDisruptionBudget" }));
            Assert.That(chart.Deployment.Seq("spec.template.spec.containers").Select(c => c.Str("name")), Is.EqualTo(new[] { "router" }));
            Assert.That(chart.Deployment.Str("spec.replicas"), Is.EqualTo("2"));
            Assert.That(ServicePorts(chart), Is.EquivalentTo(new[] { "grpc:50051", "http-admin:9190" }));
            Assert.That(chart.Notes, Does.Contain("outbound|50051||llm-router-extproc.router.svc.cluster.local"));
        });
    }

    [Test]
    public void Sidecar_Defaults_AddEnvoyContainerAndBootstrap_ServiceExposesEnvoy()
    {
        var chart = HelmRenderer.Render(Sidecar);
        Assert.Multiple(() =>
        {
            Assert.That(chart.Kinds, Is.EquivalentTo(new[] { "ConfigMap", "ConfigMap", "ConfigMap", "Deployment", "Service", "ServiceAccount", "PodDisruptionBudget" }));
            Assert.That(chart.Deployment.Seq("spec.template.spec.containers").Select(c => c.Str("name")), Is.EquivalentTo(new[] { "router", "envoy" }));
            Assert.That(ServicePorts(chart), Is.EquivalentTo(new[] { "http:8080", "http-admin:9190" }));
            Assert.That(chart.Container("envoy").Seq("args"), Has.Some.Matches<YamlNode>(a => ((YamlScalarNode)a).Value == "/etc/envoy/envoy.yaml"));
            Assert.That(chart.Notes, Does.Contain("port-forward svc/llm-router-extproc 8080"));
        });
    }

    [Test]
    public void Sidecar_EnvoyBootstrap_CallsRouterOnLocalhost_AndRoutesEveryConfiguredModel()
    {
        var chart = HelmRenderer.Render(Sidecar);
        var bootstrap = EnvoyBootstrap(chart);
        var facts = RouterConfigFacts.Parse(ConfigMapRouterYaml(chart));

        var hcm = EnvoyAssertions.HttpConnectionManager(bootstrap);
        EnvoyAssertions.AssertExtProcBeforeRouter(hcm.Seq("http_filters"));
        EnvoyAssertions.AssertRoutesEveryModel(bootstrap, facts);
        var router = EnvoyAssertions.Cluster(bootstrap, "router-extproc");
        EnvoyAssertions.AssertRouterCluster(router);
        var address = router.Seq("load_assignment.endpoints").Single().Seq("lb_endpoints").Single().Get("endpoint.address.socket_address");
        Assert.Multiple(() =>
        {
            Assert.That(address.Str("address"), Is.EqualTo("127.0.0.1"));
            Assert.That(address.Str("port_value"), Is.EqualTo("50051"));
        });
    }

    [Test]
    public void Sidecar_CustomModelsHeaderAndPorts_FlowIntoEnvoyProbesAndService()
    {
        var chart = HelmRenderer.Render(Sidecar, """
            router:
              config:
                server: {grpc_port: 7000, admin_port: 7001, selected_model_header: x-llm-model}
                models:
                  - {name: small, provider_model_id: s}
                  - {name: big.v2, provider_model_id: b}
            envoy:
              defaultModel: big.v2
              upstreams: {small: {address: small.llm.svc, port: 9000}}
            """);
        var bootstrap = EnvoyBootstrap(chart);
        var facts = new RouterConfigFacts("x-llm-model", 7000, 7001, ["small", "big.v2"]);
        EnvoyAssertions.AssertRoutesEveryModel(bootstrap, facts);

        var routes = EnvoyAssertions.HttpConnectionManager(bootstrap).Seq("route_config.virtual_hosts").Single().Seq("routes");
        var small = SocketAddress(EnvoyAssertions.Cluster(bootstrap, "model-small"));
        var big = SocketAddress(EnvoyAssertions.Cluster(bootstrap, "model-big.v2"));
        var router = chart.Container("router");
        Assert.Multiple(() =>
        {
            Assert.That(routes, Has.Count.EqualTo(3));
            Assert.That(routes[^1].Str("route.cluster"), Is.EqualTo("model-big.v2"), "envoy.defaultModel picks the default route");
            Assert.That(small, Is.EqualTo("small.llm.svc:9000"));
            Assert.That(big, Is.EqualTo("big-v2.models.svc:8000"), "unlisted models get <name>.<namespace>.svc, dots as dashes");
            Assert.That(SocketAddress(EnvoyAssertions.Cluster(bootstrap, "router-extproc")), Is.EqualTo("127.0.0.1:7000"));
            Assert.That(router.Str("startupProbe.grpc.port"), Is.EqualTo("7000"));
            Assert.That(router.Str("readinessProbe.grpc.port"), Is.EqualTo("7000"));
            Assert.That(router.Seq("ports").Select(p => p.Str("containerPort")), Is.EquivalentTo(new[] { "7000", "7001" }));
            Assert.That(ServicePorts(chart), Is.EquivalentTo(new[] { "http:8080", "http-admin:7001" }));
            Assert.That(chart.Deployment.Text("spec", "template", "metadata", "annotations", "prometheus.io/port"), Is.EqualTo("7001"));
        });
    }

    [TestCase("standalone")]
    [TestCase("sidecar")]
    public void EveryNonDefaultFeature_RendersItsObjects(string mode)
    {
        var chart = HelmRenderer.Render([$"mode: {mode}", .. Everything]);
        var spec = chart.Deployment.Map("spec.template.spec");
        var router = chart.Container("router");
        var secret = chart.Single("Secret");
        Assert.Multiple(() =>
        {
            Assert.That(chart.Kinds, Is.SupersetOf(new[] { "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "ServiceMonitor", "Secret" }));
            Assert.That(chart.Deployment.Get("spec").Find("replicas"), Is.Null, "the HPA owns the replica count");
            var hpa = chart.Single("HorizontalPodAutoscaler").Root;
            Assert.That(hpa.Str("spec.minReplicas"), Is.EqualTo("3"));
            Assert.That(hpa.Str("spec.scaleTargetRef.name"), Is.EqualTo(chart.Deployment.Str("metadata.name")));
            Assert.That(hpa.Seq("spec.metrics").Select(m => m.Str("resource.name")), Is.EquivalentTo(new[] { "cpu", "memory" }));
            Assert.That(chart.Single("PodDisruptionBudget").Root.Str("spec.maxUnavailable"), Is.EqualTo("1"));
            Assert.That(chart.Single("PodDisruptionBudget").Root.Get("spec").Find("minAvailable"), Is.Null);
            var monitor = chart.Single("ServiceMonitor").Root;
            Assert.That(monitor.Str("metadata.labels.release"), Is.EqualTo("kube-prometheus"));
            Assert.That(monitor.Seq("spec.endpoints").Single().Str("port"), Is.EqualTo("http-admin"));
            Assert.That(Encoding.UTF8.GetString(Convert.FromBase64String(secret.Root.Str("data.password"))), Is.EqualTo("s3cret"));

            var env = router.Seq("env").Single(e => e.Str("name") == "ROUTER_REDIS_PASSWORD");
            Assert.That(env.Str("valueFrom.secretKeyRef.name"), Is.EqualTo(secret.Name));
            Assert.That(env.Str("valueFrom.secretKeyRef.key"), Is.EqualTo("password"));

            var config = Yaml.LoadAll(ConfigMapRouterYaml(chart)).Single();
            Assert.That(config.Str("state.backend"), Is.EqualTo("redis"));
            Assert.That(config.Seq("state.redis.endpoints").Select(e => ((YamlScalarNode)e).Value), Is.EqualTo(new[] { "redis-0.redis:6379", "redis-1.redis:6379" }));

            var models = spec.Seq("volumes").Single(v => v.Str("name") == "models");
            Assert.That(models.Str("persistentVolumeClaim.claimName"), Is.EqualTo("router-models"));
            var mount = router.Seq("volumeMounts").Single(m => m.Str("name") == "models");
            Assert.That(mount.Str("mountPath"), Is.EqualTo("/app/models"));
            Assert.That(mount.Str("readOnly"), Is.EqualTo("true"));
            Assert.That(mount.Str("subPath"), Is.EqualTo("v3"));
        });
    }

    [Test]
    public void Redis_WithExistingSecret_ReferencesItAndCreatesNoSecret()
    {
        var chart = HelmRenderer.Render("redis: {enabled: true, existingSecret: redis-auth, existingSecretKey: redis-password, password: ignored}");
        var env = chart.Container("router").Seq("env").Single(e => e.Str("name") == "ROUTER_REDIS_PASSWORD");
        Assert.Multiple(() =>
        {
            Assert.That(chart.Kinds, Does.Not.Contain("Secret"));
            Assert.That(env.Str("valueFrom.secretKeyRef.name"), Is.EqualTo("redis-auth"));
            Assert.That(env.Str("valueFrom.secretKeyRef.key"), Is.EqualTo("redis-password"));
        });
    }

    [Test]
    public void Redis_Disabled_PassesNoPasswordAndKeepsMemoryBackend()
    {
        var chart = HelmRenderer.Render("redis: {enabled: false, password: s3cret}");
        Assert.Multiple(() =>
        {
            Assert.That(chart.Kinds, Does.Not.Contain("Secret"));
            Assert.That(chart.Container("router").Seq("env").Select(e => e.Str("name")), Does.Not.Contain("ROUTER_REDIS_PASSWORD"));
            Assert.That(Yaml.LoadAll(ConfigMapRouterYaml(chart)).Single().Str("state.backend"), Is.EqualTo("memory"));
        });
    }

    [Test]
    public void ModelsFromEmptyDir_AreCopiedByAnInitContainerBeforeTheRouterStarts()
    {
        var chart = HelmRenderer.Render("models: {source: emptyDir, init: {image: registry.local/router-models:3}}");
        var spec = chart.Deployment.Map("spec.template.spec");
        var init = spec.Seq("initContainers").Single();
        Assert.Multiple(() =>
        {
            Assert.That(init.Str("image"), Is.EqualTo("registry.local/router-models:3"));
            Assert.That(init.Seq("volumeMounts").Select(m => m.Str("name") + ":" + m.Str("mountPath")), Does.Contain("models:/target"));
            Assert.That(spec.Seq("volumes").Single(v => v.Str("name") == "models").Find("emptyDir"), Is.Not.Null);
            Assert.That(chart.Container("router").Seq("volumeMounts").Select(m => m.Str("mountPath")), Does.Contain("/app/models"));
        });
    }

    [Test]
    public void ModelsFromImage_MountNoModelVolume()
    {
        var chart = HelmRenderer.Render();
        Assert.Multiple(() =>
        {
            Assert.That(chart.Deployment.Seq("spec.template.spec.volumes").Select(v => v.Str("name")), Does.Not.Contain("models"));
            Assert.That(chart.Deployment.Get("spec.template.spec").Find("initContainers"), Is.Null);
        });
    }

    [TestCase("mode: gateway", "mode must be sidecar or standalone")]
    [TestCase("models: {source: pvc}", "models.pvc.claimName is required")]
    [TestCase("models: {source: emptyDir}", "models.init.image is required")]
    [TestCase("router: {config: {models: []}}", "router.config.models is empty")]
    public void InvalidValues_FailTheRenderWithTheFix(string values, string message)
    {
        var result = HelmRenderer.Run(values);
        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.Not.Zero);
            Assert.That(result.Stderr, Does.Contain(message));
        });
    }

    [TestCase("standalone")]
    [TestCase("sidecar")]
    public void ConfigChecksum_IsTheHashOfTheMountedConfig_AndChangesOnlyWithIt(string mode)
    {
        var baseline = HelmRenderer.Render($"mode: {mode}");
        var changed = HelmRenderer.Render($"mode: {mode}", "router: {config: {server: {explain_allowed: true}}}");
        var unrelated = HelmRenderer.Render($"mode: {mode}", "replicaCount: 5");

        var checksum = Checksum(baseline);
        Assert.Multiple(() =>
        {
            Assert.That(checksum, Is.EqualTo(Sha256(ConfigMapRouterYaml(baseline).TrimEnd('\n'))));
            Assert.That(Checksum(changed), Is.Not.EqualTo(checksum));
            Assert.That(Checksum(unrelated), Is.EqualTo(checksum));
            Assert.That(Yaml.LoadAll(ConfigMapRouterYaml(changed)).Single().Str("server.explain_allowed"), Is.EqualTo("true"));
        });
    }

    [Test]
    public void Sidecar_EnvoyChecksum_ChangesWithTheBootstrap()
    {
        static string EnvoyChecksum(RenderedChart chart) => chart.Deployment.Text("spec", "template", "metadata", "annotations", "checksum/envoy");

        var baseline = EnvoyChecksum(HelmRenderer.Render(Sidecar));
        Assert.Multiple(() =>
        {
            Assert.That(baseline, Does.Match("^[0-9a-f]{64}$"));
            Assert.That(EnvoyChecksum(HelmRenderer.Render(Sidecar, "envoy: {messageTimeout: 9s}")), Is.Not.EqualTo(baseline));
        });
    }

    [TestCase("standalone")]
    [TestCase("sidecar")]
    public void RouterProbes_AreGrpcHealthChecks_OnTheGrpcPort(string mode)
    {
        var router = HelmRenderer.Render($"mode: {mode}").Container("router");
        foreach (var probe in new[] { "startupProbe", "livenessProbe", "readinessProbe" })
        {
            var node = router.Map(probe);
            Assert.Multiple(() =>
            {
                Assert.That(node.Str("grpc.port"), Is.EqualTo("50051"), probe);
                Assert.That(node.Find("tcpSocket"), Is.Null, probe);
                Assert.That(node.Find("httpGet"), Is.Null, probe);
            });
        }

        var withService = HelmRenderer.Render($"mode: {mode}", "router: {probes: {grpcService: router}}").Container("router");
        Assert.That(withService.Str("readinessProbe.grpc.service"), Is.EqualTo("router"));
    }

    [TestCase("standalone")]
    [TestCase("sidecar")]
    public void EveryContainer_RunsNonRootWithReadOnlyRootAndNoCapabilities(string mode)
    {
        var chart = HelmRenderer.Render($"mode: {mode}", "models: {source: emptyDir, init: {image: m:1}}");
        var spec = chart.Deployment.Map("spec.template.spec");
        Assert.Multiple(() =>
        {
            Assert.That(spec.Str("securityContext.runAsNonRoot"), Is.EqualTo("true"));
            Assert.That(spec.Str("securityContext.runAsUser"), Is.Not.EqualTo("0"));
            Assert.That(spec.Str("securityContext.seccompProfile.type"), Is.EqualTo("RuntimeDefault"));
            Assert.That(spec.Str("automountServiceAccountToken"), Is.EqualTo("false"));
        });
        var containers = spec.Seq("containers").Concat(spec.Seq("initContainers")).ToList();
        Assert.That(containers, Has.Count.EqualTo(mode == "sidecar" ? 3 : 2));
        foreach (var container in containers)
        {
            var name = container.Str("name");
            Assert.Multiple(() =>
            {
                Assert.That(container.Str("securityContext.runAsNonRoot"), Is.EqualTo("true"), name);
                Assert.That(container.Str("securityContext.readOnlyRootFilesystem"), Is.EqualTo("true"), name);
                Assert.That(container.Str("securityContext.allowPrivilegeEscalation"), Is.EqualTo("false"), name);
                Assert.That(container.Seq("securityContext.capabilities.drop").Select(c => ((YamlScalarNode)c).Value), Is.EqualTo(new[] { "ALL" }), name);
                // /tmp is the only writable path.
                Assert.That(container.Seq("volumeMounts").Select(m => m.Str("mountPath")), Does.Contain("/tmp"), name);
            });
        }
    }

    [Test]
    public void Router_ReadsTheMountedConfig_FromTheConfigDirectory()
    {
        var chart = HelmRenderer.Render();
        var router = chart.Container("router");
        var configMap = chart.Single("ConfigMap", "-config");
        var volume = chart.Deployment.Seq("spec.template.spec.volumes").Single(v => v.Str("name") == "config");
        Assert.Multiple(() =>
        {
            Assert.That(router.Seq("args").Select(a => ((YamlScalarNode)a).Value), Is.EqualTo(new[] { "--config", "/app/config/router.yaml" }));
            Assert.That(router.Seq("volumeMounts").Single(m => m.Str("name") == "config").Str("mountPath"), Is.EqualTo("/app/config"));
            Assert.That(volume.Str("configMap.name"), Is.EqualTo(configMap.Name));
            Assert.That(configMap.Root.Map("data").Children.Keys.Select(k => ((YamlScalarNode)k).Value), Is.EqualTo(new[] { "router.yaml" }));
        });
    }

    [Test]
    public void NullOverride_RemovesTheKey_AsHelmCoalescingDoes()
    {
        var config = Yaml.LoadAll(ConfigMapRouterYaml(HelmRenderer.Render("router: {config: {state: null}}"))).Single();
        Assert.Multiple(() =>
        {
            Assert.That(config.Find("state"), Is.Null);
            Assert.That(config.Find("models"), Is.Not.Null, "sibling keys stay");
        });
    }

    [Test]
    public void FullnameOverride_NamesEveryObject_AndSelectorsStayConsistent()
    {
        var chart = HelmRenderer.Render("fullnameOverride: llm-router", "mode: sidecar");
        static Dictionary<string, string> Labels(YamlMappingNode map) =>
            map.Children.ToDictionary(kv => ((YamlScalarNode)kv.Key).Value!, kv => ((YamlScalarNode)kv.Value).Value!, StringComparer.Ordinal);

        var selector = Labels(chart.Deployment.Map("spec.selector.matchLabels"));
        Assert.Multiple(() =>
        {
            Assert.That(chart.Documents.Select(d => d.Name), Has.All.StartsWith("llm-router"));
            Assert.That(selector, Is.Not.Empty);
            Assert.That(Labels(chart.Single("Service").Root.Map("spec.selector")), Is.EquivalentTo(selector));
            Assert.That(Labels(chart.Deployment.Map("spec.template.metadata.labels")), Is.SupersetOf(selector));
        });
    }

    [Test]
    public void ServiceMonitor_IsOffByDefault()
    {
        Assert.That(HelmRenderer.Render().Kinds, Does.Not.Contain("ServiceMonitor"));
    }

    [Test]
    public void ChartDefaultConfig_IsTheRepositoryDefaultConfig()
    {
        if (RepoPaths.RepoRouterConfig is null)
        {
            Assert.Ignore("config/router.yaml is not in the repository yet");
        }

        // Compared as YAML trees: comments and key order may differ, values may not.
        var repo = Normalize(Yaml.LoadFile(RepoPaths.RepoRouterConfig!));
        var chart = Normalize(Yaml.LoadAll(ConfigMapRouterYaml(HelmRenderer.Render())).Single());
        Assert.That(chart, Is.EqualTo(repo),
            "charts/router-extproc/values.yaml router.config must equal config/router.yaml: replace the block under " +
            "router.config with the output of: sed 's/^/    /' config/router.yaml");
    }

    internal static string ConfigMapRouterYaml(RenderedChart chart) => chart.Single("ConfigMap", "-config").Root.Text("data", "router.yaml");

    private static YamlMappingNode EnvoyBootstrap(RenderedChart chart) =>
        Yaml.LoadAll(chart.Single("ConfigMap", "-envoy").Root.Text("data", "envoy.yaml")).Single();

    private static IEnumerable<string> ServicePorts(RenderedChart chart) =>
        chart.Single("Service").Root.Seq("spec.ports").Select(p => p.Str("name") + ":" + p.Str("port"));

    private static string SocketAddress(YamlNode cluster)
    {
        var address = cluster.Seq("load_assignment.endpoints").Single().Seq("lb_endpoints").Single().Get("endpoint.address.socket_address");
        return address.Str("address") + ":" + address.Str("port_value");
    }

    private static string Checksum(RenderedChart chart) => chart.Deployment.Text("spec", "template", "metadata", "annotations", "checksum/config");

    private static string Sha256(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    /// <summary>A canonical text of a YAML tree (sorted keys, scalars as written) for equality.</summary>
    private static string Normalize(YamlNode node) => node switch
    {
        YamlMappingNode map => "{" + string.Join(",", map.Children
            .Select(kv => ((YamlScalarNode)kv.Key).Value + ":" + Normalize(kv.Value))
            .Order(StringComparer.Ordinal)) + "}",
        YamlSequenceNode seq => "[" + string.Join(",", seq.Children.Select(Normalize)) + "]",
        YamlScalarNode scalar => Canonical(scalar),
        _ => "?",
    };

    private static string Canonical(YamlScalarNode scalar)
    {
        if (scalar.Style != YamlDotNet.Core.ScalarStyle.Plain)
        {
            return scalar.Value ?? string.Empty;
        }

        // helm reads values through JSON: 0.90 comes back as 0.9, ~ as null.
        if (scalar.Value is null or "~" or "null" or "")
        {
            return "null";
        }

        return double.TryParse(scalar.Value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var number)
            ? number.ToString("R", System.Globalization.CultureInfo.InvariantCulture)
            : scalar.Value;
    }
}
