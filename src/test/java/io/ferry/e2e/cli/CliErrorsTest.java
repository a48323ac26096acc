package io.ferry.e2e.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.cli.FerryCli;
import io.ferry.localmesh.FreePorts;
import io.ferry.localmesh.RedisServer;
import io.ferry.localmesh.TestServers;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import java.io.IOException;
import java.time.Duration;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** What an operator sees when something is wrong: an exit code per cause and a message saying what to fix. */
class CliErrorsTest {

    record Run(int exitCode, String out, String err) {
        @Override
        public String toString() {
            return "exit " + exitCode + "\nstdout:\n" + out + "\nstderr:\n" + err;
        }
    }

    static Run ferry(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = FerryCli.execute(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Run(code, out.toString(), err.toString());
    }

    static Path meshFile(String yaml) throws IOException {
        Path file = TestServers.tempDir("cli-errors").resolve("mesh.yaml");
        Files.writeString(file, yaml);
        return file;
    }

    @ParameterizedTest
    @ValueSource(strings = {"capture", "apply", "inspect", "status", "demo"})
    void everyCommandExplainsItselfWithHelp(String command) {
        Run run = ferry(command, "--help");
        assertEquals(0, run.exitCode(), run.toString());
        assertTrue(run.out().contains("Usage: ferry " + command), run.toString());
        assertTrue(run.out().contains("Exit codes:"), run.toString());
    }

    @Test
    void topLevelHelpListsEveryCommand() {
        Run run = ferry("--help");
        assertEquals(0, run.exitCode());
        for (String command : new String[] {"capture", "apply", "inspect", "status", "demo"}) {
            assertTrue(run.out().contains("  " + command + "  "), run.toString());
        }
        assertEquals(2, ferry().exitCode(), "no command is a usage error");
    }

    @Test
    void badMeshFileExitsWithTwoAndListsEveryProblem() throws IOException {
        Path file = meshFile("""
                mesh: broken
                kafka: {bootstrap: "127.0.0.1:9092"}
                instances:
                  a: {redis: {uri: "redis://127.0.0.1:6379"}, colour: blue}
                  b: {redis: {uri: "http://nowhere"}}
                  c: {redis: {uri: "redis://127.0.0.1:6380", passwordEnv: FERRY_TEST_UNSET_VARIABLE}}
                """);
        for (String command : new String[] {"status", "capture", "apply"}) {
            Run run = command.equals("status") ? ferry(command, "--config", file.toString())
                    : ferry(command, "--config", file.toString(), "--instance", "a");
            assertEquals(2, run.exitCode(), run.toString());
            assertTrue(run.err().contains("instances.a.colour: unknown key"), run.toString());
            assertTrue(run.err().contains("instances.b.redis.uri"), run.toString());
            assertTrue(run.err().contains("FERRY_TEST_UNSET_VARIABLE is not set"), run.toString());
        }
    }

    @Test
    void missingMeshFileAndUnknownInstanceExitWithTwo() throws IOException {
        Run missing = ferry("status", "--config", "/nonexistent/mesh.yaml");
        assertEquals(2, missing.exitCode(), missing.toString());
        assertTrue(missing.err().contains("/nonexistent/mesh.yaml"), missing.toString());

        Path file = meshFile(twoInstances("127.0.0.1:" + FreePorts.next(), FreePorts.next(), FreePorts.next(), ""));
        Run unknown = ferry("capture", "--config", file.toString(), "--instance", "zz");
        assertEquals(2, unknown.exitCode(), unknown.toString());
        assertTrue(unknown.err().contains("instance 'zz' is not in mesh 'errors'; its instances are [a, b]"), unknown.toString());
    }

    @Test
    void unreachableRedisExitsWithThreeNamingTheAddress() throws IOException {
        int closedPort = FreePorts.next();
        Path file = meshFile(twoInstances(TestServers.kafka().bootstrap(), closedPort, FreePorts.next(), ""));
        Run run = ferry("capture", "--config", file.toString(), "--instance", "a", "--wait-for-servers", "0");
        assertEquals(3, run.exitCode(), run.toString());
        assertTrue(run.err().contains("cannot reach the Redis of instance 'a' at redis://127.0.0.1:" + closedPort), run.toString());
        assertTrue(run.err().contains("Check that redis-server is running"), run.toString());
    }

    @Test
    void unreachableKafkaExitsWithFourNamingTheAddress() throws IOException {
        String nowhere = "127.0.0.1:" + FreePorts.next();
        RedisServer redis = TestServers.redis(TestServers.redis62());
        Path file = meshFile(twoInstances(nowhere, redis.port(), redis.port(), ""));
        Run run = ferry("apply", "--config", file.toString(), "--instance", "a", "--wait-for-servers", "0");
        assertEquals(4, run.exitCode(), run.toString());
        assertTrue(run.err().contains("cannot reach Kafka at " + nowhere), run.toString());
        assertTrue(run.err().contains("kafka.bootstrap"), run.toString());
    }

    @Test
    void wrongRedisPasswordExitsWithSixAndNeverPrintsThePassword() throws IOException {
        RedisServer redis = TestServers.redis(TestServers.redis62());
        RedisClient client = RedisClient.create(RedisURI.create("127.0.0.1", redis.port()));
        try (StatefulRedisConnection<String, String> connection = client.connect()) {
            connection.sync().configSet("requirepass", "the-right-one");
        } finally {
            client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        }
        Path file = meshFile(twoInstances(TestServers.kafka().bootstrap(), redis.port(), redis.port(),
                ", password: \"not-the-password\""));
        Run run = ferry("capture", "--config", file.toString(), "--instance", "a");
        assertEquals(6, run.exitCode(), run.toString());
        assertTrue(run.err().contains("refused the credentials"), run.toString());
        assertTrue(run.err().contains("FERRY_INSTANCES_A_REDIS_PASSWORD"), run.toString());
        assertFalse(run.toString().contains("not-the-password"), "the password never appears in output");
        assertFalse(run.toString().contains("the-right-one"), "the password never appears in output");
    }

    @Test
    void anAclUserWithoutTheRightsFerryNeedsExitsWithSixAndSaysWhichOnes() throws IOException {
        RedisServer redis = TestServers.redis(TestServers.redis62());
        RedisClient client = RedisClient.create(RedisURI.create("127.0.0.1", redis.port()));
        try (StatefulRedisConnection<String, String> connection = client.connect()) {
            connection.sync().aclSetuser("limited", io.lettuce.core.AclSetuserArgs.Builder.on().addPassword("pw")
                    .allKeys().allCommands().removeCommand(io.lettuce.core.protocol.CommandType.INFO));
        } finally {
            client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        }
        Path file = meshFile(twoInstances(TestServers.kafka().bootstrap(), redis.port(), redis.port(),
                ", username: limited, password: pw"));
        Run run = ferry("capture", "--config", file.toString(), "--instance", "a");
        assertEquals(6, run.exitCode(), run.toString());
        assertTrue(run.err().contains("the ACL user lacks a permission"), run.toString());
        assertTrue(run.err().contains("PSYNC/REPLCONF"), run.toString());
    }

    @Test
    void inspectingATopicNobodyWroteYetExitsWithFiveAndSaysWhichCaptureHasNotRun() throws IOException {
        RedisServer redis = TestServers.redis(TestServers.redis62());
        Path file = meshFile(twoInstances(TestServers.kafka().bootstrap(), redis.port(), redis.port(), ""));
        Run run = ferry("inspect", "--config", file.toString(), "b");
        assertEquals(5, run.exitCode(), run.toString());
        assertTrue(run.err().contains("topic ferry.b.changes does not exist"), run.toString());
        assertTrue(run.err().contains("the capture for instance 'b' has not run yet"), run.toString());
    }

    @Test
    void statusOfAMeshWhoseCapturesHaveNotRunSaysSoPerInstance() throws IOException {
        RedisServer redis = TestServers.redis(TestServers.redis62());
        String a = "st" + Long.toHexString(System.nanoTime());
        Path file = meshFile(("mesh: errors\nkafka: {bootstrap: \"%s\"}\ninstances:\n  %s: {redis: {uri: \"redis://127.0.0.1:%d\"}}\n"
                + "  %s-2: {redis: {uri: \"redis://127.0.0.1:%d\"}}\n").formatted(TestServers.kafka().bootstrap(), a, redis.port(), a, redis.port()));
        Run run = ferry("status", "--config", file.toString());
        assertEquals(5, run.exitCode(), run.toString());
        assertTrue(run.out().contains("instance " + a + " "), run.toString());
        assertTrue(run.out().contains("the capture for '" + a + "' has not run yet"), run.toString());
        assertTrue(run.out().contains("redis    master, master_repl_offset"), run.toString());
    }

    private static String twoInstances(String bootstrap, int redisA, int redisB, String redisExtra) {
        return """
                mesh: errors
                kafka: {bootstrap: "%s"}
                instances:
                  a: {redis: {uri: "redis://127.0.0.1:%d"%s}}
                  b: {redis: {uri: "redis://127.0.0.1:%d"%s}}
                """.formatted(bootstrap, redisA, redisExtra, redisB, redisExtra);
    }
}
