package io.ferry.e2e.mesh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.localmesh.Await;
import io.ferry.localmesh.JvmProcess;
import io.ferry.localmesh.TestServers;
import io.ferry.schemas.ChangeEvent;
import io.ferry.schemas.EventKind;
import io.ferry.schemas.ReplicationPolicy;
import io.lettuce.core.api.sync.RedisCommands;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/**
 * Issue 11: an instance joins a running mesh from a live peer (ferry join) with the source topics already
 * trimmed, a wiped instance is re-seeded with the same command, and an instance leaves (ferry leave).
 */
class MeshLifecycleTest {

    private static final Duration WAIT = Duration.ofSeconds(60);

    @Test
    void aFourthInstanceJoinsUnderLoadFromTrimmedTopicsAndEveryKeyspaceEndsIdenticalWithExactOracles() throws Exception {
        try (MeshUnderTest mesh = MeshUnderTest.servers(TestServers.kafka(), null, "A", "B", "C", "D")) {
            keepingLogs(mesh, () -> {
                for (String name : List.of("A", "B", "C")) {
                    mesh.startCapture(name);
                    mesh.startApply(name); // D is in the mesh file already: its topic is picked up once it exists
                }
                for (String name : List.of("A", "B", "C")) {
                    mesh.awaitReady(name, "capture");
                    mesh.awaitReady(name, "apply");
                }
                RedisCommands<String, String> a = mesh.redis("A");
                // keys far above capture.maxRecordBytes, each written in small commands: one RESTORE each in the copy
                java.util.Random random = new java.util.Random(11);
                for (int i = 0; i < 12; i++) { // random letters: the RDB cannot compress them away
                    StringBuilder part = new StringBuilder(256 * 1024);
                    random.ints(256 * 1024, 'a', 'z' + 1).forEach(c -> part.append((char) c));
                    a.append("big:string", part.toString());
                }
                for (int from = 0; from < 50_000; from += 5_000) {
                    List<String> items = new ArrayList<>();
                    for (int i = from; i < from + 5_000; i++) {
                        items.add("item-" + i);
                    }
                    a.rpush("big:list", items.toArray(new String[0]));
                }
                a.set("ttl:key", "v", io.lettuce.core.SetArgs.Builder.ex(3600));
                Map<String, String> small = new HashMap<>();
                for (int i = 0; i < 3000; i++) {
                    small.put("pre:" + i, "v" + i);
                }
                mesh.redis("B").mset(small);
                mesh.redis("C").hset("pre:hash", Map.of("f1", "1", "f2", "2"));
                Await.until(WAIT, "C applied B's keys", () -> mesh.redis("C").exists("pre:2999") == 1);
                assertEquals(1, mesh.redis("C").del("pre:0")); // written by B, deleted by C: must not come back on D

                List<CounterLoad> loads = List.of(
                        new CounterLoad(mesh, "A", 24_000, 20, Duration.ofSeconds(24)).start(),
                        new CounterLoad(mesh, "B", 24_000, 20, Duration.ofSeconds(24)).start(),
                        new CounterLoad(mesh, "C", 24_000, 20, Duration.ofSeconds(24)).start());
                Await.until(WAIT, "every peer applied the preloaded keys",
                        () -> mesh.redis("B").exists("big:list") == 1 && mesh.redis("C").exists("big:list") == 1
                                && mesh.redis("A").exists("pre:hash") == 1 && mesh.redis("A").exists("pre:0") == 0);
                Thread.sleep(4_000); // load in flight on all three before the topics are trimmed
                trimAppliedRecords(mesh, List.of("A", "B", "C"));

                assertTrue(loads.stream().noneMatch(CounterLoad::isDone), "every instance is writing when the join starts");
                FerryRun join = FerryRun.of("join", "-c", mesh.local().configFile().toString(), "-i", mesh.id("D"),
                        "--from", mesh.id("A"));
                assertEquals(0, join.exitCode(), join.toString());
                System.out.println("loads still running after the join: " + loads.stream().filter(l -> !l.isDone()).count() + " of 3");
                mesh.startCapture("D");
                mesh.startApply("D");
                mesh.awaitReady("D", "capture");
                mesh.awaitReady("D", "apply");
                CounterLoad onD = new CounterLoad(mesh, "D", 4_000, 10, Duration.ofSeconds(4)).start();
                loads.forEach(CounterLoad::await);
                onD.await();
                List<CounterLoad> all = new ArrayList<>(loads);
                all.add(onD);
                for (String on : List.of("A", "B", "C", "D")) {
                    Await.until(MeshUnderTest.CONVERGE, "every load applied on " + on, () -> all.stream().allMatch(l -> l.appliedOn(on)));
                    for (CounterLoad load : all) {
                        load.assertAppliedExactlyOnceOn(on);
                    }
                }
                Await.until(MeshUnderTest.CONVERGE, "four identical keyspaces", () -> identical(mesh, List.of("A", "B", "C", "D")));
                assertEquals(0, mesh.redis("D").exists("pre:0"));
                assertEquals(50_000, mesh.redis("D").llen("big:list"));
                assertEquals(3 * 1024 * 1024, mesh.redis("D").strlen("big:string"));
                assertTrue(mesh.redis("D").ttl("ttl:key") > 3000, "the TTL came with the copy");
                for (ChangeEvent event : mesh.changeEvents("D")) {
                    assertTrue(event.getKind() != EventKind.SNAPSHOT_KEY && event.getKind() != EventKind.SNAPSHOT_CHUNK,
                            "D's capture published the copy: " + event.getKind());
                    for (ByteBuffer key : event.getKeys()) {
                        String text = StandardCharsets.UTF_8.decode(key.duplicate()).toString();
                        assertTrue(text.startsWith("load:d:"), "D published a key it did not write: " + text);
                    }
                }
                for (String name : List.of("A", "B", "C", "D")) {
                    assertEquals(0.0, mesh.metric(name, "apply", "ferry_apply_dead_letters_total"), name + "'s dead letters");
                }
                FerryRun status = FerryRun.of("status", "-c", mesh.local().configFile().toString(), "-i", mesh.id("D"), "--conflicts", "0");
                assertTrue(status.out().contains("state    live"), status.toString());
            });
        }
    }

    @Test
    void aWipedInstanceIsReseededWithOneCommandAndItsCaptureResumesWithoutPublishingTheCopy() throws Exception {
        try (MeshUnderTest mesh = MeshUnderTest.start("A", "B")) {
            keepingLogs(mesh, () -> {
                // B holds most of the data: what its own apply agent replays into the wiped B stays below the wipe guard's 10 %
                Map<String, String> bKeys = new HashMap<>();
                for (int i = 0; i < 5000; i++) {
                    bKeys.put("load:b:k:" + i, "v" + i);
                }
                mesh.redis("B").mset(bKeys);
                CounterLoad bBefore = new CounterLoad(mesh, "B", 6_000, 10, Duration.ofSeconds(3)).start();
                CounterLoad onA = new CounterLoad(mesh, "A", 30_000, 10, Duration.ofSeconds(30)).start();
                bBefore.await();
                Await.until(WAIT, "A applied B's writes", () -> bBefore.appliedOn("A") && mesh.redis("A").exists("load:b:k:4999") == 1);
                String bTopic = ReplicationPolicy.changesTopic(mesh.id("B"));
                long bPublished = mesh.records(bTopic).size();

                mesh.local().redis(mesh.id("B")).stop();
                mesh.local().redis(mesh.id("B")).start(); // no persistence: B comes back empty
                Await.until(WAIT, "B's capture reports the wiped source",
                        () -> mesh.httpGet("B", "capture", "/readyz").startsWith("source wiped"));
                String readiness = mesh.httpGet("B", "capture", "/readyz");
                assertTrue(readiness.contains("ferry join"), readiness);
                mesh.apply("B").stop();
                FerryRun status = FerryRun.of("status", "-c", mesh.local().configFile().toString(), "-i", mesh.id("B"), "--conflicts", "0");
                assertTrue(status.out().contains("state    source on a new replication history"), status.toString());

                FerryRun join = FerryRun.of("join", "-c", mesh.local().configFile().toString(), "-i", mesh.id("B"),
                        "--from", mesh.id("A"), "--replace-data");
                assertEquals(0, join.exitCode(), join.toString());
                assertTrue(!onA.isDone(), "A kept writing through the join");
                Await.until(WAIT, "B's capture resumes by itself", () -> mesh.httpGet("B", "capture", "/readyz").startsWith("ready"));
                assertTrue(mesh.capture("B").isAlive());
                mesh.startApply("B");
                mesh.awaitReady("B", "apply");
                CounterLoad bAfter = new CounterLoad(mesh, "B", "load:b:after", 4_000, 10, Duration.ofSeconds(3)).start();
                onA.await();
                bAfter.await();
                for (String on : List.of("A", "B")) {
                    Await.until(MeshUnderTest.CONVERGE, "every load applied on " + on,
                            () -> onA.appliedOn(on) && bBefore.appliedOn(on) && bAfter.appliedOn(on));
                    onA.assertAppliedExactlyOnceOn(on);
                    bBefore.assertAppliedExactlyOnceOn(on);
                    bAfter.assertAppliedExactlyOnceOn(on);
                }
                Await.until(MeshUnderTest.CONVERGE, "identical keyspaces", () -> identical(mesh, List.of("A", "B")));
                List<ChangeEvent> all = mesh.changeEvents("B");
                List<ChangeEvent> published = all.subList((int) bPublished, all.size());
                assertTrue(published.stream().noneMatch(e -> e.getKind() == EventKind.SNAPSHOT_KEY), "the copy was not republished");
                assertTrue(published.stream().flatMap(e -> e.getKeys().stream())
                        .allMatch(k -> StandardCharsets.UTF_8.decode(k.duplicate()).toString().startsWith("load:b:")),
                        "B published only what it wrote after the join");
            });
        }
    }

    @Test
    void anInstanceLeavesAndFurtherWritesRunWithoutErrorsOrItsCheckpoints() throws Exception {
        try (MeshUnderTest mesh = MeshUnderTest.start("A", "B", "C")) {
            keepingLogs(mesh, () -> {
                CounterLoad onC = new CounterLoad(mesh, "C", 4_000, 10, Duration.ofSeconds(2)).start();
                onC.await();
                Await.until(WAIT, "C's writes applied on A and B", () -> onC.appliedOn("A") && onC.appliedOn("B"));
                assertTrue(mesh.checkpoint("A", "C") >= 0 && mesh.checkpoint("B", "C") >= 0);

                FerryRun early = FerryRun.of("leave", "-c", mesh.local().configFile().toString(), "-i", mesh.id("C"));
                assertEquals(2, early.exitCode(), "C is still in the mesh file: " + early);

                mesh.apply("C").stop();
                mesh.capture("C").stop();
                Path without = mesh.meshFileWithout("C");
                FerryRun consuming = FerryRun.of("leave", "-c", without.toString(), "-i", mesh.id("C"), "--wait", "2");
                assertEquals(7, consuming.exitCode(), consuming.toString());
                assertTrue(consuming.err().contains("still consumes"), consuming.toString());
                // both restarted with the mesh file without C, side by side (their stops and JVM starts overlap)
                JvmProcess.closeAll(List.of(mesh.apply("A"), mesh.apply("B")));
                for (String name : List.of("A", "B")) {
                    mesh.startApply(name, without);
                }
                for (String name : List.of("A", "B")) {
                    mesh.awaitReady(name, "apply");
                }
                FerryRun leave = FerryRun.of("leave", "-c", without.toString(), "-i", mesh.id("C"), "--delete-topics");
                assertEquals(0, leave.exitCode(), leave.toString());

                CounterLoad onA = new CounterLoad(mesh, "A", 4_000, 10, Duration.ofSeconds(3)).start();
                CounterLoad onB = new CounterLoad(mesh, "B", 4_000, 10, Duration.ofSeconds(3)).start();
                onA.await();
                onB.await();
                Await.until(MeshUnderTest.CONVERGE, "A and B applied each other's writes", () -> onA.appliedOn("B") && onB.appliedOn("A"));
                onA.assertAppliedExactlyOnceOn("B");
                onB.assertAppliedExactlyOnceOn("A");
                Await.until(MeshUnderTest.CONVERGE, "identical keyspaces", () -> identical(mesh, List.of("A", "B")));
                for (String name : List.of("A", "B")) {
                    assertEquals(List.of(), mesh.redis(name).keys("__ferry:ckpt:" + mesh.id("C") + ":*"), name + " keeps C's checkpoints");
                    assertTrue(mesh.apply(name).isAlive() && mesh.capture(name).isAlive());
                    for (String role : List.of("apply", "capture")) {
                        String log = Files.readString(mesh.log(role, name));
                        assertTrue(!log.contains(" ERROR "), role + " " + name + " logged an error:\n" + log);
                    }
                }
                assertTrue(mesh.records(ReplicationPolicy.changesTopic(mesh.id("C"))).isEmpty(), "C's topic was deleted");
            });
        }
    }

    private interface Scenario {
        void run() throws Exception;
    }

    /** Runs a scenario; when it fails, the agents' logs are kept for reading. */
    private static void keepingLogs(MeshUnderTest mesh, Scenario scenario) throws Exception {
        try {
            scenario.run();
        } catch (Exception | AssertionError e) {
            mesh.keepLogs("failed: " + e.getMessage());
            throw e;
        }
    }

    /** Deletes every record all the other instances have applied: history Kafka no longer has for a newcomer. */
    private static void trimAppliedRecords(MeshUnderTest mesh, List<String> names) throws Exception {
        try (Admin admin = Admin.create(Map.<String, Object>of("bootstrap.servers", mesh.local().kafka().bootstrap()))) {
            Map<TopicPartition, RecordsToDelete> trims = new HashMap<>();
            for (String origin : names) {
                long applied = names.stream().filter(n -> !n.equals(origin)).mapToLong(n -> mesh.checkpoint(n, origin)).min().orElseThrow();
                assertTrue(applied > 100, origin + "'s topic has history to trim (" + applied + ")");
                trims.put(new TopicPartition(ReplicationPolicy.changesTopic(mesh.id(origin)), 0), RecordsToDelete.beforeOffset(applied + 1));
                System.out.printf("trimming %s's topic below offset %d%n", origin, applied + 1);
            }
            admin.deleteRecords(trims).all().get(30, TimeUnit.SECONDS);
        }
    }

    private static boolean identical(MeshUnderTest mesh, List<String> names) {
        Keyspace first = Keyspace.of(mesh.redis(names.get(0)));
        for (String other : names.subList(1, names.size())) {
            Keyspace theirs = Keyspace.of(mesh.redis(other));
            if (!first.differences(theirs, 1000).isEmpty() || !theirs.differences(first, 1000).isEmpty()) {
                return false;
            }
        }
        return true;
    }
}
