package io.ferry.e2e.ops;

import static io.ferry.e2e.ops.OpsTools.at;
import static io.ferry.e2e.ops.OpsTools.list;
import static io.ferry.e2e.ops.OpsTools.map;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.topology.InstanceConfig;
import io.ferry.topology.MeshConfig;
import io.ferry.topology.MeshConfigLoader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The Helm chart (helm/ferry) as a specification: it lints, every object it renders for the value sets
 * in helm/ferry/ci is valid against the Kubernetes (and prometheus-operator) schemas, the rendered
 * objects do what the values ask, the mesh file it renders is one Ferry's own loader accepts, and bad
 * values are refused with a message that names the key.
 */
class HelmChartTest {

    private static final Map<String, List<Map<String, Object>>> RENDERED = new ConcurrentHashMap<>();

    static Stream<Path> ciValueSets() {
        try (Stream<Path> files = Files.list(OpsTools.chart().resolve("ci"))) {
            List<Path> sets = files.filter(f -> f.toString().endsWith(".yaml")).sorted().toList();
            assertTrue(sets.size() >= 3, "helm/ferry/ci holds the minimal, full and multi-instance value sets: " + sets);
            return sets.stream();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @ParameterizedTest
    @MethodSource("ciValueSets")
    void lintsCleanWithEveryCiValueSet(Path values) {
        OpsTools.helmRun(List.of("lint", "--strict", "helm/ferry", "-f", values.toString()), null).assertSuccess();
    }

    @ParameterizedTest
    @MethodSource("ciValueSets")
    void rendersOnlyObjectsValidAgainstKubernetesSchemas(Path values) {
        String manifests = OpsTools.helmRun(List.of("template", "ferry", "helm/ferry", "-f", values.toString()), null)
                .assertSuccess().stdout();
        OpsTools.Result check = OpsTools.run(
                List.of(OpsTools.node(), "helm/tests/validate-manifests.mjs", OpsTools.nodeTools().toString()),
                manifests, OpsTools.repo(), Map.of(), java.time.Duration.ofSeconds(60)).assertSuccess();
        int objects = OpsTools.yamlDocuments(manifests).size();
        assertTrue(check.stdout().contains(objects + " object(s), 0 invalid"), check.stdout());
    }

    @Test
    void runsOneCaptureWithRecreateAndTheRequestedApplyReplicasPerInstance() {
        List<Map<String, Object>> objects = render("full-values.yaml");
        for (String id : List.of("eu-1", "us-1")) {
            Map<String, Object> capture = deployment(objects, id, "capture");
            assertEquals(1, at(capture, "spec", "replicas"), id + " capture replicas");
            assertEquals("Recreate", at(capture, "spec", "strategy", "type"), id + " capture strategy");
        }
        assertEquals(3, at(deployment(objects, "eu-1", "apply"), "spec", "replicas"), "eu-1 overrides apply.replicas");
        assertEquals(2, at(deployment(objects, "us-1", "apply"), "spec", "replicas"), "us-1 takes apply.replicas");
        assertEquals(1, at(deployment(render("minimal-values.yaml"), "a", "apply"), "spec", "replicas"), "default apply.replicas");
    }

    @Test
    void agentsRunTheirRoleForTheirInstanceWithTheMeshFile() {
        Map<String, Object> container = container(deployment(render("full-values.yaml"), "us-1", "apply"));
        assertEquals("registry.example.com/ferry/ferry:0.1.0", container.get("image"));
        assertEquals(List.of("apply", "--config", "/etc/ferry/mesh.yaml", "--instance", "us-1", "--skip-checks"), container.get("args"));
        Map<String, Object> minimal = container(deployment(render("minimal-values.yaml"), "a", "capture"));
        assertEquals("ferry:0.1.0", minimal.get("image"), "tag defaults to the chart's appVersion");
        assertEquals(List.of("capture", "--config", "/etc/ferry/mesh.yaml", "--instance", "a"), minimal.get("args"));
    }

    @Test
    void anInstancesOwnCaptureArgumentsReachThatCaptureOnly() {
        List<Map<String, Object>> objects = render("multi-instance-values.yaml");
        assertEquals(List.of("capture", "--config", "/etc/ferry/mesh.yaml", "--instance", "ap-2",
                "--accept-wiped-source", "3f2a9c0d1e8b7a6f5c4d3e2f1a0b9c8d7e6f5a4b"), container(deployment(objects, "ap-2", "capture")).get("args"));
        assertEquals(List.of("apply", "--config", "/etc/ferry/mesh.yaml", "--instance", "ap-2"), container(deployment(objects, "ap-2", "apply")).get("args"));
        assertEquals(List.of("capture", "--config", "/etc/ferry/mesh.yaml", "--instance", "ap-1"), container(deployment(objects, "ap-1", "capture")).get("args"));
    }

    @Test
    void probesCheckHealthzAndReadyzOnEachAgentsMetricsPort() {
        List<Map<String, Object>> objects = render("full-values.yaml");
        Map<String, Integer> expectedPorts = Map.of("eu-1/capture", 9400, "eu-1/apply", 9401, "us-1/capture", 9500, "us-1/apply", 9501);
        expectedPorts.forEach((agent, port) -> {
            String[] parts = agent.split("/");
            Map<String, Object> container = container(deployment(objects, parts[0], parts[1]));
            Map<String, Object> metricsPort = map(list(container.get("ports")).get(0));
            assertEquals("metrics", metricsPort.get("name"), agent);
            assertEquals(port, metricsPort.get("containerPort"), agent + " port");
            assertEquals("/healthz", at(container, "livenessProbe", "httpGet", "path"), agent);
            assertEquals("metrics", at(container, "livenessProbe", "httpGet", "port"), agent);
            assertEquals("/readyz", at(container, "readinessProbe", "httpGet", "path"), agent);
            assertEquals("metrics", at(container, "readinessProbe", "httpGet", "port"), agent);
            assertEquals(parts[1].equals("capture") ? "1" : "250m", String.valueOf(at(container, "resources", "requests", "cpu")),
                    agent + " resources come from " + parts[1] + ".resources");
        });
    }

    @Test
    void eachAgentGetsOnlyItsOwnRedisPasswordFromItsSecret() {
        List<Map<String, Object>> objects = render("full-values.yaml");
        for (String role : List.of("capture", "apply")) {
            Map<String, Map<String, Object>> eu = env(container(deployment(objects, "eu-1", role)));
            assertEquals(Map.of("name", "redis-eu-1", "key", "password"),
                    at(eu.get("FERRY_INSTANCES_EU_1_REDIS_PASSWORD"), "valueFrom", "secretKeyRef"));
            assertNull(eu.get("FERRY_INSTANCES_US_1_REDIS_PASSWORD"), "eu-1 agents must not see us-1's password");
            Map<String, Map<String, Object>> us = env(container(deployment(objects, "us-1", role)));
            assertEquals(Map.of("name", "redis-us-1", "key", "redis-password"),
                    at(us.get("FERRY_INSTANCES_US_1_REDIS_PASSWORD"), "valueFrom", "secretKeyRef"));
            assertNull(us.get("FERRY_INSTANCES_EU_1_REDIS_PASSWORD"));
        }
        String meshFile = meshFile(objects);
        assertFalse(meshFile.contains("password:") || meshFile.contains("passwordFile") || meshFile.contains("redis-eu-1"),
                "no secret nor secret reference in the ConfigMap:\n" + meshFile);
    }

    @Test
    void aRolesOwnRedisUserAndPasswordReachOnlyThatRolesPods() {
        List<Map<String, Object>> objects = render("multi-instance-values.yaml");
        for (String role : List.of("capture", "apply")) {
            Map<String, Map<String, Object>> env = env(container(deployment(objects, "ap-2", role)));
            assertEquals(Map.of("name", "redis-ap-2-" + role, "key", "password"),
                    at(env.get("FERRY_INSTANCES_AP_2_REDIS_PASSWORD"), "valueFrom", "secretKeyRef"));
            assertEquals("ferry-" + role, env.get("FERRY_INSTANCES_AP_2_REDIS_USERNAME").get("value"));
            Map<String, Map<String, Object>> shared = env(container(deployment(objects, "ap-1", role)));
            assertNull(shared.get("FERRY_INSTANCES_AP_1_REDIS_USERNAME"), "no role user: the instance's own settings");
            assertEquals(Map.of("name", "redis-ap-1", "key", "password"),
                    at(shared.get("FERRY_INSTANCES_AP_1_REDIS_PASSWORD"), "valueFrom", "secretKeyRef"));
        }
    }

    @Test
    void kafkaTlsAndSaslBecomeClientPropertiesWithSecretsMountedNotWritten() {
        List<Map<String, Object>> objects = render("full-values.yaml");
        Map<String, Object> kafka = map(map(OpsTools.yaml(meshFile(objects))).get("kafka"));
        Map<String, Object> props = map(kafka.get("properties"));
        assertEquals("SASL_SSL", props.get("security.protocol"));
        assertEquals("SCRAM-SHA-512", props.get("sasl.mechanism"));
        assertTrue(props.get("sasl.jaas.config").toString().contains("username=\"${env:KAFKA_SASL_USERNAME}\" password=\"${env:KAFKA_SASL_PASSWORD}\""),
                props.get("sasl.jaas.config").toString());
        assertEquals("/etc/ferry-kafka/ca/ca.crt", props.get("ssl.truststore.location"));
        assertEquals("${dir:/etc/ferry-kafka/client:tls.key}", props.get("ssl.keystore.key"));
        assertEquals("use_all_dns_ips", props.get("client.dns.lookup"), "kafka.properties pass through");

        // each role of eu-1 logs in as its own principal (kafkaUsers); us-1 uses the shared kafka.sasl user
        Map<String, Object> capture = deployment(objects, "eu-1", "capture");
        Map<String, Object> container = container(capture);
        assertEquals("ferry-capture-eu-1", at(env(container).get("KAFKA_SASL_USERNAME"), "value"));
        assertEquals(Map.of("name", "kafka-ferry-capture-eu-1", "key", "password"),
                at(env(container).get("KAFKA_SASL_PASSWORD"), "valueFrom", "secretKeyRef"));
        Map<String, Object> applyEu = container(deployment(objects, "eu-1", "apply"));
        assertEquals("ferry-apply-eu-1", at(env(applyEu).get("KAFKA_SASL_USERNAME"), "value"));
        assertEquals(Map.of("name", "ferry-kafka-user", "key", "password"),
                at(env(applyEu).get("KAFKA_SASL_PASSWORD"), "valueFrom", "secretKeyRef"), "the shared password Secret by default");
        Map<String, Object> captureUs = container(deployment(objects, "us-1", "capture"));
        assertEquals("ferry", at(env(captureUs).get("KAFKA_SASL_USERNAME"), "value"));
        Map<String, String> mounts = list(container.get("volumeMounts")).stream().map(OpsTools::map)
                .collect(Collectors.toMap(m -> m.get("name").toString(), m -> m.get("mountPath").toString()));
        assertEquals("/etc/ferry-kafka/ca", mounts.get("kafka-ca"));
        assertEquals("/etc/ferry-kafka/client", mounts.get("kafka-client"));
        Map<String, Object> volumes = list(at(capture, "spec", "template", "spec", "volumes")).stream().map(OpsTools::map)
                .collect(Collectors.toMap(v -> v.get("name").toString(), v -> v));
        assertEquals("kafka-cluster-ca", at(volumes.get("kafka-ca"), "secret", "secretName"));
        assertEquals("ferry-kafka-client", at(volumes.get("kafka-client"), "secret", "secretName"));

        Map<String, Object> plain = map(map(OpsTools.yaml(meshFile(render("minimal-values.yaml")))).get("kafka"));
        assertNull(plain.get("properties"), "no TLS, no SASL: no client properties");
    }

    @ParameterizedTest
    @MethodSource("ciValueSets")
    void rendersAMeshFileThatFerrysOwnLoaderAccepts(Path values) {
        List<Map<String, Object>> objects = render(values.getFileName().toString());
        Map<String, Object> chartValues = map(OpsTools.yaml(OpsTools.read(values)));
        MeshConfig mesh = null;
        for (Map<String, Object> agent : deployments(objects)) {
            // The environment the agent gets, with each secret reference standing in for its value.
            Map<String, String> env = new HashMap<>();
            env(container(agent)).forEach((name, entry) -> env.put(name,
                    entry.containsKey("value") ? String.valueOf(entry.get("value")) : "secret:" + at(entry, "valueFrom", "secretKeyRef", "name")));
            mesh = MeshConfigLoader.parse(meshFile(objects), "helm template with " + values.getFileName(), env);
            String id = label(agent, "ferry.io/instance");
            InstanceConfig self = mesh.instance(id);
            // a role's own user (captureUser/applyUser) replaces the instance's user and password in that role's pods
            String role = label(agent, "app.kubernetes.io/component");
            boolean roleUser = at(chartValues, "instances", id, "redis", role + "User") != null;
            String secret = (String) (roleUser ? at(chartValues, "instances", id, "redis", role + "User", "passwordSecret", "name")
                    : at(chartValues, "instances", id, "redis", "passwordSecret", "name"));
            assertEquals(secret == null ? null : "secret:" + secret, self.redis().password(), id + "'s password reaches the loader");
            Object user = roleUser ? at(chartValues, "instances", id, "redis", role + "User", "username")
                    : at(chartValues, "instances", id, "redis", "username");
            assertEquals(user, self.redis().username(), id + "'s Redis user reaches the loader");
            int port = (Integer) at(list(container(agent).get("ports")).get(0), "containerPort");
            assertEquals(port, "capture".equals(label(agent, "app.kubernetes.io/component")) ? self.captureHttpPort() : self.applyHttpPort(),
                    "the pod's metrics port is the one the mesh file gives the agent");
        }
        assertEquals(chartValues.get("mesh"), mesh.mesh());
        assertEquals(list(chartValues.getOrDefault("conflicts", List.of())).size(), mesh.conflicts().rules().size(),
                "every conflicts entry of the values reaches the mesh file");
        assertEquals(new TreeSet<>(map(chartValues.get("instances")).keySet()), new TreeSet<>(mesh.instances().keySet()));
        assertEquals(at(chartValues, "kafka", "bootstrap"), mesh.instances().values().stream()
                .filter(i -> at(chartValues, "instances", i.id(), "kafka") == null).findFirst().orElseThrow().kafka().bootstrap());
        Object retention = at(chartValues, "kafka", "retentionHours");
        for (InstanceConfig instance : mesh.instances().values()) {
            Object own = at(chartValues, "instances", instance.id(), "kafka", "retentionHours");
            assertEquals(((Number) (own != null ? own : retention != null ? retention : 168)).longValue(), instance.kafka().retentionHours(),
                    instance.id() + "'s topic retention reaches the mesh file (the chart's default is 168 h)");
        }
    }

    @Test
    void instancesDeployedElsewhereHaveNoAgentsButStayInTheMeshFile() {
        List<Map<String, Object>> objects = render("multi-instance-values.yaml");
        Set<String> agents = deployments(objects).stream()
                .map(d -> label(d, "ferry.io/instance") + "/" + label(d, "app.kubernetes.io/component")).collect(Collectors.toCollection(TreeSet::new));
        assertEquals(new TreeSet<>(List.of("ap-1/apply", "ap-1/capture", "ap-2/apply", "ap-2/capture")), agents);
        assertEquals(4, at(deployment(objects, "ap-2", "apply"), "spec", "replicas"));
        Map<String, Object> instances = map(map(OpsTools.yaml(meshFile(objects))).get("instances"));
        assertEquals(Set.of("eu-1", "us-1", "ap-1", "ap-2"), instances.keySet());
        assertEquals("kafka-us.example.internal:9092", at(instances, "us-1", "kafka", "bootstrap"));
    }

    @Test
    void serviceMonitorAndPrometheusRuleAreRenderedOnlyWhenEnabled() {
        List<Map<String, Object>> minimal = render("minimal-values.yaml");
        assertTrue(ofKind(minimal, "ServiceMonitor").isEmpty());
        assertTrue(ofKind(minimal, "PrometheusRule").isEmpty());

        List<Map<String, Object>> full = render("full-values.yaml");
        Map<String, Object> monitor = single(full, "ServiceMonitor");
        assertEquals("kube-prometheus-stack", at(monitor, "metadata", "labels", "release"));
        Map<String, Object> endpoint = map(list(at(monitor, "spec", "endpoints")).get(0));
        assertEquals("metrics", endpoint.get("port"));
        assertEquals("15s", endpoint.get("interval"));
        assertEquals(true, endpoint.get("honorLabels"), "the agents' own instance label must win");
        Map<Object, Object> relabel = list(endpoint.get("relabelings")).stream().map(OpsTools::map)
                .collect(Collectors.toMap(r -> r.get("targetLabel"), r -> list(r.get("sourceLabels")).get(0)));
        assertEquals(Map.of("mesh", "__meta_kubernetes_pod_label_ferry_io_mesh",
                "role", "__meta_kubernetes_pod_label_app_kubernetes_io_component",
                "instance", "__meta_kubernetes_pod_label_ferry_io_instance"), relabel);

        Map<String, Object> service = single(full, "Service");
        assertEquals(at(monitor, "spec", "selector", "matchLabels"), map(at(service, "metadata", "labels")).entrySet().stream()
                .filter(e -> map(at(monitor, "spec", "selector", "matchLabels")).containsKey(e.getKey()))
                .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue)), "the ServiceMonitor selects the metrics Service");
        assertEquals("metrics", at(service, "spec", "ports", 0, "targetPort"), "each pod's own named metrics port");
        for (Map<String, Object> agent : deployments(full)) {
            Map<String, Object> podLabels = map(at(agent, "spec", "template", "metadata", "labels"));
            assertTrue(podLabels.entrySet().containsAll(map(at(service, "spec", "selector")).entrySet()), "the Service selects every agent");
            assertEquals("prod", podLabels.get("ferry.io/mesh"));
        }
        single(full, "PrometheusRule");
    }

    @Test
    void prometheusRuleIsTheRuleFileOfTheGrafanaFolder() {
        Map<String, Object> rule = single(render("full-values.yaml"), "PrometheusRule");
        Map<String, Object> file = map(OpsTools.yaml(OpsTools.read(OpsTools.grafana().resolve("alerts/ferry-rules.yaml"))));
        Map<String, Map<String, Object>> shipped = rulesByAlert(at(rule, "spec", "groups"));
        Map<String, Map<String, Object>> written = rulesByAlert(file.get("groups"));
        assertFalse(shipped.containsKey("FerryConflicts"), "disabledAlerts leaves FerryConflicts out");
        written.remove("FerryConflicts");
        assertEquals(written.keySet(), shipped.keySet());
        written.forEach((alert, expected) -> {
            Map<String, Object> actual = shipped.get(alert);
            assertEquals(expected.get("expr"), actual.get("expr"), alert);
            assertEquals(expected.get("for"), actual.get("for"), alert);
            assertEquals(expected.get("annotations"), actual.get("annotations"), alert);
            Map<String, Object> labels = new HashMap<>(map(expected.get("labels")));
            labels.put("team", "cache");
            assertEquals(labels, actual.get("labels"), alert + " gets alertLabels");
        });
    }

    @Test
    void dashboardConfigMapCarriesTheGrafanaFolderDashboardsForTheSidecar() throws IOException {
        Map<String, Object> configMap = ofKind(render("minimal-values.yaml"), "ConfigMap").stream()
                .filter(c -> at(c, "metadata", "labels", "grafana_dashboard") != null).findFirst().orElseThrow();
        assertEquals("1", at(configMap, "metadata", "labels", "grafana_dashboard"));
        Map<String, Object> data = map(configMap.get("data"));
        try (Stream<Path> files = Files.list(OpsTools.grafana().resolve("dashboards"))) {
            for (Path dashboard : files.filter(f -> f.toString().endsWith(".json")).toList()) {
                assertEquals(Files.readString(dashboard, StandardCharsets.UTF_8).strip(),
                        String.valueOf(data.get(dashboard.getFileName().toString())).strip(), dashboard + " shipped as it is");
            }
        }
        Map<String, Object> full = ofKind(render("full-values.yaml"), "ConfigMap").stream()
                .filter(c -> at(c, "metadata", "labels", "grafana_dashboard") != null).findFirst().orElseThrow();
        assertEquals("monitoring", at(full, "metadata", "namespace"));
        assertEquals("Databases", at(full, "metadata", "annotations", "grafana_folder"));
        assertTrue(ofKind(render("multi-instance-values.yaml"), "ConfigMap").stream()
                .noneMatch(c -> at(c, "metadata", "labels", "grafana_dashboard") != null), "grafana.dashboards.enabled=false");
    }

    @Test
    void chartReadsDashboardsAndRulesThroughSymlinksSoTheRepoHoldsOneCopy() throws IOException {
        for (String folder : List.of("dashboards", "alerts")) {
            Path link = OpsTools.chart().resolve("files").resolve(folder);
            assertTrue(Files.isSymbolicLink(link), link + " is a symlink");
            assertEquals(OpsTools.grafana().resolve(folder).toRealPath(), link.toRealPath());
        }
        try (Stream<Path> files = Files.walk(OpsTools.repo().resolve("helm"))) {
            List<Path> copies = files.filter(f -> !Files.isSymbolicLink(f.getParent()) && (f.toString().endsWith(".json") && !f.endsWith("values.schema.json")
                    || f.getFileName().toString().contains("rules"))).filter(f -> !f.startsWith(OpsTools.chart().resolve("files"))).toList();
            assertEquals(List.of(), copies, "no second copy of a dashboard or rule file under helm/");
        }
    }

    @Test
    void dockerfileBuildsTheImageThePodsExpect() {
        String dockerfile = OpsTools.read(OpsTools.repo().resolve("Dockerfile"));
        assertTrue(dockerfile.contains("\nFROM eclipse-temurin:17-jre\n"), "Java 17 runtime image");
        assertTrue(dockerfile.contains("cli/target/ferry.jar /opt/ferry/ferry.jar"), "copies the shaded ferry.jar");
        assertTrue(dockerfile.contains("ENTRYPOINT [\"java\", \"-XX:+ExitOnOutOfMemoryError\", \"-jar\", \"/opt/ferry/ferry.jar\"]"), "runs ferry; the chart passes the role as args");
        Object runAsUser = at(deployment(render("minimal-values.yaml"), "a", "capture"), "spec", "template", "spec", "securityContext", "runAsUser");
        assertTrue(dockerfile.contains("\nUSER " + runAsUser + ":"), "the image's user is the pods' runAsUser " + runAsUser);
    }

    static Stream<Arguments> badValues() {
        return Stream.of(
                Arguments.of("no instances", "instances: null", "missing property 'instances'"),
                Arguments.of("one instance", "mesh: dev\nkafka: {bootstrap: 'kafka:9092'}\ninstances: {a: {redis: {uri: 'redis://a:6379'}}}",
                        "at '/instances': minProperties: got 1, want 2"),
                Arguments.of("zero apply replicas", "apply: {replicas: 0}", "at '/apply/replicas': minimum: got 0, want 1"),
                Arguments.of("privileged port", "http: {capturePort: 80}", "at '/http/capturePort': minimum: got 80, want 1,024"),
                Arguments.of("port out of range", "instances: {a: {http: {applyPort: 70000}}}", "at '/instances/a/http/applyPort': maximum"),
                Arguments.of("password in the Redis URI", "instances: {a: {redis: {uri: 'redis://u:PLANTED-pw@redis-a:6379'}}}",
                        "instances.a.redis.uri: do not put a password in the URI (the value is not shown)"),
                Arguments.of("Redis URI that is not one", "instances: {a: {redis: {uri: 'http://u:PLANTED-pw@redis-a'}}}",
                        "instances.a.redis.uri: must be redis://host:port"),
                Arguments.of("instance id not a DNS label", "instances: {EU_1: {redis: {uri: 'redis://x:6379'}}}", "'EU_1' does not match pattern"),
                Arguments.of("misspelt key", "replicaCount: 2", "additional properties 'replicaCount' not allowed"),
                Arguments.of("no Kafka", "kafka: {bootstrap: ''}", "at '/kafka/bootstrap': minLength: got 0, want 1"),
                Arguments.of("topics that keep nothing", "kafka: {retentionHours: 0}", "at '/kafka/retentionHours': 'not' failed"),
                Arguments.of("SASL without credentials", "kafka: {sasl: {enabled: true}}", "at '/kafka/sasl/username': minLength: got 0, want 1"),
                Arguments.of("capture setting out of range", "capture: {settings: {heartbeatMillis: 5000}}",
                        "at '/capture/settings/heartbeatMillis': maximum: got 5,000, want 1,000"),
                Arguments.of("nothing deployed", "instances: {a: {deploy: false}, b: {deploy: false}}", "no instance is deployed by this release"),
                Arguments.of("secret in Kafka properties", "kafka: {properties: {ssl.truststore.password: changeit}}",
                        "kafka.properties.ssl.truststore.password: a secret must not be written in values"),
                Arguments.of("ServiceMonitor without Service", "metrics: {service: {enabled: false}, serviceMonitor: {enabled: true}}",
                        "metrics.serviceMonitor.enabled needs metrics.service.enabled"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badValues")
    void refusesBadValuesWithAMessageNamingTheKey(String what, String override, String message) throws IOException {
        Path file = Files.createTempFile("ferry-bad-values", ".yaml");
        try {
            Files.writeString(file, override + "\n");
            // a complete values file (it names the mesh) stands alone; others amend the minimal set
            List<String> files = override.startsWith("mesh:") ? List.of("-f", file.toString())
                    : List.of("-f", "helm/ferry/ci/minimal-values.yaml", "-f", file.toString());
            List<String> args = new ArrayList<>(List.of("template", "ferry", "helm/ferry"));
            args.addAll(files);
            OpsTools.Result result = OpsTools.helmRun(args, null);
            assertNotEquals(0, result.exitCode(), what + " must be refused:\n" + result.stdout());
            assertTrue(result.stderr().contains(message), what + ": expected the message to contain <" + message + ">, got:\n" + result.stderr());
            assertFalse((result.stdout() + result.stderr()).contains("PLANTED"), what + ": a secret in the values is printed:\n" + result.stderr());
        } finally {
            Files.delete(file);
        }
    }

    // ---- reading rendered objects --------------------------------------------------------------------

    private static List<Map<String, Object>> render(String ciValues) {
        return RENDERED.computeIfAbsent(ciValues, f -> OpsTools.yamlDocuments(OpsTools.helmRun(
                List.of("template", "ferry", "helm/ferry", "-f", "helm/ferry/ci/" + f), null).assertSuccess().stdout()));
    }

    private static List<Map<String, Object>> ofKind(List<Map<String, Object>> objects, String kind) {
        return objects.stream().filter(o -> kind.equals(o.get("kind"))).toList();
    }

    private static Map<String, Object> single(List<Map<String, Object>> objects, String kind) {
        List<Map<String, Object>> found = ofKind(objects, kind);
        assertEquals(1, found.size(), "one " + kind);
        return found.get(0);
    }

    private static List<Map<String, Object>> deployments(List<Map<String, Object>> objects) {
        return ofKind(objects, "Deployment");
    }

    private static Map<String, Object> deployment(List<Map<String, Object>> objects, String instance, String role) {
        return deployments(objects).stream()
                .filter(d -> instance.equals(label(d, "ferry.io/instance")) && role.equals(label(d, "app.kubernetes.io/component")))
                .findFirst().orElseThrow(() -> new AssertionError("no " + role + " Deployment for " + instance));
    }

    private static String label(Map<String, Object> object, String name) {
        return (String) at(object, "metadata", "labels", name);
    }

    private static Map<String, Object> container(Map<String, Object> deployment) {
        List<Object> containers = list(at(deployment, "spec", "template", "spec", "containers"));
        assertEquals(1, containers.size());
        return map(containers.get(0));
    }

    private static Map<String, Map<String, Object>> env(Map<String, Object> container) {
        Map<String, Map<String, Object>> env = new HashMap<>();
        for (Object entry : list(container.get("env"))) {
            env.put((String) map(entry).get("name"), map(entry));
        }
        return env;
    }

    private static String meshFile(List<Map<String, Object>> objects) {
        return ofKind(objects, "ConfigMap").stream().map(c -> map(c.get("data")).get("mesh.yaml")).filter(s -> s != null)
                .map(String::valueOf).findFirst().orElseThrow(() -> new AssertionError("no ConfigMap with mesh.yaml"));
    }

    private static Map<String, Map<String, Object>> rulesByAlert(Object groups) {
        Map<String, Map<String, Object>> rules = new HashMap<>();
        List<String> names = new ArrayList<>();
        for (Object group : list(groups)) {
            for (Object rule : list(map(group).get("rules"))) {
                String alert = (String) map(rule).get("alert");
                names.add(alert);
                rules.put(alert, map(rule));
            }
        }
        assertEquals(names.size(), rules.size(), "alert names are unique: " + names);
        return rules;
    }
}
