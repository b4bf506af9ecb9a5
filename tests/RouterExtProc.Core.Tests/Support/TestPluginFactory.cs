using RouterExtProc.Core.Config;
using RouterExtProc.Core.Plugins;
using RouterExtProc.Core.Request;
using RouterExtProc.Core.Routing;

namespace RouterExtProc.Core.Tests.Support;

/// <summary>
/// Test double for the plugin factory (the real one lives with the plugins): knows the types it is told about and
/// builds small plugins whose behaviour the tests choose: stop, throw, reroute, header.
/// </summary>
internal sealed class TestPluginFactory(params string[] known) : IPluginFactory
{
    public List<PluginConfig> Validated { get; } = [];

    public void Validate(PluginConfig config, string file, IReadOnlySet<string> models, IReadOnlySet<string> signals, ICollection<ConfigError> errors)
    {
        Validated.Add(config);
        if (Array.IndexOf(known, config.Type) < 0)
        {
            errors.Add(new ConfigError(file, config.Line, config.YamlPath + ".type", "unknown plugin type '" + config.Type + "'; use one of: " + string.Join(", ", known)));
        }

        if (config.Options.TryGetValue("model", out var model) && model is string name && !models.Contains(name))
        {
            errors.Add(new ConfigError(file, config.Line, config.YamlPath + ".model", "model '" + name + "' is not defined"));
        }
    }

    public IRequestPlugin Create(PluginConfig config) => new TestPlugin(config);

    private sealed class TestPlugin(PluginConfig config) : IRequestPlugin
    {
        public string Type => config.Type;

        public PluginErrorPolicy OnError => config.OnError;

        /// <summary>Any test plugin acts as a guard when its entry says <c>guard: true</c>.</summary>
        public bool IsGuard => config.Options.TryGetValue("guard", out var guard) && guard is true;

        public async ValueTask<PluginResult> ApplyAsync(PluginContext context, CancellationToken cancellationToken)
        {
            switch (config.Type)
            {
                case "throw":
                    throw new InvalidOperationException("plugin fault for the test");
                case "stop":
                    context.ResponseHeaders.Add(new("x-router-block-reason", "test"));
                    return PluginResult.Stop(ImmediateReply.FromError(new RequestError(403, "blocked", "invalid_request_error", null, "content_policy_violation")));
                case "reroute":
                    context.Model = (string)config.Options["model"]!;
                    return PluginResult.Continue;
                case "signal_header":
                    var value = await context.SignalAsync((string)config.Options["signal"]!, cancellationToken);
                    context.ResponseHeaders.Add(new("x-test-signal", value.Matched ? "1" : "0"));
                    return PluginResult.Continue;
                default:
                    context.ResponseHeaders.Add(new("x-test-plugin", config.Type));
                    return PluginResult.Continue;
            }
        }
    }
}
