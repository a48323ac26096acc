{{/* Names, labels and the pieces shared by the capture and apply Deployments. */}}

{{- define "ferry.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "ferry.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "ferry.labels" -}}
{{ include "ferry.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: ferry
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
ferry.io/mesh: {{ .Values.mesh | quote }}
{{- end -}}

{{- define "ferry.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{/* Environment variable that overrides an instance's Redis password in the mesh file
     (MeshConfigLoader: FERRY_ + path upper-cased, '.' and '-' as '_'). */}}
{{- define "ferry.redisPasswordEnv" -}}
{{- printf "FERRY_INSTANCES_%s_REDIS_PASSWORD" (. | upper | replace "-" "_") -}}
{{- end -}}

{{/* Instances this release runs agents for. */}}
{{- define "ferry.deployedIds" -}}
{{- $ids := list -}}
{{- range $id, $inst := .Values.instances -}}
{{- if ne $inst.deploy false }}{{ $ids = append $ids $id }}{{ end -}}
{{- end -}}
{{- toJson $ids -}}
{{- end -}}

{{/* Kafka client properties computed from kafka.tls and kafka.sasl, then kafka.properties on top.
     Secrets never appear here: the SASL password is an environment variable read through Kafka's
     EnvVarConfigProvider, the client key a mounted file read through its DirectoryConfigProvider. */}}
{{- define "ferry.kafkaProperties" -}}
{{- $k := .Values.kafka -}}
{{- $props := dict -}}
{{- $providers := list -}}
{{- $tls := and $k.tls $k.tls.enabled -}}
{{- $sasl := and $k.sasl $k.sasl.enabled -}}
{{- if and $tls $sasl }}{{ $_ := set $props "security.protocol" "SASL_SSL" }}
{{- else if $tls }}{{ $_ := set $props "security.protocol" "SSL" }}
{{- else if $sasl }}{{ $_ := set $props "security.protocol" "SASL_PLAINTEXT" }}
{{- end -}}
{{- if $tls -}}
{{- if $k.tls.caSecret.name -}}
{{- $_ := set $props "ssl.truststore.type" "PEM" -}}
{{- $_ := set $props "ssl.truststore.location" (printf "/etc/ferry-kafka/ca/%s" $k.tls.caSecret.key) -}}
{{- end -}}
{{- if $k.tls.clientCertSecret -}}
{{- $providers = append $providers "dir" -}}
{{- $_ := set $props "ssl.keystore.type" "PEM" -}}
{{- $_ := set $props "ssl.keystore.certificate.chain" "${dir:/etc/ferry-kafka/client:tls.crt}" -}}
{{- $_ := set $props "ssl.keystore.key" "${dir:/etc/ferry-kafka/client:tls.key}" -}}
{{- end -}}
{{- end -}}
{{- if $sasl -}}
{{- $providers = append $providers "env" -}}
{{- $module := ternary "org.apache.kafka.common.security.plain.PlainLoginModule" "org.apache.kafka.common.security.scram.ScramLoginModule" (eq $k.sasl.mechanism "PLAIN") -}}
{{- $_ := set $props "sasl.mechanism" $k.sasl.mechanism -}}
{{- /* the user too comes from the pod: each role of each instance may log in as its own principal (kafkaUsers) */ -}}
{{- $_ := set $props "sasl.jaas.config" (printf "%s required username=\"${env:KAFKA_SASL_USERNAME}\" password=\"${env:KAFKA_SASL_PASSWORD}\";" $module) -}}
{{- end -}}
{{- range $name, $value := $k.properties -}}
{{- if contains "${env:" (toString $value) }}{{ $providers = append $providers "env" }}{{ end -}}
{{- if contains "${dir:" (toString $value) }}{{ $providers = append $providers "dir" }}{{ end -}}
{{- end -}}
{{- $providers = $providers | uniq | sortAlpha -}}
{{- if $providers -}}
{{- $_ := set $props "config.providers" (join "," $providers) -}}
{{- if has "dir" $providers }}{{ $_ := set $props "config.providers.dir.class" "org.apache.kafka.common.config.provider.DirectoryConfigProvider" }}{{ end -}}
{{- if has "env" $providers }}{{ $_ := set $props "config.providers.env.class" "org.apache.kafka.common.config.provider.EnvVarConfigProvider" }}{{ end -}}
{{- end -}}
{{- include "ferry.noSecretProperties" (list "kafka.properties" $k.properties) -}}
{{- range $name, $value := $k.properties }}{{ $_ := set $props $name (toString $value) }}{{ end -}}
{{- toJson $props -}}
{{- end -}}

{{/* Fails on a Kafka property that looks like a secret written out in values (it would land in the
     ConfigMap); a ${provider:...} reference is fine. Called with (list <path> <properties>). */}}
{{- define "ferry.noSecretProperties" -}}
{{- $path := index . 0 -}}
{{- range $name, $value := index . 1 -}}
{{- if and (regexMatch "(?i)password|secret|jaas|\\.key$" $name) (not (contains "${" (toString $value))) -}}
{{- fail (printf "%s.%s: a secret must not be written in values (it would land in the ConfigMap); keep it in a Secret and refer to it: kafka.sasl.passwordSecret, kafka.tls.clientCertSecret, or extraEnv with valueFrom.secretKeyRef plus ${env:NAME} as the property's value" $path $name) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The mesh file every agent reads, as a dict. */}}
{{- define "ferry.meshConfig" -}}
{{- $root := . -}}
{{- $props := include "ferry.kafkaProperties" . | fromJson -}}
{{- $kafka := dict "bootstrap" .Values.kafka.bootstrap -}}
{{- if $props }}{{ $_ := set $kafka "properties" $props }}{{ end -}}
{{- with .Values.kafka.retentionHours }}{{ $_ := set $kafka "retentionHours" . }}{{ end -}}
{{- $instances := dict -}}
{{- range $id, $inst := .Values.instances -}}
{{- /* Checked here rather than by a schema pattern: Helm's schema errors print the value, password included. */ -}}
{{- if regexMatch "^rediss?://[^@/]*:[^@/]*@" $inst.redis.uri -}}
{{- fail (printf "instances.%s.redis.uri: do not put a password in the URI (the value is not shown); keep it in a Secret: instances.%s.redis.passwordSecret" $id $id) -}}
{{- else if not (regexMatch "^rediss?://([^:@/]+@)?[^:@/]+(:[0-9]+)?/?$" $inst.redis.uri) -}}
{{- fail (printf "instances.%s.redis.uri: must be redis://host:port or rediss://host:port for TLS (the value is not shown: it may hold a secret)" $id) -}}
{{- end -}}
{{- $redis := dict "uri" $inst.redis.uri -}}
{{- with $inst.redis.username }}{{ $_ := set $redis "username" . }}{{ end -}}
{{- if $inst.redis.cluster }}{{ $_ := set $redis "cluster" true }}{{ end -}}
{{- $http := $inst.http | default dict -}}
{{- $entry := dict "redis" $redis "http" (dict "capturePort" ($http.capturePort | default $root.Values.http.capturePort) "applyPort" ($http.applyPort | default $root.Values.http.applyPort)) -}}
{{- with $inst.kafka -}}
{{- $own := dict "bootstrap" .bootstrap -}}
{{- $ownProps := merge (dict) ($props | deepCopy) -}}
{{- include "ferry.noSecretProperties" (list (printf "instances.%s.kafka.properties" $id) .properties) -}}
{{- range $name, $value := .properties }}{{ $_ := set $ownProps $name (toString $value) }}{{ end -}}
{{- if $ownProps }}{{ $_ := set $own "properties" $ownProps }}{{ end -}}
{{- with .retentionHours }}{{ $_ := set $own "retentionHours" . }}{{ end -}}
{{- $_ := set $entry "kafka" $own -}}
{{- end -}}
{{- $_ := set $instances $id $entry -}}
{{- end -}}
{{- $config := dict "mesh" .Values.mesh "kafka" $kafka "instances" $instances -}}
{{- with .Values.capture.settings }}{{ $_ := set $config "capture" . }}{{ end -}}
{{- with .Values.apply.settings }}{{ $_ := set $config "apply" . }}{{ end -}}
{{- with .Values.conflicts }}{{ $_ := set $config "conflicts" . }}{{ end -}}
{{- toYaml $config -}}
{{- end -}}

{{/*
One agent Deployment. Called with (dict "root" $ "id" <instance id> "instance" <its values> "role" "capture"|"apply").
*/}}
{{- define "ferry.deployment" -}}
{{- $root := .root -}}
{{- $values := $root.Values -}}
{{- $id := .id -}}
{{- $inst := .instance -}}
{{- $role := .role -}}
{{- $roleValues := index $values $role -}}
{{- $own := index $inst $role | default dict -}}
{{- $http := $inst.http | default dict -}}
{{- $port := ternary ($http.capturePort | default $values.http.capturePort) ($http.applyPort | default $values.http.applyPort) (eq $role "capture") -}}
{{- $name := printf "%s-%s-%s" (include "ferry.fullname" $root) $id $role | trunc 63 | trimSuffix "-" -}}
{{- $k := $values.kafka -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $name }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "ferry.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ $role }}
    ferry.io/instance: {{ $id }}
spec:
  {{- if eq $role "capture" }}
  # Exactly one capture per instance, and never two at once: it is a Redis replica that writes Kafka
  # transactions under fixed transactional ids; a second one would fence the first.
  replicas: 1
  strategy:
    type: Recreate
  {{- else }}
  replicas: {{ $own.replicas | default $roleValues.replicas }}
  {{- end }}
  revisionHistoryLimit: 3
  selector:
    matchLabels:
      {{- include "ferry.selectorLabels" $root | nindent 6 }}
      app.kubernetes.io/component: {{ $role }}
      ferry.io/instance: {{ $id }}
  template:
    metadata:
      labels:
        {{- include "ferry.labels" $root | nindent 8 }}
        app.kubernetes.io/component: {{ $role }}
        ferry.io/instance: {{ $id }}
        {{- with $values.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        checksum/config: {{ include "ferry.meshConfig" $root | sha256sum }}
        {{- with $values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      automountServiceAccountToken: false
      terminationGracePeriodSeconds: {{ $values.terminationGracePeriodSeconds }}
      {{- with $values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $values.podSecurityContext }}
      securityContext:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ $role }}
          image: {{ include "ferry.image" $root | quote }}
          imagePullPolicy: {{ $values.image.pullPolicy }}
          args:
            - {{ $role }}
            - --config
            - /etc/ferry/mesh.yaml
            - --instance
            - {{ $id | quote }}
            {{- range $values.extraArgs }}
            - {{ . | quote }}
            {{- end }}
            {{- range $own.extraArgs }}
            - {{ . | quote }}
            {{- end }}
          env:
            - name: JAVA_TOOL_OPTIONS
              value: {{ $values.jvmOptions | quote }}
            {{- $roleUser := get $inst.redis (printf "%sUser" $role) }}
            {{- with ($roleUser | default $inst.redis).passwordSecret }}
            {{- if .name }}
            - name: {{ include "ferry.redisPasswordEnv" $id }}
              valueFrom:
                secretKeyRef:
                  name: {{ .name }}
                  key: {{ .key }}
            {{- end }}
            {{- end }}
            {{- with $roleUser }}
            - name: {{ include "ferry.redisPasswordEnv" $id | replace "_PASSWORD" "_USERNAME" }}
              value: {{ .username | quote }}
            {{- end }}
            {{- if and $k.sasl $k.sasl.enabled }}
            {{- $kafkaUser := get ($inst.kafkaUsers | default dict) $role | default $k.sasl }}
            - name: KAFKA_SASL_USERNAME
              value: {{ $kafkaUser.username | quote }}
            {{- with $kafkaUser.passwordSecret | default $k.sasl.passwordSecret }}
            - name: KAFKA_SASL_PASSWORD
              valueFrom:
                secretKeyRef:
                  name: {{ .name }}
                  key: {{ .key }}
            {{- end }}
            {{- end }}
            {{- with $values.extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          ports:
            - name: metrics
              containerPort: {{ $port }}
              protocol: TCP
          livenessProbe:
            httpGet:
              path: /healthz
              port: metrics
            {{- toYaml $values.probes.liveness | nindent 12 }}
          readinessProbe:
            httpGet:
              path: /readyz
              port: metrics
            {{- toYaml $values.probes.readiness | nindent 12 }}
          resources:
            {{- toYaml ($own.resources | default $roleValues.resources) | nindent 12 }}
          {{- with $values.securityContext }}
          securityContext:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          volumeMounts:
            - name: config
              mountPath: /etc/ferry
              readOnly: true
            - name: tmp
              mountPath: /tmp
            {{- if and $k.tls $k.tls.enabled }}
            {{- if $k.tls.caSecret.name }}
            - name: kafka-ca
              mountPath: /etc/ferry-kafka/ca
              readOnly: true
            {{- end }}
            {{- if $k.tls.clientCertSecret }}
            - name: kafka-client
              mountPath: /etc/ferry-kafka/client
              readOnly: true
            {{- end }}
            {{- end }}
            {{- with $values.extraVolumeMounts }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
      volumes:
        - name: config
          configMap:
            name: {{ include "ferry.fullname" $root }}-mesh
        - name: tmp
          emptyDir: {}
        {{- if and $k.tls $k.tls.enabled }}
        {{- if $k.tls.caSecret.name }}
        - name: kafka-ca
          secret:
            secretName: {{ $k.tls.caSecret.name }}
            items:
              - key: {{ $k.tls.caSecret.key }}
                path: {{ $k.tls.caSecret.key }}
        {{- end }}
        {{- if $k.tls.clientCertSecret }}
        - name: kafka-client
          secret:
            secretName: {{ $k.tls.clientCertSecret }}
            items:
              - {key: tls.crt, path: tls.crt}
              - {key: tls.key, path: tls.key}
        {{- end }}
        {{- end }}
        {{- with $values.extraVolumes }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- with $values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $values.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end -}}
