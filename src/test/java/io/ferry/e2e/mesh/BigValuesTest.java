package io.ferry.e2e.mesh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.localmesh.Await;
import io.ferry.localmesh.TestServers;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.sync.RedisCommands;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Issue 12 item 4: values far bigger than the agents' heap cross the mesh in bounded memory, through a kill -9
 * of the capture in the middle of one, with nothing lost, nothing applied twice and no half value applied.
 */
class BigValuesTest {

    /** Agents' heap: the 200 MB value is more than three times all of it. */
    private static final List<String> SMALL_HEAP = List.of("-Xmx64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-XX:+ExitOnOutOfMemoryError");
    private static final int RECORD_BYTES = 256 * 1024;
    /** A 32 KiB pattern of distinct numbers: chunks (not a multiple of it) out of order or twice change the digest. */
    private static final String PATTERN = "local parts = {} for i = 1, 4096 do parts[i] = string.format('%08d', (i * 7919 + #ARGV[2]) % 100000000) end "
            + "local block = table.concat(parts) ";
    private static final String SET_BIG = PATTERN + "return redis.call('SET', KEYS[1], string.rep(block, tonumber(ARGV[1])))";
    private static final String APPEND_BIG = PATTERN + "return redis.call('APPEND', KEYS[1], string.rep(block, tonumber(ARGV[1])))";
    private static final String DIGEST = "local v = redis.call('GET', KEYS[1]) if not v then return 'none' end "
            + "return redis.sha1hex(v) .. ':' .. #v";

    @Test
    void aValueSeveralTimesTheHeapCrossesTheMeshWholeOnceThroughAKillOfTheCaptureInItsMiddle() throws Exception {
        try (MeshUnderTest mesh = MeshUnderTest.servers(TestServers.kafka(), "capture: {maxRecordBytes: " + RECORD_BYTES + "}\n",
                // the backlog covers the big writes, so the restarted capture continues the stream (a full resync's
                // snapshot still reads each key whole: see the README)
                List.of("--repl-backlog-size", "600mb"), "A", "B")
                .withAgentJvm(SMALL_HEAP)) {
            try {
                run(mesh);
            } catch (Throwable failure) {
                mesh.keepLogs("BigValuesTest failed");
                throw failure;
            }
        }
    }

    private static void run(MeshUnderTest mesh) throws Exception {
        // a key already there is sent by A's first snapshot: its DUMP payload is above the record limit, so in chunks,
        // which B stages in Redis before one RESTORE
        mesh.redis("A").eval("for i = 1, 20000 do redis.call('HSET', KEYS[1], 'field:' .. i, 'value:' .. i .. ':' .. (i * 7919)) end",
                ScriptOutputType.STATUS, "snapshot:hash");
        mesh.startAgents();
        RedisCommands<String, String> a = mesh.redis("A");
        RedisCommands<String, String> b = mesh.redis("B");
        List<String> pushed = new ArrayList<>();
        int increments = 0;
        for (int i = 0; i < 20; i++) {
            a.incr("oracle:n");
            increments++;
            a.rpush("oracle:l", "before-" + i);
            pushed.add("before-" + i);
        }

        // 200 MiB SET (a script's effect: the capture reads it as one SET of 200 MiB), then kill -9 the capture
        // while its chunks are on their way: B holds part of the value staged, A's capture has not finished it.
        long started = System.nanoTime();
        a.eval(SET_BIG, ScriptOutputType.STATUS, new String[] {"big"}, "6400", "a");
        long setBytes = 6400L * 32768;
        Await.until(Duration.ofSeconds(60), "part of the big value staged on B",
                () -> !b.keys("__ferry:stage:*").isEmpty());
        double stagedBeforeKill = mesh.metric("A", "capture", "ferry_capture_staged_values_total");
        mesh.capture("A").kill();
        assertEquals(0.0, stagedBeforeKill, "the capture was killed before it had published the whole value");
        String partial = b.keys("__ferry:stage:*").get(0);
        long partialBytes = b.strlen(partial);
        assertTrue(partialBytes < setBytes, "B holds " + partialBytes + " of " + setBytes + " bytes staged");
        assertEquals("none", (String) b.eval(DIGEST, ScriptOutputType.VALUE, "big"), "no half value applied on B");

        mesh.startCapture("A");
        mesh.awaitReady("A", "capture");
        Await.until(Duration.ofSeconds(60), "the big value on B", () -> !"none".equals((String) b.eval(DIGEST, ScriptOutputType.VALUE, "big")));
        assertEquals((double) setBytes, mesh.metric("A", "capture", "ferry_capture_staged_bytes_total"),
                "the restarted capture read the SET again from the stream and published it whole, once");
        System.out.printf("200 MiB SET on B %d ms after it was written on A (kill and restart included)%n",
                (System.nanoTime() - started) / 1_000_000);

        // 50 MiB APPEND, then a MULTI whose body is far above the record limit because of one argument.
        a.eval(APPEND_BIG, ScriptOutputType.INTEGER, new String[] {"big"}, "1600", "bb");
        a.multi();
        a.incr("oracle:n");
        a.eval(SET_BIG, ScriptOutputType.STATUS, new String[] {"multi:big"}, "64", "ccc");
        a.rpush("oracle:l", "in-multi");
        a.exec();
        increments++;
        pushed.add("in-multi");
        for (int i = 0; i < 20; i++) {
            a.incr("oracle:n");
            increments++;
            a.rpush("oracle:l", "after-" + i);
            pushed.add("after-" + i);
        }

        Await.equal(MeshUnderTest.CONVERGE, "the oracle counter on B", Integer.toString(increments), () -> b.get("oracle:n"));
        Await.equal(MeshUnderTest.CONVERGE, "the appended big value on B", (String) a.eval(DIGEST, ScriptOutputType.VALUE, "big"),
                () -> (String) b.eval(DIGEST, ScriptOutputType.VALUE, "big"));
        assertEquals((String) a.eval(DIGEST, ScriptOutputType.VALUE, "multi:big"), (String) b.eval(DIGEST, ScriptOutputType.VALUE, "multi:big"));
        assertEquals(pushed, b.lrange("oracle:l", 0, -1), "every push once, in order");
        assertEquals(pushed, a.lrange("oracle:l", 0, -1));
        assertEquals(Integer.toString(increments), a.get("oracle:n"), "nothing came back to A");
        assertEquals(setBytes + 1600L * 32768, b.strlen("big"));
        assertEquals(20000L, b.hlen("snapshot:hash"));
        assertEquals(a.hgetall("snapshot:hash"), b.hgetall("snapshot:hash"), "the chunked snapshot key restored whole");
        assertEquals(List.of(), b.keys("__ferry:stage:*"), "every stage deleted once its command ran");
        assertEquals(List.of(), a.keys("__ferry:stage:*"));
        assertEquals(0.0, mesh.metric("B", "apply", "ferry_apply_dead_letters_total"));
        for (String name : List.of("A", "B")) {
            for (String role : List.of("capture", "apply")) {
                assertFalse(Files.readString(mesh.log(role, name)).contains("OutOfMemoryError"), role + " " + name + " ran out of memory");
            }
        }
        assertTrue(mesh.capture("A").isAlive() && mesh.capture("B").isAlive() && mesh.apply("A").isAlive() && mesh.apply("B").isAlive(),
                "every agent still runs in its 64 MB heap");
    }
}
