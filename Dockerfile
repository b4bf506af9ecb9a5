# syntax=docker/dockerfile:1.7
# router-extproc image: the .NET 10 ext_proc router, its default config and its classifier models.
#
#   docker build -t router-extproc:dev .                                   # CPU (ONNX Runtime CPU), default target
#   docker build -t router-extproc:cuda --target runtime-gpu .            # CUDA: -p:OnnxRuntimeGpu=true on a CUDA base
#
# The image runs as the non-root "app" user (uid 1654) and writes nothing outside /tmp, so it runs with
# readOnlyRootFilesystem (mount an emptyDir at /tmp). Config (/app/config/router.yaml) and models (/app/models)
# are baked in from the repository and can be replaced by mounts at the same paths; the config's relative model
# paths (../models/...) then keep working. The default config routes with models/router-encoder (int8) blended with
# models/lexical-domain, so a replacement models mount must hold both. Ports: 50051 gRPC (ext_proc + grpc.health.v1, h2c), 9190 admin HTTP.
# Not built in this repository's CI (no Docker engine there): see docs/deployment.md.

ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0
ARG RUNTIME_IMAGE=mcr.microsoft.com/dotnet/aspnet:10.0
# CUDA 12 + cuDNN 9 runtime, what Microsoft.ML.OnnxRuntime.Gpu 1.2x/1.3x links against.
ARG CUDA_IMAGE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04

# ---- build: restore in its own layer (changes only when a project file does), then publish ----
FROM ${SDK_IMAGE} AS build
ARG ONNX_GPU=false
ARG RID=linux-x64
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY src/RouterExtProc/RouterExtProc.csproj src/RouterExtProc/
COPY src/RouterExtProc.Core/RouterExtProc.Core.csproj src/RouterExtProc.Core/
COPY src/RouterExtProc.Protocol/RouterExtProc.Protocol.csproj src/RouterExtProc.Protocol/
COPY src/RouterExtProc.Inference/RouterExtProc.Inference.csproj src/RouterExtProc.Inference/
COPY src/RouterExtProc.State/RouterExtProc.State.csproj src/RouterExtProc.State/
RUN dotnet restore src/RouterExtProc/RouterExtProc.csproj -r ${RID} -p:OnnxRuntimeGpu=${ONNX_GPU}
COPY proto/ proto/
COPY src/ src/
COPY config/ config/
# The host project copies the models the default config routes with into its publish output (models/...).
COPY models/router-encoder/ models/router-encoder/
COPY models/lexical-domain/ models/lexical-domain/
RUN dotnet publish src/RouterExtProc/RouterExtProc.csproj -c Release -r ${RID} --self-contained false --no-restore \
      -p:OnnxRuntimeGpu=${ONNX_GPU} -p:UseAppHost=false -o /app

# ---- build-gpu: the same publish against Microsoft.ML.OnnxRuntime.Gpu, self-contained for the CUDA base ----
FROM ${SDK_IMAGE} AS build-gpu
ARG RID=linux-x64
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY proto/ proto/
COPY src/ src/
COPY config/ config/
COPY models/router-encoder/ models/router-encoder/
COPY models/lexical-domain/ models/lexical-domain/
RUN dotnet publish src/RouterExtProc/RouterExtProc.csproj -c Release -r ${RID} --self-contained true \
      -p:OnnxRuntimeGpu=true -o /app

# ---- runtime-gpu: CUDA base (no .NET there, hence the self-contained publish) ----
FROM ${CUDA_IMAGE} AS runtime-gpu
# ICU for globalization (the CUDA image has no .NET dependencies installed).
RUN apt-get update && apt-get install -y --no-install-recommends libicu74 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 1654 app && useradd --uid 1654 --gid 1654 --no-create-home --shell /usr/sbin/nologin app
WORKDIR /app
COPY --from=build-gpu /app ./
COPY config/ /app/config/
COPY models/ /app/models/
ENV TMPDIR=/tmp ASPNETCORE_HTTP_PORTS= DOTNET_RUNNING_IN_CONTAINER=true
USER 1654:1654
EXPOSE 50051 9190
ENTRYPOINT ["/app/RouterExtProc"]
CMD ["--config", "/app/config/router.yaml"]

# ---- runtime (default target): ASP.NET Core runtime image, non-root ----
FROM ${RUNTIME_IMAGE} AS runtime
WORKDIR /app
COPY --from=build /app ./
# The default config and every shipped model (the publish above holds only the default's encoder; the examples use
# the others), at the paths the chart mounts over (config's model paths are relative to it).
COPY config/ /app/config/
COPY models/ /app/models/
# The router binds its own listeners from the config; clear the image's default ASPNETCORE_HTTP_PORTS=8080 so
# Kestrel does not warn about (or bind) a second address. TMPDIR: the only writable path.
ENV TMPDIR=/tmp ASPNETCORE_HTTP_PORTS=
# APP_UID (1654) is the non-root "app" user the .NET images define.
USER 1654:1654
EXPOSE 50051 9190
ENTRYPOINT ["dotnet", "/app/RouterExtProc.dll"]
CMD ["--config", "/app/config/router.yaml"]
