package io.ferry.e2e.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.cli.FerryCli;
import io.ferry.localmesh.Await;
import io.ferry.localmesh.JvmProcess;
import io.ferry.localmesh.LocalMesh;
import io.ferry.localmesh.TestServers;
import io.ferry.topology.InstanceConfig;
import io.ferry.topology.RedisAccess;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.output.StatusOutput;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue 12, item 2: the agents run with exactly the README's least-privilege Redis users, and a user
 * lacking one permission stops the agent at start with exit code 6 naming it.
 */
class RedisUsersTest {

    private static final List<String> JVM = List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1");
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    @Test
    void theReadmesAndTheChartsUserLinesAreTheOnesTheStartUpCheckAsksFor() throws IOException {
        for (String readme : List.of("README.md", "helm/README.md")) {
            assertEquals("ACL SETUSER ferry-capture on >CAPTURE_PASSWORD " + RedisAccess.Role.CAPTURE.aclRules(),
                    readmeLine(readme, "ferry-capture"), readme);
            assertEquals("ACL SETUSER ferry-apply on >APPLY_PASSWORD " + RedisAccess.Role.APPLY.aclRules(),
                    readmeLine(readme, "ferry-apply"), readme);
            List<String> lines = Files.readAllLines(root().resolve(readme));
            for (String clusterLine : List.of("ACL SETUSER ferry-capture " + RedisAccess.Role.CAPTURE.clusterRules(),
                    "ACL SETUSER ferry-apply " + RedisAccess.Role.APPLY.clusterRules())) {
                assertTrue(lines.contains(clusterLine), readme + " lacks the line for a cluster's nodes: " + clusterLine);
            }
        }
    }

    @ParameterizedTest(name = "Redis {0}")
    @ValueSource(strings = {"7.0", "6.2"})
    void aMeshRunsWithExactlyTheReadmesCaptureAndApplyUsers(String version) throws Exception {
        String suffix = UUID.randomUUID().toString().substring(0, 6);
        List<String> ids = List.of("a-" + suffix, "b-" + suffix);
        Path dir = TestServers.tempDir("redis-users");
        List<JvmProcess> agents = new ArrayList<>();
        boolean redis62 = version.equals("6.2");
        try (LocalMesh mesh = LocalMesh.start(dir, ids, redis62 ? TestServers.redis62() : TestServers.redis70(), TestServers.kafka(),
                "capture: {heartbeatMillis: 200}\n")) {
            for (String id : ids) {
                try (Admin admin = new Admin(mesh.redis(id).uri())) {
                    admin.commands.set("before-" + id, "snapshot"); // goes through the first start's snapshot (RESTORE)
                    admin.commands.configSet("notify-keyspace-events", "Ee");
                    // 6.2 has no PEXPIRETIME: its line leaves that out (README)
                    admin.run(redis62 ? userLine("ferry-capture", "capture-pw", " +pexpiretime") : userLine("ferry-capture", "capture-pw"));
                    admin.run(userLine("ferry-apply", "apply-pw"));
                }
            }
            Path captureYaml = withUser(mesh, dir, "ferry-capture", "capture-pw");
            Path applyYaml = withUser(mesh, dir, "ferry-apply", "apply-pw");
            for (String id : ids) {
                agents.add(agent(dir, "capture", id, captureYaml));
                agents.add(agent(dir, "apply", id, applyYaml));
            }
            for (String id : ids) {
                InstanceConfig instance = mesh.config().instance(id);
                awaitReady(instance.captureHttpPort(), "capture " + id, dir);
                awaitReady(instance.applyHttpPort(), "apply " + id, dir);
            }
            try (Admin a = new Admin(mesh.redis(ids.get(0)).uri()); Admin b = new Admin(mesh.redis(ids.get(1)).uri())) {
                a.commands.set("from-a", "1");
                a.commands.setex("ttl-from-a", 600, "x");
                b.commands.rpush("from-b", "x", "y");
                b.commands.incr("counter");
                Duration wait = Duration.ofSeconds(60);
                Await.equal(wait, "snapshot of a on b", "snapshot", () -> b.commands.get("before-" + ids.get(0)));
                Await.equal(wait, "snapshot of b on a", "snapshot", () -> a.commands.get("before-" + ids.get(1)));
                Await.equal(wait, "a's write on b", "1", () -> b.commands.get("from-a"));
                Await.equal(wait, "b's list on a", List.of("x", "y"), () -> a.commands.lrange("from-b", 0, -1));
                Await.equal(wait, "b's counter on a", "1", () -> a.commands.get("counter"));
                Await.until(wait, "TTL carried", () -> b.commands.ttl("ttl-from-a") > 0);
            }
            for (JvmProcess agent : agents) {
                assertTrue(agent.isAlive(), agent.name() + " still running");
            }
        } finally {
            JvmProcess.closeAll(agents);
        }
    }

    @Test
    void aCaptureUserWithoutPsyncAndAnApplyUserWithoutClientKillStopAtStartNamingThem() throws Exception {
        String id = "c-" + UUID.randomUUID().toString().substring(0, 6);
        try (LocalMesh mesh = twoServers(id, TestServers.redis70())) {
            createUsers(mesh, id, userLine("ferry-capture", "capture-pw", " +psync"), userLine("ferry-apply", "apply-pw", " +client|kill"));
            Path dir = mesh.dir();
            JvmProcess capture = agent(dir, "capture", id, withUser(mesh, dir, "ferry-capture", "capture-pw"));
            JvmProcess apply = agent(dir, "apply", id, withUser(mesh, dir, "ferry-apply", "apply-pw"));
            assertEquals(6, capture.waitFor(Duration.ofSeconds(60)), log(dir, "capture", id));
            assertEquals(6, apply.waitFor(Duration.ofSeconds(60)), log(dir, "apply", id));
            assertTrue(log(dir, "capture", id).contains("may not run what the capture agent needs: psync."), log(dir, "capture", id));
            assertTrue(log(dir, "apply", id).contains("may not run what the apply agent needs: client|kill."), log(dir, "apply", id));
            assertTrue(!log(dir, "capture", id).contains("capture-pw") && !log(dir, "apply", id).contains("apply-pw"), "no password in the output");
        }
    }

    @Test
    void aClusterMeshRunsWithExactlyTheReadmesUsersOnEveryNode() throws Exception {
        String suffix = UUID.randomUUID().toString().substring(0, 6);
        String source = "a-" + suffix;
        String target = "b-" + suffix;
        List<JvmProcess> agents = new ArrayList<>();
        // report: this test is about permissions; conflict repairs on a cluster are ClusterTargetRepairsTest's
        try (LocalMesh mesh = LocalMesh.startClusters(TestServers.tempDir("redis-users-cluster"), List.of(source, target),
                TestServers.redis70(), TestServers.kafka(), "conflicts: [{match: \"*\", policy: report}]\n", 3)) {
            for (String id : List.of(source, target)) {
                for (int node = 0; node < 3; node++) {
                    try (Admin admin = new Admin(mesh.cluster(id).node(node).uri())) {
                        admin.run(userLine("ferry-capture", "capture-pw"));
                        admin.run("ACL SETUSER ferry-capture " + RedisAccess.Role.CAPTURE.clusterRules());
                        admin.run(userLine("ferry-apply", "apply-pw"));
                        admin.run("ACL SETUSER ferry-apply " + RedisAccess.Role.APPLY.clusterRules());
                    }
                }
            }
            Path dir = mesh.dir();
            agents.add(agent(dir, "capture", source, withUser(mesh, dir, "ferry-capture", "capture-pw")));
            agents.add(agent(dir, "apply", target, withUser(mesh, dir, "ferry-apply", "apply-pw")));
            awaitReady(mesh.config().instance(source).captureHttpPort(), "capture " + source, dir);
            awaitReady(mesh.config().instance(target).applyHttpPort(), "apply " + target, dir);
            try (io.lettuce.core.cluster.RedisClusterClient writer = io.lettuce.core.cluster.RedisClusterClient.create(
                    mesh.cluster(source).node(0).uri());
                 io.lettuce.core.cluster.RedisClusterClient reader = io.lettuce.core.cluster.RedisClusterClient.create(
                    mesh.cluster(target).node(0).uri());
                 var in = writer.connect(); var out = reader.connect()) {
                for (int i = 0; i < 30; i++) { // keys on every shard
                    in.sync().set("user-" + i, "v" + i);
                    in.sync().incr("count-" + (i % 3));
                }
                Duration wait = Duration.ofSeconds(60);
                for (int i = 0; i < 30; i++) {
                    int n = i;
                    Await.equal(wait, "user-" + i + " on the target", "v" + i, () -> out.sync().get("user-" + n));
                }
                for (int c = 0; c < 3; c++) {
                    int n = c;
                    Await.equal(wait, "count-" + c + " on the target", "10", () -> out.sync().get("count-" + n));
                }
            }
            for (JvmProcess agent : agents) {
                assertTrue(agent.isAlive(), agent.name() + " still running:\n" + log(dir, agent.name().startsWith("capture") ? "capture" : "apply",
                        agent.name().startsWith("capture") ? source : target));
            }
        } finally {
            JvmProcess.closeAll(agents);
        }
    }

    @Test
    void onAClusterEveryMasterIsAskedAndOneWhoseUserLacksPsyncStopsTheCaptureNamingIt() throws Exception {
        String id = "e-" + UUID.randomUUID().toString().substring(0, 6);
        try (LocalMesh mesh = LocalMesh.startClusters(TestServers.tempDir("redis-users-" + id), List.of(id, "other-" + id),
                TestServers.redis70(), TestServers.kafka(), "", 3)) {
            // ACL rules are each node's own: the seed node grants everything, the third master lacks psync
            for (int node = 0; node < 3; node++) {
                String line = node == 2 ? userLine("ferry-capture", "capture-pw", " +psync") : userLine("ferry-capture", "capture-pw");
                try (Admin admin = new Admin(mesh.cluster(id).node(node).uri())) {
                    admin.run(line);
                    admin.run("ACL SETUSER ferry-capture " + RedisAccess.Role.CAPTURE.clusterRules());
                }
            }
            Path dir = mesh.dir();
            JvmProcess capture = agent(dir, "capture", id, withUser(mesh, dir, "ferry-capture", "capture-pw"));
            assertEquals(6, capture.waitFor(Duration.ofSeconds(60)), () -> log(dir, "capture", id));
            String log = log(dir, "capture", id);
            String third = "127.0.0.1:" + mesh.cluster(id).node(2).port();
            assertTrue(log.contains("may not run what the capture agent needs: psync.") && log.contains(third + " lacks psync"), log);
            assertTrue(!log.contains("capture-pw"), "no password in the output");
            // with exactly the README's lines on every node, the capture of every shard runs
            try (Admin admin = new Admin(mesh.cluster(id).node(2).uri())) {
                admin.run(userLine("ferry-capture", "capture-pw"));
                admin.run("ACL SETUSER ferry-capture " + RedisAccess.Role.CAPTURE.clusterRules());
            }
            Files.move(dir.resolve("capture-" + id + ".log"), dir.resolve("capture-" + id + "-refused.log"));
            JvmProcess granted = agent(dir, "capture", id, withUser(mesh, dir, "ferry-capture", "capture-pw"));
            try {
                awaitReady(mesh.config().instance(id).captureHttpPort(), "capture " + id, dir);
                assertTrue(granted.isAlive(), log(dir, "capture", id));
            } catch (AssertionError e) {
                throw new AssertionError(e.getMessage() + "\n" + log(dir, "capture", id), e);
            } finally {
                granted.close();
            }
        }
    }

    @Test
    void onRedis62WithoutAclDryrunACaptureUserWithoutPsyncStopsAtItsFirstPsyncWithExitCode6() throws Exception {
        String id = "d-" + UUID.randomUUID().toString().substring(0, 6);
        try (LocalMesh mesh = twoServers(id, TestServers.redis62())) {
            // 6.2 has no PEXPIRETIME: its line leaves that out (README)
            createUsers(mesh, id, userLine("ferry-capture", "capture-pw", " +pexpiretime", " +psync"));
            Path dir = mesh.dir();
            JvmProcess capture = agent(dir, "capture", id, withUser(mesh, dir, "ferry-capture", "capture-pw"));
            assertEquals(6, capture.waitFor(Duration.ofSeconds(90)), log(dir, "capture", id));
            String log = log(dir, "capture", id);
            assertTrue(log.contains("has no ACL DRYRUN"), log);
            assertTrue(log.contains("may not run what the capture agent needs") && log.contains("NOPERM") && log.contains("psync"), log);
        }
    }

    // ---- helpers ----------------------------------------------------------------------------------

    /** The README's {@code ACL SETUSER <user> …} line. */
    static String readmeLine(String user) throws IOException {
        return readmeLine("README.md", user);
    }

    static String readmeLine(String readme, String user) throws IOException {
        return Files.readAllLines(root().resolve(readme)).stream().filter(l -> l.startsWith("ACL SETUSER " + user + " "))
                .findFirst().orElseThrow(() -> new AssertionError(readme + " has no ACL SETUSER line for " + user));
    }

    /** The repository's top directory. */
    private static Path root() {
        Path dir = Path.of("").toAbsolutePath();
        while (!Files.exists(dir.resolve("README.md")) || !Files.exists(dir.resolve("schemas"))) {
            dir = dir.getParent();
        }
        return dir;
    }

    /** Two redis-servers on the shared broker (a mesh file needs two instances); the tests run agents of {@code id} only. */
    private static LocalMesh twoServers(String id, io.ferry.localmesh.RedisBinary binary) {
        return LocalMesh.start(TestServers.tempDir("redis-users-" + id), List.of(id, "other-" + id), binary, TestServers.kafka(), "");
    }

    /** The README's line for {@code user} with its password, without the permissions {@code leftOut} (" +psync"). */
    private static String userLine(String user, String password, String... leftOut) throws IOException {
        String line = readmeLine(user).replace(user.equals("ferry-capture") ? "CAPTURE_PASSWORD" : "APPLY_PASSWORD", password);
        for (String permission : leftOut) {
            line = line.replace(permission, "");
        }
        return line;
    }

    private static void createUsers(LocalMesh mesh, String id, String... lines) {
        try (Admin admin = new Admin(mesh.redis(id).uri())) {
            for (String line : lines) {
                admin.run(line);
            }
        }
    }

    /** A copy of the mesh file whose instances log in to Redis as {@code user}. */
    private static Path withUser(LocalMesh mesh, Path dir, String user, String password) throws IOException {
        String yaml = Files.readString(mesh.configFile()).replaceAll("redis: \\{uri: \"([^\"]+)\"",
                "redis: {uri: \"$1\", username: " + user + ", password: \"" + password + "\"");
        Path file = dir.resolve(user + ".yaml");
        Files.writeString(file, yaml);
        return file;
    }

    private static JvmProcess agent(Path dir, String role, String id, Path config) {
        return JvmProcess.start(role + "-" + id, dir.resolve(role + "-" + id + ".log"), FerryCli.class, JVM,
                role, "--config", config.toString(), "--instance", id, "--wait-for-servers", "10");
    }

    private static String log(Path dir, String role, String id) {
        try {
            return Files.readString(dir.resolve(role + "-" + id + ".log"));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    private static void awaitReady(int port, String what, Path dir) {
        Await.until(Duration.ofSeconds(120), what + " ready (logs in " + dir + ")", () -> {
            try {
                return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/readyz"))
                        .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString()).body().startsWith("ready");
            } catch (IOException e) {
                return false;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        });
    }

    /** The test's own connection as Redis's default (all-powerful) user. */
    private static final class Admin implements AutoCloseable {
        final RedisClient client;
        final StatefulRedisConnection<String, String> connection;
        final RedisCommands<String, String> commands;

        Admin(String uri) {
            client = RedisClient.create(uri);
            connection = client.connect();
            commands = connection.sync();
        }

        /** Runs an {@code ACL …} line as written in the README. */
        void run(String line) {
            List<String> words = Arrays.asList(line.split(" "));
            assertEquals("ACL", words.get(0));
            CommandArgs<String, String> args = new CommandArgs<>(StringCodec.UTF8);
            words.subList(1, words.size()).forEach(args::add);
            assertEquals("OK", commands.dispatch(CommandType.ACL, new StatusOutput<>(StringCodec.UTF8), args));
        }

        @Override
        public void close() {
            connection.close();
            client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        }
    }
}
