{{/* Names and labels. */}}
{{- define "stepwise.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "stepwise.fullname" -}}
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

{{- define "stepwise.selectorLabels" -}}
app.kubernetes.io/name: {{ include "stepwise.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "stepwise.labels" -}}
{{ include "stepwise.selectorLabels" . }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
{{- end -}}

{{- define "stepwise.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "stepwise.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "stepwise.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* A key of a map, or a fallback when the key is absent (Sprig's `default` would also replace 0 and false). */}}
{{- define "stepwise.get" -}}
{{- $m := index . 0 -}}{{- $k := index . 1 -}}
{{- if and $m (hasKey $m $k) (not (kindIs "invalid" (index $m $k))) -}}{{- index $m $k -}}{{- else -}}{{- index . 2 -}}{{- end -}}
{{- end -}}

{{/* The key prefix workers and coordinators use: in cluster mode wrapped in a hash tag, so a queue's keys share a slot. */}}
{{- define "stepwise.prefix" -}}
{{- if .Values.redis.cluster -}}{{ printf "{%s}" .Values.redis.prefix }}{{- else -}}{{ .Values.redis.prefix }}{{- end -}}
{{- end -}}

{{- define "stepwise.secretName" -}}
{{- include "stepwise.fullname" . }}-connections
{{- end -}}

{{/* REDIS_URL (and STEPWISE_POSTGRES_URL with `postgres`) from the chart's Secret or the user's. */}}
{{- define "stepwise.connectionEnv" -}}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
{{- if .root.Values.redis.existingSecret.name }}
      name: {{ .root.Values.redis.existingSecret.name }}
      key: {{ .root.Values.redis.existingSecret.key }}
{{- else }}
      name: {{ include "stepwise.secretName" .root }}
      key: redis-url
{{- end }}
{{- if .postgres }}
- name: STEPWISE_POSTGRES_URL
  valueFrom:
    secretKeyRef:
{{- if .root.Values.postgres.existingSecret.name }}
      name: {{ .root.Values.postgres.existingSecret.name }}
      key: {{ .root.Values.postgres.existingSecret.key }}
{{- else }}
      name: {{ include "stepwise.secretName" .root }}
      key: postgres-url
{{- end }}
- name: STEPWISE_HOME
  value: /var/lib/stepwise
{{- end }}
{{- end -}}

{{/* Pod placement: the component's own value, else the top-level one. */}}
{{- define "stepwise.placement" -}}
{{- $c := .component -}}{{- $v := .root.Values -}}
{{- with (default $v.nodeSelector $c.nodeSelector) }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with (default $v.tolerations $c.tolerations) }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with (default $v.affinity $c.affinity) }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "stepwise.podSecurityContext" -}}
securityContext:
  runAsNonRoot: true
  runAsUser: 1000
  runAsGroup: 1000
  fsGroup: 1000
  seccompProfile:
    type: RuntimeDefault
{{- end -}}

{{- define "stepwise.containerSecurityContext" -}}
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  capabilities:
    drop: [ALL]
{{- end -}}

{{/* The init container that writes stepwise.yaml with the connection URLs from the environment (Secrets). */}}
{{- define "stepwise.configInit" -}}
- name: config
  image: {{ include "stepwise.image" .root }}
  imagePullPolicy: {{ .root.Values.image.pullPolicy }}
  command: [node, /etc/stepwise/render-config.mjs, /etc/stepwise/stepwise.yaml.tpl, /var/lib/stepwise/stepwise.yaml]
  env:
    {{- include "stepwise.connectionEnv" (dict "root" .root "postgres" true) | nindent 4 }}
  {{- include "stepwise.containerSecurityContext" . | nindent 2 }}
  volumeMounts:
    - { name: config-template, mountPath: /etc/stepwise, readOnly: true }
    - { name: home, mountPath: /var/lib/stepwise }
{{- end -}}

{{- define "stepwise.configVolumes" -}}
- name: config-template
  configMap:
    name: {{ include "stepwise.fullname" .root }}-config
- name: home
  emptyDir: {}
- name: tmp
  emptyDir: {}
{{- end -}}

{{- define "stepwise.podCommon" -}}
serviceAccountName: {{ include "stepwise.serviceAccountName" .root }}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{ include "stepwise.podSecurityContext" . }}
{{- include "stepwise.placement" . }}
{{- end -}}

{{- define "stepwise.podAnnotations" -}}
checksum/config: {{ include (print .root.Template.BasePath "/config.yaml") .root | sha256sum }}
{{- with (default .root.Values.podAnnotations .component.podAnnotations) }}
{{ toYaml . }}
{{- end }}
{{- end -}}
