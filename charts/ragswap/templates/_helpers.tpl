{{/*
Chart name, truncated to the 63 characters a DNS label allows.
*/}}
{{- define "ragswap.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Full name: the release name when it already contains the chart name, else <release>-<chart>.
*/}}
{{- define "ragswap.fullname" -}}
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

{{- define "ragswap.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Selector labels: stable for the life of a release (a Deployment's selector is immutable).
*/}}
{{- define "ragswap.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ragswap.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "ragswap.labels" -}}
helm.sh/chart: {{ include "ragswap.chart" . }}
{{ include "ragswap.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: ragswap
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "ragswap.headlessServiceName" -}}
{{- printf "%s-headless" (include "ragswap.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ragswap.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "ragswap.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
Image reference: repository@digest when a digest is set, else repository:tag (tag defaults to appVersion).
*/}}
{{- define "ragswap.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{/*
CONSUL_HTTP_ADDR: consul.address, or the HashiCorp consul chart's server service.
*/}}
{{- define "ragswap.consulAddress" -}}
{{- if .Values.consul.address -}}
{{- .Values.consul.address -}}
{{- else -}}
{{- printf "%s://%s-server.%s.svc:%d" .Values.consul.scheme .Values.consul.releaseFullname (.Values.consul.namespace | default .Release.Namespace) (int .Values.consul.port) -}}
{{- end -}}
{{- end -}}

{{/*
RAGSWAP_PEERS: config.peers, or the headless service's FQDN (one A record per pod, ready or not).
*/}}
{{- define "ragswap.peers" -}}
{{- if .Values.config.peers -}}
{{- .Values.config.peers -}}
{{- else -}}
{{- printf "%s.%s.svc.%s" (include "ragswap.headlessServiceName" .) .Release.Namespace .Values.clusterDomain -}}
{{- end -}}
{{- end -}}

{{/*
Name of the Secret holding credentials, or "" when there is none.
*/}}
{{- define "ragswap.secretName" -}}
{{- if and .Values.secrets.existingSecret .Values.secrets.create -}}
{{- fail "secrets.existingSecret and secrets.create are mutually exclusive" -}}
{{- end -}}
{{- if .Values.secrets.existingSecret -}}
{{- .Values.secrets.existingSecret -}}
{{- else if .Values.secrets.create -}}
{{- include "ragswap.fullname" . -}}
{{- end -}}
{{- end -}}
