{{/*
Envoy bootstrap for sidecar mode: the same shape as envoy/envoy.yaml in the repository, with the router on
localhost and one route + cluster per model of the router config.
*/}}
{{- define "router-extproc.envoyBootstrap" -}}
{{- $cfg := include "router-extproc.routerConfig" . | fromYaml -}}
{{- $header := include "router-extproc.selectedModelHeader" . -}}
{{- $defaultModel := .Values.envoy.defaultModel | default (first $cfg.models).name -}}
{{- $envoy := .Values.envoy -}}
admin:
  address:
    socket_address: { address: 0.0.0.0, port_value: {{ $envoy.adminPort | int }} }
static_resources:
  listeners:
    - name: llm_ingress
      address:
        socket_address: { address: 0.0.0.0, port_value: {{ $envoy.listenerPort | int }} }
      # BUFFERED request bodies must fit: bigger bodies get 413 from Envoy.
      per_connection_buffer_limit_bytes: {{ $envoy.perConnectionBufferLimitBytes | int64 }}
      filter_chains:
        - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: llm_ingress
                codec_type: AUTO
                access_log:
                  - name: envoy.access_loggers.stdout
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog
                route_config:
                  name: llm_routes
                  virtual_hosts:
                    - name: llm
                      domains: ["*"]
                      routes:
                        {{- range $cfg.models }}
                        - name: {{ .name | quote }}
                          match:
                            prefix: /
                            headers:
                              - name: {{ $header }}
                                string_match: { exact: {{ .name | quote }} }
                          route:
                            cluster: {{ include "router-extproc.modelCluster" .name | quote }}
                            timeout: {{ $envoy.routeTimeout }}
                        {{- end }}
                        # No selected-model header: the router was skipped (failure_mode_allow) or passed through.
                        - name: default
                          match: { prefix: / }
                          route:
                            cluster: {{ include "router-extproc.modelCluster" $defaultModel | quote }}
                            timeout: {{ $envoy.routeTimeout }}
                http_filters:
                  - name: envoy.filters.http.ext_proc
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor
                      grpc_service:
                        envoy_grpc:
                          cluster_name: router-extproc
                      processing_mode:
                        request_header_mode: SEND
                        request_body_mode: BUFFERED
                        response_header_mode: SEND
                        response_body_mode: NONE
                        request_trailer_mode: SKIP
                        response_trailer_mode: SKIP
                      # The router asks for the response body (semantic cache fill) on response headers.
                      allow_mode_override: true
                      failure_mode_allow: {{ $envoy.failureModeAllow }}
                      message_timeout: {{ $envoy.messageTimeout }}
                      metadata_options:
                        receiving_namespaces:
                          untyped: [llm_router]
                  - name: envoy.filters.http.router
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
    - name: router-extproc
      type: STATIC
      connect_timeout: 1s
      typed_extension_protocol_options:
        envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
          "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
          explicit_http_config:
            http2_protocol_options:
              # Long prompts arrive as one BUFFERED message: allow large gRPC frames through.
              initial_stream_window_size: 16777216
              initial_connection_window_size: 33554432
      health_checks:
        - timeout: 1s
          interval: 5s
          unhealthy_threshold: 2
          healthy_threshold: 1
          grpc_health_check: {}
      load_assignment:
        cluster_name: router-extproc
        endpoints:
          - lb_endpoints:
              - endpoint:
                  address:
                    socket_address: { address: 127.0.0.1, port_value: {{ include "router-extproc.grpcPort" . }} }
    {{- range $cfg.models }}
    {{- $upstream := get $envoy.upstreams .name | default (dict) }}
    {{- $address := $upstream.address | default (printf "%s.%s.svc" (.name | replace "." "-") $envoy.upstreamNamespace) }}
    {{- $port := $upstream.port | default $envoy.upstreamPort }}
    - name: {{ include "router-extproc.modelCluster" .name | quote }}
      type: STRICT_DNS
      connect_timeout: 5s
      dns_lookup_family: V4_ONLY
      load_assignment:
        cluster_name: {{ include "router-extproc.modelCluster" .name | quote }}
        endpoints:
          - lb_endpoints:
              - endpoint:
                  address:
                    socket_address: { address: {{ $address | quote }}, port_value: {{ $port | int }} }
    {{- end }}
{{- end -}}
