{{/* Names ------------------------------------------------------------------ */}}

{{- define "op.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Resource-name prefix; component names are appended, so keep room. */}}
{{- define "op.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* op.cname (dict "root" $ "c" "publisher"): <fullname>-<component> */}}
{{- define "op.cname" -}}
{{- printf "%s-%s" (include "op.fullname" .root) .c | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels ----------------------------------------------------------------- */}}

{{/* Selector labels of one component: name, instance, component. */}}
{{- define "op.selectorLabels" -}}
app.kubernetes.io/name: {{ include "op.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .c }}
{{- end -}}

{{/* Every label of one component. */}}
{{- define "op.labels" -}}
{{ include "op.selectorLabels" . }}
app.kubernetes.io/part-of: orders-pipeline
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Images ----------------------------------------------------------------- */}}

{{/* op.image (dict "root" $ "svc" "publisher"): one image per service. */}}
{{- define "op.image" -}}
{{- $img := .root.Values.image -}}
{{- if $img.digest -}}
{{- printf "%s/%s@%s" $img.repository .svc $img.digest -}}
{{- else -}}
{{- printf "%s/%s:%s" $img.repository .svc (default .root.Chart.AppVersion $img.tag) -}}
{{- end -}}
{{- end -}}

{{/* Secrets ---------------------------------------------------------------- */}}

{{/* op.secretName (dict "root" $ "key" "ingressAuth" "c" "ingress-auth") */}}
{{- define "op.secretName" -}}
{{- $existing := get .root.Values.secrets.existing .key -}}
{{- if and $existing (not .root.Values.secrets.create) -}}
{{- $existing -}}
{{- else -}}
{{- include "op.cname" (dict "root" .root "c" .c) -}}
{{- end -}}
{{- end -}}

{{/* op.secretValue (dict "root" $ "key" "redisPassword"): a value that must
     be set when the chart renders Secrets. */}}
{{- define "op.secretValue" -}}
{{- $v := get .root.Values.secrets.values .key -}}
{{- required (printf "secrets.values.%s is required when secrets.create=true" .key) $v | b64enc -}}
{{- end -}}

{{/* Store endpoints (dev store of this release, or the configured one) ----- */}}

{{- define "op.kafkaBootstrap" -}}
{{- if .Values.dev.kafka.enabled -}}
{{- printf "%s:9092" (include "op.cname" (dict "root" . "c" "kafka")) -}}
{{- else -}}
{{- required "stores.kafka.bootstrap is required without dev.kafka" .Values.stores.kafka.bootstrap -}}
{{- end -}}
{{- end -}}

{{- define "op.postgresHost" -}}
{{- if .Values.dev.postgres.enabled -}}
{{- include "op.cname" (dict "root" . "c" "postgres") -}}
{{- else -}}
{{- required "stores.postgres.host is required without dev.postgres" .Values.stores.postgres.host -}}
{{- end -}}
{{- end -}}

{{- define "op.redisHost" -}}
{{- if .Values.dev.redis.enabled -}}
{{- include "op.cname" (dict "root" . "c" "redis") -}}
{{- else -}}
{{- required "stores.redis.host is required without dev.redis" .Values.stores.redis.host -}}
{{- end -}}
{{- end -}}

{{- define "op.s3Endpoint" -}}
{{- if .Values.dev.minio.enabled -}}
{{- printf "http://%s:9000" (include "op.cname" (dict "root" . "c" "minio")) -}}
{{- else -}}
{{- required "stores.s3.endpoint is required without dev.minio" .Values.stores.s3.endpoint -}}
{{- end -}}
{{- end -}}

{{/* Pod building blocks ---------------------------------------------------- */}}

{{/* Restricted Pod Security, pod level. */}}
{{- define "op.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.runAsUser }}
runAsGroup: {{ .Values.runAsUser }}
fsGroup: {{ .Values.runAsUser }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Restricted Pod Security, container level. */}}
{{- define "op.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
privileged: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Pod spec fields every service shares; expects (dict "root" $ "c" name). */}}
{{- define "op.podCommon" -}}
{{- $v := .root.Values -}}
serviceAccountName: {{ include "op.cname" . }}
automountServiceAccountToken: false
enableServiceLinks: false
terminationGracePeriodSeconds: {{ $v.podDefaults.terminationGracePeriodSeconds }}
securityContext:
  {{- include "op.podSecurityContext" .root | nindent 2 }}
{{- with $v.imagePullSecrets }}
imagePullSecrets:
  {{- range . }}
  - name: {{ . }}
  {{- end }}
{{- end }}
{{- if $v.podDefaults.topologySpread }}
topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "op.selectorLabels" . | nindent 8 }}
  - maxSkew: 1
    topologyKey: topology.kubernetes.io/zone
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "op.selectorLabels" . | nindent 8 }}
{{- end }}
{{- with $v.podDefaults.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.podDefaults.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.podDefaults.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Container fields every service shares: image, admin port, probes on it,
     preStop sleep (no shell needed), security context. (dict "root" $ "svc"
     image name "prefix" env prefix) */}}
{{- define "op.containerCommon" -}}
{{- $v := .root.Values -}}
image: {{ include "op.image" (dict "root" .root "svc" .svc) }}
imagePullPolicy: {{ $v.image.pullPolicy }}
securityContext:
  {{- include "op.containerSecurityContext" .root | nindent 2 }}
livenessProbe:
  httpGet: {path: /healthz, port: admin}
  periodSeconds: 10
  timeoutSeconds: 2
  failureThreshold: 3
readinessProbe:
  httpGet: {path: /readyz, port: admin}
  periodSeconds: 5
  timeoutSeconds: 2
  failureThreshold: 2
startupProbe:
  httpGet: {path: /healthz, port: admin}
  periodSeconds: 2
  failureThreshold: 30
lifecycle:
  preStop:
    sleep:
      seconds: {{ $v.podDefaults.preStopSleepSeconds }}
{{- end -}}

{{/* Environment every service reads: log level and admin listener. */}}
{{- define "op.envCommon" -}}
- name: LOG_LEVEL
  value: {{ .root.Values.logLevel | quote }}
- name: {{ .prefix }}_ADMIN_BIND
  value: "0.0.0.0"
- name: {{ .prefix }}_ADMIN_PORT
  value: {{ .root.Values.adminPort | quote }}
{{- end -}}

{{/* Kafka client environment of one service principal; its password is a file. */}}
{{- define "op.envKafka" -}}
{{- $k := .root.Values.stores.kafka -}}
- name: KAFKA_BOOTSTRAP
  value: {{ include "op.kafkaBootstrap" .root | quote }}
- name: KAFKA_SECURITY_PROTOCOL
  value: {{ $k.securityProtocol | quote }}
- name: KAFKA_SASL_MECHANISM
  value: {{ $k.saslMechanism | quote }}
- name: KAFKA_USERNAME
  value: {{ get $k.users .user | quote }}
- name: KAFKA_PASSWORD_FILE
  value: /var/run/secrets/orders-pipeline/kafka-password
{{- if $k.caConfigMap }}
- name: KAFKA_CA_FILE
  value: /etc/orders-pipeline/kafka-ca/ca.crt
{{- end }}
{{- end -}}

{{/* Volumes every service has: its own Secret (read-only, 0400), /tmp. */}}
{{- define "op.volumes" -}}
- name: secrets
  secret:
    secretName: {{ include "op.secretName" (dict "root" .root "key" .key "c" .c) }}
    defaultMode: 0400
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- if and .kafka .root.Values.stores.kafka.caConfigMap }}
- name: kafka-ca
  configMap:
    name: {{ .root.Values.stores.kafka.caConfigMap }}
{{- end }}
{{- end -}}

{{- define "op.volumeMounts" -}}
- name: secrets
  mountPath: /var/run/secrets/orders-pipeline
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- if and .kafka .root.Values.stores.kafka.caConfigMap }}
- name: kafka-ca
  mountPath: /etc/orders-pipeline/kafka-ca
  readOnly: true
{{- end }}
{{- end -}}

{{/* NetworkPolicy peers -------------------------------------------------- */}}

{{/* op.storePeers (dict "root" $ "store" "kafka" "dev" "kafka"): the dev
     pod of this release, or the configured external peers. */}}
{{- define "op.storePeers" -}}
{{- $devOn := (get .root.Values.dev .dev).enabled -}}
{{- if $devOn -}}
- podSelector:
    matchLabels:
      {{- include "op.selectorLabels" (dict "root" .root "c" .dev) | nindent 6 }}
{{- else -}}
{{- $peers := (get .root.Values.stores .store).peers -}}
{{- if not $peers -}}
{{- fail (printf "stores.%s.peers must name the store for the NetworkPolicies (or enable dev.%s)" .store .dev) -}}
{{- end -}}
{{- toYaml $peers -}}
{{- end -}}
{{- end -}}

{{/* A pod of this release, as a NetworkPolicy peer. */}}
{{- define "op.podPeer" -}}
- podSelector:
    matchLabels:
      {{- include "op.selectorLabels" . | nindent 6 }}
{{- end -}}

{{/* Bootstrap Jobs --------------------------------------------------------- */}}

{{/* op.job (dict "root" $ "c" "migrate" "image" img "uid" 999 "script" text
     "env" list "extraVolumes" list "extraMounts" list "secretKey" key): a plain Job named
     per release revision (Job templates are immutable; a new revision runs
     it again, idempotently), retried until its store answers, bounded by
     activeDeadlineSeconds. Third-party tool images need a shell, ours don't. */}}
{{- define "op.job" -}}
{{- $v := .root.Values -}}
{{- $ctx := dict "root" .root "c" .c -}}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ printf "%s-r%d" (include "op.cname" $ctx) .root.Release.Revision | trunc 63 | trimSuffix "-" }}
  labels:
    {{- include "op.labels" $ctx | nindent 4 }}
  annotations:
    checkov.io/skip1: CKV_K8S_40=runs as the tool image's own non-root UID, which owns its files
spec:
  backoffLimit: 10
  activeDeadlineSeconds: {{ $v.bootstrap.activeDeadlineSeconds }}
  ttlSecondsAfterFinished: 3600
  template:
    metadata:
      labels:
        {{- include "op.labels" $ctx | nindent 8 }}
    spec:
      serviceAccountName: {{ include "op.cname" $ctx }}
      automountServiceAccountToken: false
      enableServiceLinks: false
      restartPolicy: OnFailure
      securityContext:
        runAsNonRoot: true
        runAsUser: {{ .uid }}
        runAsGroup: {{ .uid }}
        fsGroup: {{ .uid }}
        seccompProfile: {type: RuntimeDefault}
      containers:
        - name: {{ .c }}
          image: {{ .image }}
          imagePullPolicy: IfNotPresent
          securityContext:
            {{- include "op.containerSecurityContext" .root | nindent 12 }}
          command: ["/bin/bash", "-c"]
          args:
            - {{ .script | quote }}
          env:
            - {name: HOME, value: /tmp}
            {{- with .env }}{{ toYaml . | nindent 12 }}{{ end }}
          resources:
            {{- toYaml $v.bootstrap.resources | nindent 12 }}
          volumeMounts:
            - {name: secrets, mountPath: /var/run/secrets/orders-pipeline, readOnly: true}
            - {name: tmp, mountPath: /tmp}
            {{- with .extraMounts }}{{ toYaml . | nindent 12 }}{{ end }}
      volumes:
        - name: secrets
          secret:
            secretName: {{ include "op.secretName" (dict "root" .root "key" .secretKey "c" .c) }}
            defaultMode: 0400
        - name: tmp
          emptyDir: {sizeLimit: 64Mi}
        {{- with .extraVolumes }}{{ toYaml . | nindent 8 }}{{ end }}
{{- end -}}

{{/* Dev stores ----------------------------------------------------------- */}}

{{/* op.devStore (dict "root" $ "c" "redis" "uid" 999 "port" 6379 "script"
     text "env" list "data" path "probe" exec-command): a single-replica
     StatefulSet on emptyDir plus its Service, for kind only. */}}
{{- define "op.devStore" -}}
{{- $ctx := dict "root" .root "c" .c -}}
{{- $d := get .root.Values.dev .c -}}
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {{ include "op.cname" $ctx }}
  labels:
    {{- include "op.labels" $ctx | nindent 4 }}
  annotations:
    checkov.io/skip1: CKV_K8S_40=dev store runs as its image's own non-root UID, which owns its files
spec:
  replicas: 1
  serviceName: {{ include "op.cname" $ctx }}
  selector:
    matchLabels:
      {{- include "op.selectorLabels" $ctx | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "op.labels" $ctx | nindent 8 }}
    spec:
      serviceAccountName: {{ include "op.cname" $ctx }}
      automountServiceAccountToken: false
      enableServiceLinks: false
      securityContext:
        runAsNonRoot: true
        runAsUser: {{ .uid }}
        runAsGroup: {{ .uid }}
        fsGroup: {{ .uid }}
        seccompProfile: {type: RuntimeDefault}
      containers:
        - name: {{ .c }}
          image: {{ $d.image }}
          imagePullPolicy: IfNotPresent
          securityContext:
            {{- include "op.containerSecurityContext" .root | nindent 12 }}
          command: ["/bin/bash", "-c"]
          args:
            - {{ .script | quote }}
          env:
            - {name: HOME, value: /tmp}
            {{- with .env }}{{ toYaml . | nindent 12 }}{{ end }}
          ports:
            - {name: store, containerPort: {{ .port }}, protocol: TCP}
          readinessProbe:
            {{- if .probe }}
            exec:
              command: {{ toJson .probe }}
            {{- else }}
            tcpSocket: {port: store}
            {{- end }}
            periodSeconds: 5
            timeoutSeconds: 5
          livenessProbe:
            tcpSocket: {port: store}
            initialDelaySeconds: 60
            periodSeconds: 20
          resources:
            {{- toYaml $d.resources | nindent 12 }}
          volumeMounts:
            - {name: secrets, mountPath: /var/run/secrets/orders-pipeline, readOnly: true}
            - {name: tmp, mountPath: /tmp}
            - {name: data, mountPath: {{ .data }}}
            {{- with .extraMounts }}{{ toYaml . | nindent 12 }}{{ end }}
      volumes:
        - name: secrets
          secret:
            secretName: {{ include "op.cname" (dict "root" .root "c" (printf "dev-%s" .c)) }}
            defaultMode: 0400
        - name: tmp
          emptyDir: {sizeLimit: 256Mi}
        - name: data
          emptyDir: {sizeLimit: 2Gi}
        {{- with .extraVolumes }}{{ toYaml . | nindent 8 }}{{ end }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ include "op.cname" $ctx }}
  labels:
    {{- include "op.labels" $ctx | nindent 4 }}
spec:
  selector:
    {{- include "op.selectorLabels" $ctx | nindent 4 }}
  ports:
    - {name: store, port: {{ .port }}, targetPort: store, protocol: TCP}
{{- end -}}

{{/* Checks ----------------------------------------------------------------- */}}

{{/* op.durationMs "10s": milliseconds of a duration as the services parse it
     ("250ms", "5s", "2m", "1h"; a bare number is milliseconds). */}}
{{- define "op.durationMs" -}}
{{- $n := regexFind "^[0-9]+" . | int -}}
{{- $u := trimPrefix (regexFind "^[0-9]+" .) . -}}
{{- $mul := get (dict "" 1 "ms" 1 "s" 1000 "m" 60000 "h" 3600000) $u | int -}}
{{- mul $n $mul -}}
{{- end -}}

{{/* Graceful termination: the grace period must cover the preStop sleep plus
     the longest drain (every service drains up to 10 s by default; the
     publisher's is publisher.drainTimeout), or the kubelet kills a pod that
     is still draining. */}}
{{- define "op.checkGracePeriod" -}}
{{- $p := .Values.podDefaults -}}
{{- $drain := max 10000 (include "op.durationMs" .Values.publisher.drainTimeout | int) -}}
{{- $need := add (mul $p.preStopSleepSeconds 1000) $drain -}}
{{- if lt (mul $p.terminationGracePeriodSeconds 1000) $need -}}
{{- fail (printf "podDefaults.terminationGracePeriodSeconds=%d is shorter than preStopSleepSeconds (%d s) + the longest drain (%d ms): raise it to at least %d" (int $p.terminationGracePeriodSeconds) (int $p.preStopSleepSeconds) (int $drain) (int (div (add $need 999) 1000))) -}}
{{- end -}}
{{- end -}}
