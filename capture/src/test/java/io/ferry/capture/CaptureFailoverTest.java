package io.ferry.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import io.ferry.capture.position.SourceOffsetPoller;
import io.ferry.capture.psync.PsyncClient;
import io.ferry.localmesh.Await;
import io.ferry.localmesh.RedisServer;
import io.ferry.localmesh.TestServers;
import io.ferry.schemas.ChangeEvent;
import io.ferry.schemas.EventKind;
import io.lettuce.core.api.StatefulRedisConnection;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class CaptureFailoverTest {

    @Test
    void followsAPromotedReplicaWithPsyncAndNoFullResync() {
        RedisServer master = TestServers.redis();
        RedisServer replica = TestServers.redis("--replicaof", "127.0.0.1", Integer.toString(master.port()));
        String id = CaptureFixture.instanceId("failover");
        try (CaptureFixture.ChangeLog log = new CaptureFixture.ChangeLog(id);
             StatefulRedisConnection<String, String> onMaster = CaptureFixture.connect(master);
             StatefulRedisConnection<String, String> onReplica = CaptureFixture.connect(replica)) {
            String oldReplid;
            try (CaptureService capture = new CaptureService(CaptureFixture.mesh(id, master, null), id, new SimpleMeterRegistry())) {
                capture.start();
                CaptureFixture.awaitReady(capture);
                for (int i = 0; i < 500; i++) {
                    onMaster.sync().set("before:" + i, Integer.toString(i));
                }
                // outlives the switch: the resumed capture must learn its TTL from the keyspace, not the stream
                onMaster.sync().set("short-lived", "v", io.lettuce.core.SetArgs.Builder.px(10_000));
                onMaster.sync().select(5);
                onMaster.sync().set("before:db5", "x");
                long masterOffset = offset(onMaster);
                Await.until(Duration.ofSeconds(30), "replica caught up", () -> offset(onReplica) == masterOffset);
                Await.until(Duration.ofSeconds(30), "capture committed the master's stream",
                        () -> capture.metrics().committedOffset() >= masterOffset);
                oldReplid = replid(onMaster);
                master.kill();
                // the capture keeps retrying its (dead) configured Redis until it is pointed elsewhere
            }
            onReplica.sync().replicaofNoOne();

            SimpleMeterRegistry registry = new SimpleMeterRegistry();
            try (CaptureService capture = new CaptureService(CaptureFixture.mesh(id, replica, null), id, registry)) {
                capture.start();
                CaptureFixture.awaitReady(capture);
                assertEquals(PsyncClient.SyncMode.CONTINUE, capture.lastSync());
                assertEquals(1, onReplica.sync().exists("short-lived"), "precondition: short-lived still alive when the capture resumed");
                assertEquals(0.0, capture.metrics().fullResyncCount(), "no full resync after the failover");
                onReplica.sync().set("after:db0", "y"); // the promoted replica's stream starts with SELECT 0
                for (int i = 0; i < 500; i++) {
                    onReplica.sync().set("after:" + i, Integer.toString(i));
                }
                Await.until(Duration.ofSeconds(20), "short-lived expired on the promoted replica",
                        () -> onReplica.sync().exists("short-lived") == 0);
                onReplica.sync().set("end", "1");
                List<ChangeEvent> changes = log.changesUntil("SET end 1", Duration.ofSeconds(30));
                List<String> keys = new ArrayList<>();
                for (ChangeEvent e : changes) {
                    keys.add(e.getDb() + ":" + CaptureFixture.text(e.getCommands().get(0).getArgs().get(0)));
                }
                List<String> expected = new ArrayList<>();
                for (int i = 0; i < 500; i++) {
                    expected.add("0:before:" + i);
                }
                expected.add("0:short-lived");
                expected.add("5:before:db5");
                expected.add("0:after:db0");
                for (int i = 0; i < 500; i++) {
                    expected.add("0:after:" + i);
                }
                assertEquals(expected.size(), keys.size(), "every write before and after the switch, once (the expiry DEL is not published)");
                assertEquals(expected, keys, "every write before and after the switch, once, in order, in its db");
                assertEquals(1.0, registry.find("ferry.capture.filtered.commands").tag("command", "DEL").counter().count(),
                        "the expiry on the promoted replica is filtered");
                assertEquals(1, log.poll().stream().filter(e -> e.getKind() == EventKind.SNAPSHOT_START).count());
                assertNotEquals(oldReplid, changes.get(changes.size() - 1).getPosition().getReplid(),
                        "positions carry the promoted replica's new replication id");
            }
        }
    }

    private static long offset(StatefulRedisConnection<String, String> redis) {
        return SourceOffsetPoller.parseMasterOffset(redis.sync().info("replication"));
    }

    private static String replid(StatefulRedisConnection<String, String> redis) {
        return redis.sync().info("replication").lines().filter(l -> l.startsWith("master_replid:"))
                .findFirst().orElseThrow().substring("master_replid:".length()).trim();
    }
}
