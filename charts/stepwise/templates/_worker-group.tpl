{{/*
One worker group: its Deployment, its PodDisruptionBudget, and with autoscaling its KEDA ScaledObject.
Input: dict "root" $ "group" GROUP "runs" BOOL ("runs": the run launcher's `stepwise worker --runs` pods).
*/}}
{{- define "stepwise.workerGroup" -}}
{{- $root := .root -}}{{- $g := .group -}}{{- $v := $root.Values -}}
{{- $component := ternary "runs" (printf "worker-%s" $g.name) .runs -}}
{{- $name := printf "%s-%s" (include "stepwise.fullname" $root) $component | trunc 63 | trimSuffix "-" -}}
{{- $ctx := dict "root" $root "component" $g -}}
{{- $grace := include "stepwise.get" (list $g "terminationGracePeriodSeconds" 330) | int -}}
{{- /* The worker gives up on its steps a little before the kubelet's SIGKILL, so it can log which ones. */ -}}
{{- $drainSeconds := ternary (sub $grace 5) (max (sub $grace 1) 1) (gt $grace 10) -}}
{{- $concurrency := include "stepwise.get" (list $g "concurrency" 1) | int -}}
{{- $autoscaling := default dict $g.autoscaling -}}
{{- $autoscaled := eq (include "stepwise.get" (list $autoscaling "enabled" false)) "true" -}}
{{- $pdb := default dict $g.podDisruptionBudget -}}
{{- $queues := ternary (list $g.queue) $g.queues .runs -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $name }}
  labels:
    {{- include "stepwise.labels" (dict "root" $root "component" $component) | nindent 4 }}
spec:
  {{- if not $autoscaled }}
  replicas: {{ include "stepwise.get" (list $g "replicas" 1) }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "stepwise.selectorLabels" (dict "root" $root "component" $component) | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "stepwise.selectorLabels" (dict "root" $root "component" $component) | nindent 8 }}
      annotations:
        {{- include "stepwise.podAnnotations" $ctx | nindent 8 }}
    spec:
      {{- include "stepwise.podCommon" $ctx | nindent 6 }}
      # SIGTERM starts the drain; the kubelet SIGKILLs whatever still runs this many seconds later.
      terminationGracePeriodSeconds: {{ $grace }}
      {{- if .runs }}
      initContainers:
        {{- include "stepwise.configInit" $ctx | nindent 8 }}
      {{- end }}
      containers:
        - name: worker
          image: {{ include "stepwise.image" $root }}
          imagePullPolicy: {{ $v.image.pullPolicy }}
          args:
            - worker
            {{- if .runs }}
            # The runs queue, its prefix and Redis come from stepwise.yaml's runLauncher.queue (the config init container).
            - --runs
            - --concurrency
            - {{ $concurrency | quote }}
            {{- else }}
            - -f
            - {{ $v.definitions }}
            {{- range $queues }}
            - --queue
            - {{ . }}
            {{- end }}
            - --concurrency
            - {{ $concurrency | quote }}
            - --prefix
            - {{ include "stepwise.prefix" $root | quote }}
            {{- if $v.redis.cluster }}
            - --redis-cluster
            - {{ join "," $v.redis.cluster | quote }}
            {{- end }}
            - --metrics-port
            - {{ $v.metricsPort | quote }}
            - --drain-timeout
            - {{ mul $drainSeconds 1000 | quote }}
            {{- with $g.lockDurationMs }}
            - --lock-duration
            - {{ . | quote }}
            {{- end }}
            {{- end }}
          env:
            {{- include "stepwise.connectionEnv" (dict "root" $root "postgres" .runs) | nindent 12 }}
            {{- with (default $ctx.root.Values.env $ctx.component.env) }}
{{ toYaml . | indent 12 }}
{{- end }}
          {{- if not .runs }}
          ports:
            - name: metrics
              containerPort: {{ $v.metricsPort }}
          # Not ready while draining (or cut off from Redis): a draining pod is taken out of the rotation.
          readinessProbe:
            httpGet: { path: /readyz, port: metrics }
            periodSeconds: 5
            failureThreshold: 2
          # Alive while draining: a pod finishing its steps must not be restarted.
          livenessProbe:
            httpGet: { path: /livez, port: metrics }
            initialDelaySeconds: 10
            periodSeconds: 10
            failureThreshold: 6
          {{- end }}
          {{- include "stepwise.containerSecurityContext" $root | nindent 10 }}
          {{- with (default $ctx.root.Values.resources $ctx.component.resources) }}
          resources:
{{ toYaml . | indent 12 }}
{{- end }}
          volumeMounts:
            - { name: tmp, mountPath: /tmp }
            {{- if .runs }}
            - { name: home, mountPath: /var/lib/stepwise }
            {{- end }}
      volumes:
        {{- if .runs }}
        {{- include "stepwise.configVolumes" $ctx | nindent 8 }}
        {{- else }}
        - name: tmp
          emptyDir: {}
        {{- end }}
{{- if eq (include "stepwise.get" (list $pdb "enabled" true)) "true" }}
---
# Node drains evict at most this many of the group's pods at once; each evicted pod drains as on scale-in.
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ $name }}
  labels:
    {{- include "stepwise.labels" (dict "root" $root "component" $component) | nindent 4 }}
spec:
  maxUnavailable: {{ include "stepwise.get" (list $pdb "maxUnavailable" 1) }}
  selector:
    matchLabels:
      {{- include "stepwise.selectorLabels" (dict "root" $root "component" $component) | nindent 6 }}
{{- end }}
{{- if $autoscaled }}
{{- $min := include "stepwise.get" (list $autoscaling "minReplicas" 0) | int }}
{{- $max := include "stepwise.get" (list $autoscaling "maxReplicas" 10) | int }}
{{- if gt $min $max }}
{{- fail (printf "worker group %s: autoscaling.minReplicas (%d) is above maxReplicas (%d)" $component $min $max) }}
{{- end }}
---
{{ include "stepwise.scaledObject" (dict "root" $root "name" $name "queues" $queues "concurrency" $concurrency "autoscaling" $autoscaling "min" $min "max" $max) }}
{{- end }}
{{- end -}}
