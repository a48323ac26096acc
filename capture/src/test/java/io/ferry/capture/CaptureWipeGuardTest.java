package io.ferry.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.capture.position.PositionStore;
import io.ferry.capture.position.SourceInfo;
import io.ferry.localmesh.Await;
import io.ferry.localmesh.RedisServer;
import io.ferry.localmesh.TestServers;
import io.ferry.schemas.ChangeEvent;
import io.ferry.schemas.EventKind;
import io.ferry.schemas.SourcePosition;
import io.ferry.topology.AgentHttpServer;
import io.ferry.topology.MeshConfig;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/** Issue 11, the wipe guard: a source restarted without its data is never published silently. */
class CaptureWipeGuardTest {

    private static final Duration WAIT = Duration.ofSeconds(30);

    @Test
    void aSourceRestartedEmptyIsNotPublishedUntilTheOperatorAcceptsItAndThenOnlyItsNewWritesAre() throws Exception {
        RedisServer redis = TestServers.redis(); // persistence off: a restart comes back empty
        String id = CaptureFixture.instanceId("wipe");
        MeshConfig mesh = CaptureFixture.mesh(id, redis, "{heartbeatMillis: 200}");
        Properties kafka = mesh.instance(id).kafka().clientProperties();
        try (CaptureFixture.ChangeLog log = new CaptureFixture.ChangeLog(id);
             StatefulRedisConnection<String, String> connection = CaptureFixture.connect(redis)) {
            RedisCommands<String, String> source = connection.sync();
            PrometheusMeterRegistry firstMeters = AgentHttpServer.newRegistry();
            String oldReplid;
            try (CaptureService first = new CaptureService(mesh, id, firstMeters)) {
                first.start();
                CaptureFixture.awaitReady(first);
                for (int i = 0; i < 200; i++) {
                    source.set("k:" + i, "v" + i);
                }
                source.set("before", "wipe");
                log.changesUntil("SET before wipe", WAIT);
                Await.until(WAIT, "the committed position carries the source's 201 keys",
                        () -> PositionStore.load(kafka, id, 0, WAIT).orElseThrow().sourceKeys() == 201);
                oldReplid = replid(source);

                redis.stop();
                redis.start();
                source.set("after", "restart"); // on the wiped source: must never reach the topic
                Await.until(WAIT, "the capture reports the wiped source", () -> String.valueOf(first.readiness()).startsWith("source wiped"));
                String newReplid = replid(source);
                assertTrue(first.readiness().contains("--accept-wiped-source " + newReplid), first.readiness());
                assertEquals(1.0, CaptureFixture.counter(firstMeters.scrape(), "ferry_capture_source_wiped", "instance=\"" + id + "\""));
                assertTrue(first.isRunning(), "it waits, it does not exit");
            }
            assertUnchanged(log, kafka, id, oldReplid);

            // restarted as it was, it finds the same from the key count stored with the position
            PrometheusMeterRegistry againMeters = AgentHttpServer.newRegistry();
            try (CaptureService again = new CaptureService(mesh, id, againMeters)) {
                again.start();
                Await.until(WAIT, "a restarted capture reports it too", () -> String.valueOf(again.readiness()).startsWith("source wiped"));
                assertTrue(again.readiness().contains("it holds 1 key(s) where it had 201"), again.readiness());
            }
            assertUnchanged(log, kafka, id, oldReplid);

            String accepted = replid(source);
            PrometheusMeterRegistry acceptMeters = AgentHttpServer.newRegistry();
            try (CaptureService accepting = new CaptureService(mesh, id, acceptMeters, accepted)) {
                accepting.start();
                CaptureFixture.awaitReady(accepting);
                source.set("after", "accept");
                List<ChangeEvent> before = log.changesUntil("SET after accept", WAIT);
                assertTrue(before.stream().noneMatch(e -> CaptureFixture.text(e.getCommands().get(0)).equals("SET after restart")),
                        "what the wiped source held before the acceptance is not published");
                List<EventKind> snapshot = log.poll().stream().map(ChangeEvent::getKind)
                        .filter(k -> k.name().startsWith("SNAPSHOT")).toList();
                assertEquals(snapshot.subList(0, 1), List.of(EventKind.SNAPSHOT_START));
                assertEquals(List.of(EventKind.SNAPSHOT_START, EventKind.SNAPSHOT_END), snapshot.subList(snapshot.size() - 2, snapshot.size()),
                        "an empty snapshot marks the accepted history: " + snapshot);
                Await.until(WAIT, "the position moved to the accepted history",
                        () -> accepted.equals(PositionStore.load(kafka, id, 0, WAIT).orElseThrow().position().getReplid()));
                assertEquals(0.0, CaptureFixture.counter(acceptMeters.scrape(), "ferry_capture_source_wiped", "instance=\"" + id + "\""));
            }
        }
    }

    /** Nothing after the wipe in the topic, the committed position still on the old history. */
    private static void assertUnchanged(CaptureFixture.ChangeLog log, Properties kafka, String id, String oldReplid) {
        List<ChangeEvent> events = log.poll();
        assertEquals(1, events.stream().filter(e -> e.getKind() == EventKind.SNAPSHOT_START).count(), "only the first start's snapshot");
        assertTrue(events.stream().allMatch(e -> e.getPosition().getReplid().equals(oldReplid)), "nothing of the new history published");
        assertFalse(events.stream().anyMatch(e -> e.getKind() == EventKind.COMMAND
                && CaptureFixture.text(e.getCommands().get(0)).equals("SET after restart")));
        SourcePosition committed = PositionStore.load(kafka, id, 0, WAIT).orElseThrow().position();
        assertEquals(oldReplid, committed.getReplid());
    }

    private static String replid(RedisCommands<String, String> source) {
        return SourceInfo.parse(source.info("replication"), null).replid();
    }
}
