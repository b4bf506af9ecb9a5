{{/* Chart name, truncated to the 63 characters Kubernetes allows in a label value. */}}
{{- define "router-extproc.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Fully qualified app name: release-chart unless the release name already contains the chart name. */}}
{{- define "router-extproc.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "router-extproc.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "router-extproc.selectorLabels" -}}
app.kubernetes.io/name: {{ include "router-extproc.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "router-extproc.labels" -}}
helm.sh/chart: {{ include "router-extproc.chart" . }}
{{ include "router-extproc.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: {{ .Values.mode }}
{{- end -}}

{{- define "router-extproc.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "router-extproc.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "router-extproc.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag | toString) -}}
{{- end -}}

{{/* Validates the values that the schema cannot (cross-field rules); renders nothing. */}}
{{- define "router-extproc.validate" -}}
{{- if not (has .Values.mode (list "sidecar" "standalone")) -}}
{{- fail (printf "mode must be sidecar or standalone, not %q" .Values.mode) -}}
{{- end -}}
{{- if not (has .Values.models.source (list "image" "pvc" "emptyDir")) -}}
{{- fail (printf "models.source must be image, pvc or emptyDir, not %q" .Values.models.source) -}}
{{- end -}}
{{- if eq .Values.models.source "pvc" -}}
{{- $_ := required "models.pvc.claimName is required when models.source is pvc" .Values.models.pvc.claimName -}}
{{- end -}}
{{- if eq .Values.models.source "emptyDir" -}}
{{- $_ := required "models.init.image is required when models.source is emptyDir (an image holding the models)" .Values.models.init.image -}}
{{- end -}}
{{- if not .Values.router.config.models -}}
{{- fail "router.config.models is empty: the router and Envoy need at least one model" -}}
{{- end -}}
{{- end -}}

{{/*
The effective router config as YAML: router.config with the chart's Redis settings applied.
Consumers parse it back with fromYaml (ports, header name and models come from here, so Envoy,
probes and Service always agree with what the router reads).
*/}}
{{- define "router-extproc.routerConfig" -}}
{{- $cfg := deepCopy .Values.router.config -}}
{{- if .Values.redis.enabled -}}
{{- $state := default (dict) $cfg.state -}}
{{- $redis := default (dict) $state.redis -}}
{{- $_ := set $state "backend" "redis" -}}
{{- if .Values.redis.endpoints -}}
{{- $_ := set $redis "endpoints" .Values.redis.endpoints -}}
{{- end -}}
{{- $_ := set $state "redis" $redis -}}
{{- $_ := set $cfg "state" $state -}}
{{- end -}}
{{- toYaml $cfg -}}
{{- end -}}

{{- define "router-extproc.grpcPort" -}}
{{- $server := default (dict) .Values.router.config.server -}}
{{- default 50051 $server.grpc_port | int -}}
{{- end -}}

{{- define "router-extproc.adminPort" -}}
{{- $server := default (dict) .Values.router.config.server -}}
{{- default 9190 $server.admin_port | int -}}
{{- end -}}

{{- define "router-extproc.selectedModelHeader" -}}
{{- $server := default (dict) .Values.router.config.server -}}
{{- default "x-selected-model" $server.selected_model_header -}}
{{- end -}}

{{/* The env var the router reads the Redis password from (state.redis.password_env). */}}
{{- define "router-extproc.redisPasswordEnv" -}}
{{- $state := default (dict) .Values.router.config.state -}}
{{- $redis := default (dict) $state.redis -}}
{{- default "ROUTER_REDIS_PASSWORD" $redis.password_env -}}
{{- end -}}

{{/* Name of the Secret holding the Redis password, or empty when there is none. */}}
{{- define "router-extproc.redisSecretName" -}}
{{- if .Values.redis.existingSecret -}}
{{- .Values.redis.existingSecret -}}
{{- else if .Values.redis.password -}}
{{- printf "%s-redis" (include "router-extproc.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* Envoy cluster name for a model (model names may hold dots, which cluster names allow). */}}
{{- define "router-extproc.modelCluster" -}}
{{- printf "model-%s" . -}}
{{- end -}}
