package io.ferry.e2e.mesh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.localmesh.Await;
import io.ferry.schemas.AvroSerde;
import io.ferry.schemas.Conflict;
import io.ferry.schemas.DeadLetter;
import io.ferry.schemas.ReplicationPolicy;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** Issue 3, test 5: the seeds' concurrent-write conflicts are reported, not hidden. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConflictsTest {

    private static final int KEYS = 50;
    private MeshUnderTest mesh;

    @BeforeAll
    void startMesh() {
        mesh = MeshUnderTest.start("A", "B");
    }

    @AfterAll
    void stopMesh() {
        if (mesh != null) {
            mesh.close();
        }
    }

    @Test
    void concurrentSetnxOnTwoInstancesRaisesConditionalWriteConflicts() {
        atOnce(mesh, (name, c) -> {
            for (int i = 0; i < KEYS; i++) {
                c.async().setnx("nx:" + i, name);
            }
        });
        Await.until(MeshUnderTest.CONVERGE, "conditional-write conflicts counted", () ->
                mesh.metric("A", "apply", "ferry_apply_conflicts_total", "type=\"CONDITIONAL_WRITE\"")
                        + mesh.metric("B", "apply", "ferry_apply_conflicts_total", "type=\"CONDITIONAL_WRITE\"") >= KEYS);
        List<Conflict> recorded = new java.util.ArrayList<>();
        for (String name : List.of("A", "B")) {
            mesh.records(ReplicationPolicy.conflictsTopic(mesh.id(name)))
                    .forEach(r -> recorded.add(AvroSerde.conflicts().decode(r.value())));
        }
        assertTrue(recorded.stream().filter(c -> "CONDITIONAL_WRITE".equals(c.getType())).count() >= KEYS,
                "conflicts recorded: " + recorded.size());
        for (Conflict conflict : recorded) {
            if (!"CONDITIONAL_WRITE".equals(conflict.getType())) {
                continue; // the other test's type clashes share this mesh
            }
            assertTrue(StandardCharsets.UTF_8.decode(conflict.getKey()).toString().startsWith("nx:"));
            assertEquals("SETNX", conflict.getCommand().getName());
        }
    }

    @Test
    void hashOnOneInstanceAndStringOnAnotherRaisesATypeClashAndADeadLetter() {
        atOnce(mesh, (name, c) -> {
            for (int i = 0; i < KEYS; i++) {
                if (name.equals("A")) {
                    c.async().hset("clash:" + i, "field", "hash on A");
                } else {
                    c.async().set("clash:" + i, "string on B");
                }
            }
        });
        // On B, A's HSET meets B's string: WRONGTYPE. (On A, B's SET simply replaces the hash.)
        Await.until(MeshUnderTest.CONVERGE, "type clashes counted on B",
                () -> mesh.metric("B", "apply", "ferry_apply_conflicts_total", "type=\"TYPE_CLASH\"") >= 1);
        Await.until(MeshUnderTest.CONVERGE, "dead letters counted on B",
                () -> mesh.metric("B", "apply", "ferry_apply_dead_letters_total", "reason=\"WRONGTYPE\"") >= 1);
        List<DeadLetter> letters = mesh.records(ReplicationPolicy.deadLetterTopic(mesh.id("B"))).stream()
                .map(r -> AvroSerde.deadLetters().decode(r.value())).toList();
        assertTrue(!letters.isEmpty());
        DeadLetter letter = letters.get(0);
        assertEquals("WRONGTYPE", letter.getReason());
        assertEquals("HSET", letter.getCommand().getName());
        assertEquals(mesh.id("A"), letter.getOrigin());
        assertEquals(ReplicationPolicy.changesTopic(mesh.id("A")), letter.getTopic());
        assertTrue(letter.getError().startsWith("WRONGTYPE"), letter.getError());
    }

    /** Runs the same burst on A and B at the same moment, pipelined, so neither has seen the other's yet. */
    static void atOnce(MeshUnderTest mesh, BiConsumer<String, StatefulRedisConnection<String, String>> burst) {
        CountDownLatch go = new CountDownLatch(1);
        List<CompletableFuture<Void>> runs = List.of("A", "B").stream().map(name -> {
            RedisClient client = mesh.newClient(name);
            StatefulRedisConnection<String, String> connection = client.connect();
            connection.sync().ping();
            return CompletableFuture.runAsync(() -> {
                try {
                    connection.setAutoFlushCommands(false);
                    go.await();
                    burst.accept(name, connection);
                    connection.flushCommands();
                    connection.setAutoFlushCommands(true);
                    connection.sync().ping();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    connection.close();
                    client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
                }
            });
        }).toList();
        go.countDown();
        runs.forEach(CompletableFuture::join);
    }
}
