package io.ferry.e2e.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.apply.findings.FindingsTopics;
import io.ferry.cli.FerryCli;
import io.ferry.localmesh.Await;
import io.ferry.localmesh.BrokerSecurity;
import io.ferry.localmesh.FreePorts;
import io.ferry.localmesh.JvmProcess;
import io.ferry.localmesh.LocalKafka;
import io.ferry.localmesh.LocalMesh;
import io.ferry.localmesh.TestServers;
import io.ferry.schemas.ReplicationPolicy;
import io.ferry.topology.CaptureSettings;
import io.ferry.topology.KafkaAccess;
import io.ferry.topology.conflicts.view.ConflictTableNames;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.BiPredicate;
import java.util.function.Predicate;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.config.TopicConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A mesh on a secured broker (SASL_SSL, SCRAM-SHA-512, the standard authorizer) where every agent and
 * the operator run as their own principal with exactly the ACLs {@link KafkaAccess} documents (the
 * README's {@code kafka-acls} commands), applied with {@code Admin.createAcls}; and agents missing one
 * grant stop with exit 6 naming it.
 */
class SecuredKafkaTest {

    private static final List<String> AGENT_JVM = List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1");
    private static LocalKafka kafka;
    /** Instance ids and users get it, so the tests sharing the broker never share topics or principals. */
    private final String suffix = UUID.randomUUID().toString().substring(0, 6);
    private final Map<String, String> passwords = new LinkedHashMap<>();
    private final List<JvmProcess> processes = new ArrayList<>();

    @BeforeAll
    static void startBroker() {
        kafka = LocalKafka.startSecured(LocalKafka.Mode.IN_PROCESS, TestServers.tempDir("kafka-secured"));
    }

    @AfterAll
    static void stopBroker() {
        if (kafka != null) {
            kafka.stop();
        }
    }

    @Test
    void aMeshReplicatesWithOnlyTheDocumentedAclsAlsoOnTopicsAnAdminCreated() throws Exception {
        String a = "sa-" + suffix;
        String b = "sb-" + suffix;
        Path dir = TestServers.tempDir("secured-mesh");
        try (LocalMesh mesh = mesh(dir, a, b, "capture: {heartbeatMillis: 200}"); Admin admin = Admin.create(kafka.adminProperties())) {
            // b's topics are made by an admin beforehand; b's agents get no Create (nor AlterConfigs) right
            int changesLimit = CaptureSettings.recordLimit(mesh.config().capture().maxRecordBytes());
            String findingsLimit = Integer.toString(FindingsTopics.recordLimit(changesLimit));
            admin.createTopics(List.of(
                    new NewTopic(ReplicationPolicy.changesTopic(b), Optional.of(1), Optional.empty())
                            .configs(Map.of(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Integer.toString(changesLimit))),
                    new NewTopic(ReplicationPolicy.offsetsTopic(b), Optional.of(1), Optional.empty())
                            .configs(Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT)),
                    new NewTopic(ReplicationPolicy.deadLetterTopic(b), Optional.of(1), Optional.empty())
                            .configs(Map.of(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, findingsLimit)),
                    new NewTopic(ReplicationPolicy.conflictsTopic(b), Optional.of(1), Optional.empty())
                            .configs(Map.of(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, findingsLimit)))).all().get(30, TimeUnit.SECONDS);
            grant(admin, "capture-" + a, KafkaAccess.grants(KafkaAccess.Role.CAPTURE, a, List.of(), 1), g -> true);
            grant(admin, "apply-" + a, KafkaAccess.grants(KafkaAccess.Role.APPLY, a, List.of(b), 1), g -> true);
            grant(admin, "capture-" + b, KafkaAccess.grants(KafkaAccess.Role.CAPTURE, b, List.of(), 1), g -> !g.optional());
            grant(admin, "apply-" + b, KafkaAccess.grants(KafkaAccess.Role.APPLY, b, List.of(a), 1), g -> !g.optional());
            grant(admin, "operator-" + suffix, KafkaAccess.grants(KafkaAccess.Role.OPERATOR, null, List.of(), 1), g -> true);

            String config = mesh.configFile().toString();
            for (String id : List.of(a, b)) {
                for (String role : List.of("capture", "apply")) {
                    processes.add(agent(dir, role, id, config));
                }
            }
            for (String id : List.of(a, b)) {
                awaitReady(dir, "capture", id, mesh.config().instance(id).captureHttpPort());
                awaitReady(dir, "apply", id, mesh.config().instance(id).applyHttpPort());
            }

            RedisClient client = RedisClient.create();
            try (StatefulRedisConnection<String, String> onA = client.connect(RedisURI.create("127.0.0.1", mesh.redis(a).port()));
                 StatefulRedisConnection<String, String> onB = client.connect(RedisURI.create("127.0.0.1", mesh.redis(b).port()))) {
                onA.sync().set("written-on-a", "over SASL_SSL");
                onA.sync().incrby("counter", 5);
                onB.sync().rpush("list-from-b", "x", "y");
                onB.sync().incrby("counter", 7);
                Await.equal(Duration.ofSeconds(60), "a's key on b", "over SASL_SSL", () -> onB.sync().get("written-on-a"));
                Await.equal(Duration.ofSeconds(60), "b's list on a", List.of("x", "y"), () -> onA.sync().lrange("list-from-b", 0, -1));
                Await.equal(Duration.ofSeconds(60), "the counter on a", "12", () -> onA.sync().get("counter"));
                Await.equal(Duration.ofSeconds(60), "the counter on b", "12", () -> onB.sync().get("counter"));
            } finally {
                client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
            }

            // the operator's principal reads what status and inspect show, and nothing more is needed
            String operator = BrokerSecurity.jaas("operator-" + suffix, passwords.get("operator-" + suffix));
            Run status = ferry(dir, "status", operator, "status", "--config", config);
            assertEquals(0, status.exitCode(), status.output());
            assertTrue(status.output().contains(ReplicationPolicy.changesTopic(a)), status.output());
            Run inspect = ferry(dir, "inspect", operator, "inspect", "--config", config, a + ":changes", "--from-beginning",
                    "--no-heartbeats", "--max", "50");
            assertEquals(0, inspect.exitCode(), inspect.output());
            assertTrue(inspect.output().contains("written-on-a"), inspect.output());
            // Kafka's console consumer with Ferry's formatter, in a group the operators' ACLs allow
            Path consumerConfig = dir.resolve("operator.properties");
            java.util.Properties operatorProps = new java.util.Properties();
            operatorProps.putAll(kafka.security().orElseThrow().clientProperties("operator-" + suffix, passwords.get("operator-" + suffix)));
            try (java.io.Writer out = Files.newBufferedWriter(consumerConfig)) {
                operatorProps.store(out, null);
            }
            Path consoleLog = dir.resolve("console-consumer.log");
            JvmProcess console = JvmProcess.start("console-consumer", consoleLog, org.apache.kafka.tools.consumer.ConsoleConsumer.class,
                    List.of("-Xmx256m"), "--bootstrap-server", kafka.bootstrap(), "--command-config", consumerConfig.toString(),
                    "--group", "ferry-ops-" + suffix, "--topic", ReplicationPolicy.changesTopic(a), "--from-beginning",
                    "--isolation-level", "read_committed", "--max-messages", "1", "--timeout-ms", "30000",
                    "--formatter", "io.ferry.cli.inspect.FerryMessageFormatter");
            assertEquals(0, console.waitFor(Duration.ofSeconds(60)), Files.readString(consoleLog));
            assertTrue(Files.readString(consoleLog).contains(ReplicationPolicy.changesTopic(a) + "-0@0 origin=" + a), Files.readString(consoleLog));

            // the mesh's conflict monitor as its own principal with exactly its grants, on a table topic an admin made
            String meshName = mesh.config().mesh();
            admin.createTopics(List.of(new NewTopic(ConflictTableNames.tableTopic(meshName), Optional.of(1), Optional.empty())
                    .configs(Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT)))).all().get(30, TimeUnit.SECONDS);
            String monitorUser = "monitor-" + suffix;
            grant(admin, monitorUser, KafkaAccess.grants(KafkaAccess.Role.MONITOR, meshName, List.of(a, b), 1), g -> !g.optional());
            int monitorPort = FreePorts.next();
            JvmProcess monitor = JvmProcess.start(monitorUser, dir.resolve(monitorUser + ".log"), FerryCli.class, AGENT_JVM,
                    Map.of(BrokerSecurity.JAAS_ENV, BrokerSecurity.jaas(monitorUser, passwords.get(monitorUser))),
                    "monitor", "--config", config, "--http-port", Integer.toString(monitorPort),
                    "--state-dir", dir.resolve("monitor-state").toString());
            processes.add(monitor);
            HttpClient http = HttpClient.newHttpClient();
            Await.until(Duration.ofSeconds(90), "the monitor ready (log " + dir.resolve(monitorUser + ".log") + ")", () -> {
                if (!monitor.isAlive()) {
                    throw new AssertionError("the monitor exited:\n" + monitor.logTail(40));
                }
                return status(http, monitorPort, "/readyz") == 200;
            });
            assertEquals(200, status(http, monitorPort, "/conflicts"), monitor.logTail(40));

            for (JvmProcess agent : processes) {
                assertEquals(0, agent.stop(), "SIGTERM stops " + agent.name() + " cleanly; log " + dir.resolve(agent.name() + ".log"));
            }
            for (JvmProcess agent : processes) {
                String log = Files.readString(dir.resolve(agent.name() + ".log"));
                assertFalse(log.contains(passwords.get(agent.name())), "no password in " + agent.name() + "'s log");
                assertFalse(log.contains("uthorization"), agent.name() + " was refused something:\n" + log);
            }
        } finally {
            JvmProcess.closeAll(processes);
        }
    }

    @Test
    void anAgentMissingAGrantExitsSixNamingTheAclToAdd() throws Exception {
        String c = "sc-" + suffix;
        String d = "sd-" + suffix;
        Path dir = TestServers.tempDir("secured-denied");
        try (LocalMesh mesh = mesh(dir, c, d, ""); Admin admin = Admin.create(kafka.adminProperties())) {
            String changesC = ReplicationPolicy.changesTopic(c);
            // the capture may describe its topic but not write to it
            grant(admin, "capture-" + c, KafkaAccess.grants(KafkaAccess.Role.CAPTURE, c, List.of(), 1),
                    (g, op) -> op != AclOperation.WRITE || !g.name().equals(changesC));
            // the apply agent may do everything but read its peer's changes
            grant(admin, "apply-" + d, KafkaAccess.grants(KafkaAccess.Role.APPLY, d, List.of(c), 1),
                    (g, op) -> !g.name().equals(changesC));
            String config = mesh.configFile().toString();
            JvmProcess capture = agent(dir, "capture", c, config);
            JvmProcess apply = agent(dir, "apply", d, config);
            processes.addAll(List.of(capture, apply));

            assertEquals(6, capture.waitFor(Duration.ofSeconds(60)), "capture without Write: exit 6; log " + dir.resolve(capture.name() + ".log"));
            String captureLog = Files.readString(dir.resolve(capture.name() + ".log"));
            assertTrue(captureLog.contains("--operation Write") && captureLog.contains("--topic " + changesC), captureLog);

            assertEquals(6, apply.waitFor(Duration.ofSeconds(60)), "apply without Read: exit 6; log " + dir.resolve(apply.name() + ".log"));
            String applyLog = Files.readString(dir.resolve(apply.name() + ".log"));
            assertTrue(applyLog.contains("--allow-principal User:apply-" + d + " --operation Read --operation Describe --topic " + changesC), applyLog);

            // an operator whose principal has none of the operators' ACLs: status exits 6 naming one to add
            String stranger = "operator-none-" + suffix;
            grant(admin, stranger, List.of(), g -> true);
            Run status = ferry(dir, "status-denied", BrokerSecurity.jaas(stranger, passwords.get(stranger)), "status", "--config", config);
            assertEquals(6, status.exitCode(), status.output());
            assertTrue(status.output().contains("kafka-acls.sh") && status.output().contains("--allow-principal User:" + stranger)
                    && (status.output().contains("--topic ferry. --resource-pattern-type prefixed")
                    || status.output().contains("--group ferry-apply- --resource-pattern-type prefixed")), status.output());
            assertFalse(status.output().contains(passwords.get(stranger)), status.output());
        } finally {
            JvmProcess.closeAll(processes);
        }
    }

    /** Two Redis servers and a mesh file for the secured broker (agents log in from their environment). */
    private static LocalMesh mesh(Path dir, String first, String second, String extraYaml) {
        return LocalMesh.start(dir, List.of(first, second), TestServers.redis70(), kafka, extraYaml);
    }

    private void grant(Admin admin, String user, List<KafkaAccess.Grant> grants, Predicate<KafkaAccess.Grant> which) throws Exception {
        grant(admin, user, grants, (grant, operation) -> which.test(grant));
    }

    /** Creates {@code user} and adds the bindings of the chosen grants' chosen operations. */
    private void grant(Admin admin, String user, List<KafkaAccess.Grant> grants, BiPredicate<KafkaAccess.Grant, AclOperation> which)
            throws Exception {
        String password = UUID.randomUUID().toString();
        passwords.put(user, password);
        kafka.addUser(user, password);
        List<AclBinding> bindings = new ArrayList<>();
        for (KafkaAccess.Grant grant : grants) {
            grant.bindings("User:" + user).stream().filter(binding -> which.test(grant, binding.entry().operation())).forEach(bindings::add);
        }
        admin.createAcls(bindings).all().get(30, TimeUnit.SECONDS);
    }

    private JvmProcess agent(Path dir, String role, String id, String config) {
        String user = role + "-" + id;
        return JvmProcess.start(user, dir.resolve(user + ".log"), FerryCli.class, AGENT_JVM,
                Map.of(BrokerSecurity.JAAS_ENV, BrokerSecurity.jaas(user, passwords.get(user))),
                role, "--config", config, "--instance", id);
    }

    private void awaitReady(Path dir, String role, String id, int port) {
        HttpClient http = HttpClient.newHttpClient();
        String name = role + "-" + id;
        Await.until(Duration.ofSeconds(90), name + " ready (log " + dir.resolve(name + ".log") + ")", () -> {
            JvmProcess process = processes.stream().filter(p -> p.name().equals(name)).findFirst().orElseThrow();
            try {
                if (!process.isAlive()) {
                    throw new AssertionError(name + " exited: " + Files.readString(dir.resolve(name + ".log")));
                }
                return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/readyz")).build(),
                        HttpResponse.BodyHandlers.ofString()).body().startsWith("ready");
            } catch (IOException e) {
                return false;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        });
    }

    private static int status(HttpClient http, int port, String path) {
        try {
            return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    record Run(int exitCode, String output) {
    }

    private static Run ferry(Path dir, String name, String jaas, String... args) {
        Path log = dir.resolve(name + ".log");
        JvmProcess process = JvmProcess.start(name, log, FerryCli.class, List.of("-Xmx256m", "-XX:TieredStopAtLevel=1"),
                Map.of(BrokerSecurity.JAAS_ENV, jaas), args);
        int code = process.waitFor(Duration.ofSeconds(60));
        try {
            return new Run(code, Files.readString(log));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
