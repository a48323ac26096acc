package io.ferry.e2e.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.e2e.cli.CliErrorsTest.Run;
import io.ferry.localmesh.FreePorts;
import io.ferry.localmesh.RedisServer;
import io.ferry.localmesh.TestServers;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.SetArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code ferry verify} against real Redis servers of two versions (7.0 and the embedded 6.2), with no
 * Kafka and no agents: what it calls the same, what it reports, and its exit codes. The repair through
 * running agents is tested in io.ferry.e2e.mesh.VerifyRepairTest.
 */
class VerifyCommandTest {

    private final Map<String, RedisServer> servers = new LinkedHashMap<>();
    private final List<RedisClient> clients = new ArrayList<>();
    private Path meshFile;

    @BeforeEach
    void startThreeRedisServers() throws IOException {
        servers.put("a", TestServers.redis());
        servers.put("b", TestServers.redis(TestServers.redis62()));
        servers.put("c", TestServers.redis());
        StringBuilder yaml = new StringBuilder("mesh: verify\nkafka: {bootstrap: \"127.0.0.1:9\"}\ninstances:\n");
        servers.forEach((id, server) -> yaml.append("  ").append(id).append(": {redis: {uri: \"redis://127.0.0.1:")
                .append(server.port()).append("\"}}\n"));
        yaml.append("conflicts:\n  - {match: \"report:*\", policy: report}\n");
        meshFile = TestServers.tempDir("verify").resolve("mesh.yaml");
        Files.writeString(meshFile, yaml);
    }

    @AfterEach
    void stopServers() {
        clients.forEach(c -> c.shutdown(Duration.ZERO, Duration.ofSeconds(1)));
        servers.values().forEach(RedisServer::stop);
    }

    @Test
    void keysOfEveryTypeWrittenInAnotherOrderOnEachInstanceAreTheSame() {
        long expireAt = System.currentTimeMillis() + 3_600_000;
        forEach((name, redis) -> {
            boolean reversed = !name.equals("a");
            redis.set(bytes("string"), bytes("hello"));
            redis.set(new byte[] {(byte) 0xff, 0, 'k'}, new byte[] {0, 1, 2, (byte) 0xff});
            redis.set(bytes("expiring"), bytes("v"), SetArgs.Builder.pxAt(expireAt));
            Map<byte[], byte[]> fields = new LinkedHashMap<>();
            List<byte[]> members = new ArrayList<>();
            List<Object> scored = new ArrayList<>();
            for (int i : order(300, reversed)) {
                fields.put(bytes("f" + i), bytes("v" + i));
                members.add(bytes("m" + i));
                scored.add(i / 10.0);
                scored.add(bytes("m" + i));
            }
            redis.hset(bytes("hash"), fields);
            redis.sadd(bytes("set"), members.toArray(new byte[0][]));
            redis.zadd(bytes("zset"), scored.toArray());
            redis.sadd(bytes("big-set"), order(3000, reversed).stream().map(i -> bytes("member-" + i)).toArray(byte[][]::new));
            redis.rpush(bytes("list"), order(2500, false).stream().map(i -> bytes("e" + i)).toArray(byte[][]::new));
            redis.eval("for i = 1, 1200 do redis.call('XADD', KEYS[1], i .. '-1', 'n', i) end", ScriptOutputType.VALUE,
                    bytes("stream")); // several XRANGE pages
            redis.set(bytes("__ferry:ckpt:someone:0"), bytes(name)); // Ferry's own keys differ and are skipped
            redis.select(3);
            redis.set(bytes("in-db-3"), bytes("same"));
            redis.select(0);
        });

        Run run = CliErrorsTest.ferry("verify", "-c", meshFile.toString());
        assertEquals(0, run.exitCode(), run.toString());
        assertTrue(run.out().contains("verify: 10 keys checked on a, b, c, 0 diverged, 0 repaired"), run.toString());
        assertFalse(run.out().contains("diverged \""), run.toString());
    }

    @Test
    void keysThatDifferAreNamedWithEveryCopyAndExitOne() {
        forEach((name, redis) -> {
            redis.rpush(bytes("list"), name.equals("c") ? bytes("b") : bytes("a"), name.equals("c") ? bytes("a") : bytes("b"));
            redis.hset(bytes("hash"), bytes("field"), bytes(name.equals("b") ? "other" : "value"));
            redis.zadd(bytes("zset"), name.equals("b") ? 2.0 : 1.0, bytes("member"));
            if (name.equals("a")) {
                redis.set(bytes("only-on-a"), bytes("x"));
                redis.hset(bytes("type"), bytes("f"), bytes("v"));
            } else {
                redis.set(bytes("type"), bytes("v"));
            }
            redis.set(bytes("ttl"), bytes("v"), SetArgs.Builder.pxAt(1_900_000_000_000L + (name.equals("c") ? 60_000 : 0)));
            redis.set(new byte[] {0, 'k', (byte) 0xff}, bytes(name.equals("a") ? "a" : "not a"));
            redis.set(bytes("same"), bytes("same"));
            redis.select(3);
            redis.set(bytes("in-db-3"), bytes(name));
            redis.select(0);
        });

        Run run = CliErrorsTest.ferry("verify", "-c", meshFile.toString());
        assertEquals(1, run.exitCode(), run.toString());
        String out = run.out();
        assertTrue(out.contains("diverged \"list\" db 0: content differs"), out);
        assertTrue(out.contains("diverged \"hash\" db 0: content differs"), out);
        assertTrue(out.contains("diverged \"zset\" db 0: content differs"), out);
        assertTrue(out.contains("diverged \"only-on-a\" db 0: missing on b, c"), out);
        assertTrue(out.contains("diverged \"type\" db 0: type differs"), out);
        assertTrue(out.contains("diverged \"ttl\" db 0: ttl differs"), out);
        assertTrue(out.contains("diverged \"\\x00k\\xff\" db 0: content differs"), out);
        assertTrue(out.contains("diverged \"in-db-3\" db 3: content differs"), out);
        assertTrue(out.contains("  a  list 2 elements first \"a\", no ttl, sha256 "), out);
        assertTrue(out.contains("  c  list 2 elements first \"b\", no ttl, sha256 "), out);
        assertTrue(out.contains("  b  (missing)"), out);
        assertTrue(out.contains("  c  string 1 bytes \"v\", expires 2030-03-17T17:47:40Z"), out);
        assertFalse(out.contains("\"same\""), out);
        assertTrue(out.contains("verify: 9 keys checked on a, b, c, 8 diverged, 0 repaired"), out);

        Run onlyAandC = CliErrorsTest.ferry("verify", "-c", meshFile.toString(), "--instances", "a,c", "--match", "*h*");
        assertEquals(0, onlyAandC.exitCode(), "the hash differs only on b: " + onlyAandC);
        assertTrue(onlyAandC.out().contains("verify: 1 keys checked on a, c, 0 diverged"), onlyAandC.toString());
    }

    @Test
    void aKeyThatBecomesEqualWithinTheRecheckWindowIsNotReported() throws Exception {
        forEach((name, redis) -> redis.set(bytes("in-flight"), bytes(name.equals("b") ? "old" : "new")));
        CompletableFuture<Run> verify = CompletableFuture.supplyAsync(() -> CliErrorsTest.ferry("verify", "-c", meshFile.toString()));
        Thread.sleep(1_200); // replication lag, as far as verify can tell
        redis("b").set(bytes("in-flight"), bytes("new"));
        Run run = verify.get();
        assertEquals(0, run.exitCode(), run.toString());
        assertTrue(run.out().contains("verify: 1 keys checked on a, b, c, 0 diverged"), run.toString());
    }

    @Test
    void repairWithoutRunningAgentsSaysTheyMustRunAndLeavesReportKeysAlone() {
        forEach((name, redis) -> {
            redis.set(bytes("report:1"), bytes(name));
            redis.set(bytes("plain"), bytes(name));
        });
        Run run = CliErrorsTest.ferry("verify", "-c", meshFile.toString(), "--repair", "--repair-timeout", "2");
        assertEquals(1, run.exitCode(), run.toString());
        assertTrue(run.out().contains("not repaired \"report:1\" db 0: its policy is report"), run.toString());
        assertTrue(run.out().contains("republished \"plain\" db 0 from "), run.toString());
        assertTrue(run.out().contains(" (lww: "), run.toString());
        assertTrue(run.out().contains("not converged \"plain\" db 0 after republishing from "), run.toString());
        assertTrue(run.out().contains("every capture and apply agent of the mesh must be running"), run.toString());
        assertTrue(run.out().contains("2 diverged, 0 repaired"), run.toString());
    }

    @Test
    void helpSaysARepairNeedsTheMeshsAgentsRunning() {
        Run run = CliErrorsTest.ferry("verify", "--help");
        assertEquals(0, run.exitCode(), run.toString());
        assertTrue(run.out().contains("Usage: ferry verify"), run.toString());
        assertTrue(run.out().replaceAll("\\s+", " ").contains("capture and apply agents MUST be running"), run.toString());
        assertTrue(run.out().contains("Exit codes:"), run.toString());
    }

    @Test
    void badArgumentsExitTwoAndAnUnreachableInstanceExitsThree() throws IOException {
        Run one = CliErrorsTest.ferry("verify", "-c", meshFile.toString(), "--instances", "a");
        assertEquals(2, one.exitCode(), one.toString());
        assertTrue(one.err().contains("verify compares at least two instances"), one.toString());
        Run unknown = CliErrorsTest.ferry("verify", "-c", meshFile.toString(), "--instances", "a,zz");
        assertEquals(2, unknown.exitCode(), unknown.toString());
        assertTrue(unknown.err().contains("instance 'zz' is not in mesh 'verify'"), unknown.toString());
        Run rate = CliErrorsTest.ferry("verify", "-c", meshFile.toString(), "--rate", "0");
        assertEquals(2, rate.exitCode(), rate.toString());
        assertTrue(rate.err().contains("--rate must be at least 1"), rate.toString());

        int closed = FreePorts.next();
        Files.writeString(meshFile, Files.readString(meshFile).replace(":" + servers.get("c").port() + "\"", ":" + closed + "\""));
        Run unreachable = CliErrorsTest.ferry("verify", "-c", meshFile.toString());
        assertEquals(3, unreachable.exitCode(), unreachable.toString());
        assertTrue(unreachable.err().contains("cannot reach the Redis of instance 'c' at redis://127.0.0.1:" + closed), unreachable.toString());
    }

    @Test
    void credentialsComeFromTheMeshFileAndARefusedPasswordOrPermissionExitsSixWithoutThePassword() throws IOException {
        forEach((name, redis) -> redis.set(bytes("k"), bytes("v")));
        RedisCommands<byte[], byte[]> a = redis("a");
        acl(a, "SETUSER", "verifier", "on", ">verify-pw", "~*", "+@all");
        acl(a, "SETUSER", "lister", "on", ">lister-pw", "~*", "+info", "+time", "+select", "+scan", "+exists");
        String plain = Files.readString(meshFile);

        Files.writeString(meshFile, withUser(plain, "verifier", "verify-pw"));
        Run allowed = CliErrorsTest.ferry("verify", "-c", meshFile.toString());
        assertEquals(0, allowed.exitCode(), allowed.toString());
        assertTrue(allowed.out().contains("verify: 1 keys checked on a, b, c, 0 diverged"), allowed.toString());

        Files.writeString(meshFile, withUser(plain, "verifier", "wrong-pw"));
        Run refused = CliErrorsTest.ferry("verify", "-c", meshFile.toString());
        assertEquals(6, refused.exitCode(), refused.toString());
        assertTrue(refused.err().contains("Redis of instance 'a' at redis://verifier@127.0.0.1:" + servers.get("a").port()
                + " (password set) refused the credentials"), refused.toString());
        assertFalse(refused.toString().contains("wrong-pw"), "no password in the output:\n" + refused);

        Files.writeString(meshFile, withUser(plain, "lister", "lister-pw"));
        Run noPermission = CliErrorsTest.ferry("verify", "-c", meshFile.toString());
        assertEquals(6, noPermission.exitCode(), noPermission.toString());
        assertTrue(noPermission.err().contains("the ACL user lacks a permission (NOPERM"), noPermission.toString());
        assertTrue(noPermission.err().contains("ferry verify needs INFO, TIME, SELECT, SCAN, EXISTS, TYPE"), noPermission.toString());
        assertFalse(noPermission.toString().contains("lister-pw"), "no password in the output:\n" + noPermission);
    }

    /** The mesh file with instance a's Redis reached as {@code user} with {@code password}. */
    private String withUser(String yaml, String user, String password) {
        String uri = "\"redis://127.0.0.1:" + servers.get("a").port() + "\"";
        return yaml.replace(uri + "}", uri + ", username: " + user + ", password: \"" + password + "\"}");
    }

    private static void acl(RedisCommands<byte[], byte[]> redis, String... args) {
        io.lettuce.core.protocol.CommandArgs<byte[], byte[]> acl = new io.lettuce.core.protocol.CommandArgs<>(ByteArrayCodec.INSTANCE);
        for (String arg : args) {
            acl.add(arg);
        }
        assertEquals("OK", redis.dispatch(io.lettuce.core.protocol.CommandType.ACL,
                new io.lettuce.core.output.StatusOutput<>(ByteArrayCodec.INSTANCE), acl));
    }

    private void forEach(java.util.function.BiConsumer<String, RedisCommands<byte[], byte[]>> write) {
        servers.keySet().forEach(name -> write.accept(name, redis(name)));
    }

    private RedisCommands<byte[], byte[]> redis(String name) {
        RedisClient client = RedisClient.create(RedisURI.create("127.0.0.1", servers.get(name).port()));
        clients.add(client);
        StatefulRedisConnection<byte[], byte[]> connection = client.connect(ByteArrayCodec.INSTANCE);
        return connection.sync();
    }

    private static List<Integer> order(int count, boolean reversed) {
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            order.add(i);
        }
        if (reversed) {
            Collections.reverse(order);
        }
        return order;
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
