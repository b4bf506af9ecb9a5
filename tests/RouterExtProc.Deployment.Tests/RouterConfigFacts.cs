using YamlDotNet.RepresentationModel;

namespace RouterExtProc.Deployment.Tests;

/// <summary>What the deployment artifacts must agree on with a router config: header name, ports, model names.</summary>
internal sealed record RouterConfigFacts(string SelectedModelHeader, int GrpcPort, int AdminPort, IReadOnlyList<string> ModelNames)
{
    public static RouterConfigFacts Load(string path) => From(Yaml.LoadFile(path));

    public static RouterConfigFacts Parse(string yaml) => From(Yaml.LoadAll(yaml).Single());

    public static RouterConfigFacts From(YamlMappingNode root)
    {
        var server = root.Find("server");
        var header = server?.StrOrNull("selected_model_header") ?? "x-selected-model";
        var grpc = int.Parse(server?.StrOrNull("grpc_port") ?? "50051", System.Globalization.CultureInfo.InvariantCulture);
        var admin = int.Parse(server?.StrOrNull("admin_port") ?? "9190", System.Globalization.CultureInfo.InvariantCulture);
        var models = root.Seq("models").Select(m => m.Str("name")).ToList();
        return new RouterConfigFacts(header, grpc, admin, models);
    }
}
