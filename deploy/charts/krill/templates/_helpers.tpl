{{/* Names and labels. */}}
{{- define "krill.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "krill.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "krill.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "krill.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "krill.selectorLabels" -}}
app.kubernetes.io/name: {{ include "krill.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: agent
{{- end }}

{{- define "krill.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "krill.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "krill.configMapName" -}}
{{- printf "%s-config" (include "krill.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "krill.metricsServiceName" -}}
{{- printf "%s-metrics" (include "krill.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "krill.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The pod-side paths of krilld's socket directory and drop-in directory (the host paths come from values). */}}
{{- define "krill.podSocketDir" -}}/run/krill{{- end }}
{{- define "krill.podDropInDir" -}}/etc/krill/krill.d{{- end }}

{{/*
TOML of a map (krill.toml): `dict "table" MAP "path" LIST-OF-KEYS`. Scalars and
arrays of scalars first as `key = value`, then each sub-map as a [table]; keys
sorted, quoted unless bare (A-Za-z0-9_-). Strings, numbers and booleans are
written as JSON, which is valid TOML for them.
*/}}
{{- define "krill.tomlKey" -}}
{{- if regexMatch "^[A-Za-z0-9_-]+$" . }}{{ . }}{{ else }}{{ toJson . }}{{ end }}
{{- end }}

{{- define "krill.tomlValue" -}}
{{- $v := .value }}
{{- if kindIs "slice" $v }}
{{- range $v }}
{{- if or (kindIs "map" .) (kindIs "slice" .) }}
{{- fail (printf "config.%s: arrays of tables or of arrays are not supported; use configToml" $.where) }}
{{- end }}
{{- end }}
{{- toJson $v }}
{{- else if kindIs "invalid" $v }}
{{- fail (printf "config.%s: null has no TOML form" .where) }}
{{- else if kindIs "float64" $v }}
{{- if eq $v (floor $v) }}{{ int64 $v }}{{ else }}{{ toJson $v }}{{ end }}
{{- else }}
{{- toJson $v }}
{{- end }}
{{- end }}

{{- define "krill.tomlTable" -}}
{{- $table := .table }}
{{- $path := .path }}
{{- $keys := keys $table | sortAlpha }}
{{- range $keys }}
{{- $v := get $table . }}
{{- if not (kindIs "map" $v) }}
{{ include "krill.tomlKey" . }} = {{ include "krill.tomlValue" (dict "value" $v "where" (append $path . | join ".")) }}
{{- end }}
{{- end }}
{{- range $keys }}
{{- $v := get $table . }}
{{- if kindIs "map" $v }}
{{- $sub := append $path . }}
{{- $header := list }}
{{- range $sub }}{{ $header = append $header (include "krill.tomlKey" .) }}{{ end }}

[{{ join "." $header }}]
{{- include "krill.tomlTable" (dict "table" $v "path" $sub) }}
{{- end }}
{{- end }}
{{- end }}

{{- define "krill.configToml" -}}
{{- if and .Values.config .Values.configToml }}
{{- fail "set config or configToml, not both" }}
{{- end }}
{{- if .Values.configToml }}
{{- .Values.configToml }}
{{- else if .Values.config }}
{{- printf "# Rendered by the krill chart from its values (config).\n" }}
{{- include "krill.tomlTable" (dict "table" .Values.config "path" list) | trimPrefix "\n" }}
{{- printf "\n" }}
{{- end }}
{{- end }}
