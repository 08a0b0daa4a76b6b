{{/*
A KEDA ScaledObject on a worker group's backlog: for each queue, BullMQ's waiting list (<prefix>:<queue>:wait),
prioritized set (:prioritized) and active list (:active), summed by scalingModifiers and divided by the group's
concurrency. Counting active jobs keeps busy workers from being scaled in while their steps run.
Input: dict "root" "name" "queues" "concurrency" "autoscaling" "min" "max".
*/}}
{{- define "stepwise.scaledObject" -}}
{{- $root := .root -}}{{- $v := $root.Values -}}{{- $r := $v.redis -}}
{{- $prefix := include "stepwise.prefix" $root -}}
{{- $cluster := gt (len $r.cluster) 0 -}}
{{- $address := $r.address -}}
{{- $tls := $r.tls -}}
{{- $db := "" -}}
{{- $secret := "" -}}{{- $passwordKey := "" -}}{{- $usernameKey := "" -}}
{{- if $r.existingSecret.name -}}
  {{- if and (not $cluster) (not $address) -}}
  {{- fail "autoscaling with redis.existingSecret needs redis.address (host:port), since KEDA cannot read the URL from the Secret" -}}
  {{- end -}}
  {{- if $r.existingSecret.passwordKey -}}{{- $secret = $r.existingSecret.name -}}{{- $passwordKey = $r.existingSecret.passwordKey -}}{{- end -}}
  {{- if and $secret $r.existingSecret.usernameKey -}}{{- $usernameKey = $r.existingSecret.usernameKey -}}{{- end -}}
{{- else -}}
  {{- $u := urlParse $r.url -}}
  {{- if not $address -}}{{- $address = ternary $u.host (printf "%s:6379" $u.host) (contains ":" $u.host) -}}{{- end -}}
  {{- if eq $u.scheme "rediss" -}}{{- $tls = true -}}{{- end -}}
  {{- $db = trimPrefix "/" $u.path -}}
  {{- if contains ":" $u.userinfo -}}{{- $secret = include "stepwise.secretName" $root -}}{{- $passwordKey = "redis-password" -}}{{- end -}}
  {{- if and $secret (regexMatch "^[^:]+:" $u.userinfo) -}}{{- $usernameKey = "redis-username" -}}{{- end -}}
{{- end -}}
{{- $terms := list -}}
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata:
  name: {{ .name }}
  labels:
    {{- include "stepwise.labels" (dict "root" $root "component" "autoscaling") | nindent 4 }}
spec:
  scaleTargetRef:
    name: {{ .name }}
  minReplicaCount: {{ .min }}
  maxReplicaCount: {{ .max }}
  pollingInterval: {{ include "stepwise.get" (list .autoscaling "pollingInterval" 15) }}
  cooldownPeriod: {{ include "stepwise.get" (list .autoscaling "cooldownPeriod" 300) }}
  triggers:
  {{- range $i, $queue := .queues }}
  {{- range $type := list "wait" "prioritized" "active" }}
  {{- $trigger := printf "q%d_%s" $i $type }}
  {{- $terms = append $terms $trigger }}
    - type: {{ ternary "redis-cluster" "redis" $cluster }}
      name: {{ $trigger }}
      metadata:
        {{- if $cluster }}
        addresses: {{ join "," $r.cluster | quote }}
        {{- else }}
        address: {{ $address | quote }}
        {{- with $db }}
        databaseIndex: {{ . | quote }}
        {{- end }}
        {{- end }}
        # BullMQ's key for the {{ $type }} jobs of queue {{ $queue }}.
        listName: {{ printf "%s:%s:%s" $prefix $queue $type | quote }}
        listLength: "1"
        enableTLS: {{ $tls | toString | quote }}
      {{- if $secret }}
      authenticationRef:
        name: {{ $.name }}-redis
      {{- end }}
  {{- end }}
  {{- end }}
  advanced:
    scalingModifiers:
      # Replicas = ceil((waiting + prioritized + active jobs) / concurrency).
      formula: {{ printf "(%s) / %d" (join " + " $terms) .concurrency | quote }}
      target: "1"
      activationTarget: "0"
      metricType: AverageValue
{{- if $secret }}
---
apiVersion: keda.sh/v1alpha1
kind: TriggerAuthentication
metadata:
  name: {{ .name }}-redis
  labels:
    {{- include "stepwise.labels" (dict "root" $root "component" "autoscaling") | nindent 4 }}
spec:
  secretTargetRef:
    - parameter: password
      name: {{ $secret }}
      key: {{ $passwordKey }}
    {{- if $usernameKey }}
    # An ACL user (ElastiCache RBAC, Redis 6 ACL); without it KEDA authenticates as `default`.
    - parameter: username
      name: {{ $secret }}
      key: {{ $usernameKey }}
    {{- end }}
{{- end }}
{{- end -}}
