package io.ferry.apply;

import static io.ferry.apply.PeerTopicFixture.cmd;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.localmesh.Await;
import io.ferry.schemas.AvroSerde;
import io.ferry.schemas.Conflict;
import io.ferry.schemas.DeadLetter;
import io.ferry.schemas.EventKind;
import io.ferry.schemas.ReplicationPolicy;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

class ApplyServiceTest {

    private static final Duration WAIT = Duration.ofSeconds(30);

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void appliesEventsExactlyOnceAndResumesFromTheRedisCheckpointNotTheGroupOffset() throws Exception {
        try (PeerTopicFixture f = new PeerTopicFixture()) {
            for (int i = 0; i < 300; i++) {
                f.produce(f.command("INCR", "counter"), f.command("RPUSH", "list", "v" + i));
            }
            ApplyService first = f.startApply();
            Await.equal(WAIT, "counter after the first run", "300", () -> f.get("counter"));
            Await.equal(WAIT, "checkpoint after the first run", 599L, f::checkpoint);
            first.close();

            // Rewind the group to 0: a resume from group offsets would apply everything twice.
            try (Admin admin = Admin.create(Map.of("bootstrap.servers", f.kafka.bootstrap()))) {
                admin.alterConsumerGroupOffsets(ReplicationPolicy.applyGroup(f.self),
                        Map.of(new TopicPartition(f.topic(), 0), new OffsetAndMetadata(0))).all().get(30, TimeUnit.SECONDS);
            }
            for (int i = 300; i < 500; i++) {
                f.produce(f.command("INCR", "counter"), f.command("RPUSH", "list", "v" + i));
            }
            f.startApply();
            Await.equal(WAIT, "checkpoint after the restart", 999L, f::checkpoint);
            assertEquals("500", f.get("counter"));
            assertEquals(500L, f.redisCommands.llen(b("list")));
            assertEquals("v499", new String(f.redisCommands.lindex(b("list"), -1), StandardCharsets.UTF_8), "source order kept");
            Await.equal(WAIT, "group offsets follow the checkpoint", 1000L, () -> groupOffset(f));
            Await.equal(WAIT, "f.count('ferry.apply.commands', null, null)", 1000.0, () -> f.count("ferry.apply.commands", null, null));
        }
    }

    private static long groupOffset(PeerTopicFixture f) {
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", f.kafka.bootstrap()))) {
            OffsetAndMetadata offset = admin.listConsumerGroupOffsets(ReplicationPolicy.applyGroup(f.self))
                    .partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS).get(new TopicPartition(f.topic(), 0));
            return offset == null ? -1 : offset.offset();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void replicasJoiningAndLeavingTheGroupApplyEveryEventExactlyOnce() throws Exception {
        try (PeerTopicFixture f = new PeerTopicFixture(null, 2)) {
            var firstMeters = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
            ApplyService first = f.startApply(firstMeters);
            AtomicReference<Throwable> writerFailure = new AtomicReference<>();
            Thread writer = new Thread(() -> {
                try {
                    for (int i = 0; i < 1500; i++) {
                        f.produceTo(0, AvroSerde.changeEvents().encode(f.command("INCR", "c0")));
                        f.produceTo(1, AvroSerde.changeEvents().encode(f.command("INCR", "c1")));
                    }
                } catch (Throwable e) {
                    writerFailure.set(e);
                }
            });
            writer.start();
            Await.until(WAIT, "first replica applying", () -> f.checkpoint(0) != null && f.checkpoint(0) > 200);
            ApplyService second = f.startApply(new io.micrometer.core.instrument.simple.SimpleMeterRegistry());
            // The second replica takes a partition over and cuts the first one's connection off: the first
            // must reconnect and re-read its checkpoints rather than trust what it held in memory.
            Await.until(WAIT, "first replica fenced and reconnected", () -> firstMeters.get("ferry.apply.reconnects").counter().count() >= 1);
            Await.until(WAIT, "more applied", () -> f.checkpoint(0) > 1000 || f.checkpoint(1) > 1000);
            first.close();
            writer.join();
            assertNull(writerFailure.get());
            Await.equal(WAIT, "c0 exactly once", "1500", () -> f.get("c0"));
            Await.equal(WAIT, "c1 exactly once", "1500", () -> f.get("c1"));
            assertEquals(1499L, f.checkpoint(0));
            assertEquals(1499L, f.checkpoint(1));
            assertNull(second.failure());
        }
    }

    @Test
    void appliesTransactionEventsAtomically() throws Exception {
        try (PeerTopicFixture f = new PeerTopicFixture()) {
            f.startApply();
            AtomicBoolean torn = new AtomicBoolean();
            AtomicBoolean done = new AtomicBoolean();
            Thread watcher = new Thread(() -> {
                while (!done.get()) {
                    var values = f.redisCommands.mget(b("a"), b("b"));
                    byte[] a = values.get(0).getValueOrElse(null);
                    byte[] bb = values.get(1).getValueOrElse(null);
                    if (!Arrays.equals(a, bb)) {
                        torn.set(true);
                    }
                }
            });
            watcher.start();
            for (int i = 1; i <= 2000; i++) {
                f.produce(f.transaction(cmd("SET", "a", i), cmd("SET", "b", i)));
            }
            Await.equal(WAIT, "last transaction applied", "2000", () -> f.get("b"));
            done.set(true);
            watcher.join();
            assertTrue(!torn.get(), "a reader saw a half-applied transaction");
        }
    }

    @Test
    void wrongTypeGoesToTheDeadLetterTopicAsATypeClashAndTheStreamGoesOn() {
        try (PeerTopicFixture f = new PeerTopicFixture()) {
            f.redisCommands.set(b("s"), b("string here"));
            long bad = f.produce(f.command("LPUSH", "s", "x"));
            f.produce(f.command("SET", "after", "1"));
            f.startApply();
            Await.equal(WAIT, "command after the failing one", "1", () -> f.get("after"));
            assertEquals("string here", f.get("s"));
            Await.until(WAIT, "dead letter written", () -> !f.readAll(ReplicationPolicy.deadLetterTopic(f.self)).isEmpty());
            DeadLetter letter = AvroSerde.deadLetters().decode(f.readAll(ReplicationPolicy.deadLetterTopic(f.self)).get(0).value());
            assertEquals("WRONGTYPE", letter.getReason());
            assertEquals("LPUSH", letter.getCommand().getName());
            assertEquals(f.peer, letter.getOrigin());
            assertEquals(f.topic(), letter.getTopic());
            assertEquals(bad, letter.getKafkaOffset());
            assertNotNull(letter.getPosition());
            Await.equal(WAIT, "f.count('ferry.apply.dead.letters', 'reason', 'WRONGTYPE')", 1.0, () -> f.count("ferry.apply.dead.letters", "reason", "WRONGTYPE"));
            Await.equal(WAIT, "f.count('ferry.apply.conflicts', 'type', 'TYPE_CLASH')", 1.0, () -> f.count("ferry.apply.conflicts", "type", "TYPE_CLASH"));
            Conflict conflict = AvroSerde.conflicts().decode(f.readAll(ReplicationPolicy.conflictsTopic(f.self)).get(0).value());
            assertEquals("TYPE_CLASH", conflict.getType());
            assertEquals("s", StandardCharsets.UTF_8.decode(conflict.getKey()).toString());
        }
    }

    @Test
    void execAbortIsNarrowedDownToTheRefusedCommandAndTheRestIsApplied() {
        try (PeerTopicFixture f = new PeerTopicFixture()) {
            f.produce(f.command("SET", "k1", "v1"), f.command("NOSUCHCOMMAND", "x"), f.command("SET", "k2", "v2"),
                    f.command("GET"), f.command("SET", "k3", "v3"));
            f.startApply();
            Await.equal(WAIT, "last good command applied", "v3", () -> f.get("k3"));
            assertEquals("v1", f.get("k1"));
            assertEquals("v2", f.get("k2"));
            Await.until(WAIT, "two dead letters", () -> f.readAll(ReplicationPolicy.deadLetterTopic(f.self)).size() == 2);
            List<String> refused = new ArrayList<>();
            for (var record : f.readAll(ReplicationPolicy.deadLetterTopic(f.self))) {
                DeadLetter letter = AvroSerde.deadLetters().decode(record.value());
                assertEquals("EXECABORT", letter.getReason());
                refused.add(letter.getCommand().getName());
            }
            assertEquals(List.of("NOSUCHCOMMAND", "GET"), refused);
            Await.equal(WAIT, "f.count('ferry.apply.dead.letters', 'reason', 'EXECABORT')", 2.0, () -> f.count("ferry.apply.dead.letters", "reason", "EXECABORT"));
        }
    }

    @Test
    void undecodableRecordGoesToTheDeadLetterTopicWithItsBytesAndTheStreamGoesOn() {
        try (PeerTopicFixture f = new PeerTopicFixture()) {
            long poison = f.produceRaw(b("not avro at all"));
            f.produce(f.command("SET", "after", "ok"));
            f.startApply();
            Await.equal(WAIT, "event after the poison record", "ok", () -> f.get("after"));
            Await.until(WAIT, "dead letter written", () -> !f.readAll(ReplicationPolicy.deadLetterTopic(f.self)).isEmpty());
            DeadLetter letter = AvroSerde.deadLetters().decode(f.readAll(ReplicationPolicy.deadLetterTopic(f.self)).get(0).value());
            assertEquals("UNDECODABLE", letter.getReason());
            assertEquals(poison, letter.getKafkaOffset());
            assertNull(letter.getOrigin());
            assertEquals("not avro at all", StandardCharsets.UTF_8.decode(letter.getRecord()).toString());
            assertEquals(1L, f.checkpoint());
        }
    }

    @Test
    void conditionalWritesThatDidNotTakeEffectAndRestoreOfAnExistingKeyAreConflicts() {
        try (PeerTopicFixture f = new PeerTopicFixture()) {
            f.redisCommands.set(b("nx"), b("local"));
            f.redisCommands.set(b("setnx"), b("local"));
            f.redisCommands.hset(b("h"), b("f"), b("local"));
            f.redisCommands.rpush(b("dumped"), b("x"), b("y"));
            byte[] payload = f.redisCommands.dump(b("dumped"));
            f.redisCommands.set(b("restored"), b("local"));
            f.produce(
                    f.command("SETNX", "setnx", "peer"),
                    f.command("SET", "nx", "peer", "NX"),
                    f.command("SET", "xx", "peer", "PXAT", System.currentTimeMillis() + 60_000, "XX"),
                    f.command("HSETNX", "h", "f", "peer"),
                    f.command("MSETNX", "nx", "peer", "fresh", "peer"),
                    f.event(EventKind.SNAPSHOT_KEY, 0, List.of(cmd("RESTORE", "restored", 0, payload, "ABSTTL"))),
                    f.command("SETNX", "new", "peer"),
                    f.command("SET", "after", "1"));
            f.startApply();
            Await.equal(WAIT, "last event applied", "1", () -> f.get("after"));
            assertEquals("local", f.get("nx"));
            assertEquals("local", f.get("setnx"));
            assertEquals("local", f.get("restored"));
            assertNull(f.get("xx"));
            assertNull(f.get("fresh"));
            assertEquals("peer", f.get("new"));
            assertEquals("local", new String(f.redisCommands.hget(b("h"), b("f")), StandardCharsets.UTF_8));
            Await.equal(WAIT, "f.count('ferry.apply.conflicts', 'type', 'CONDITIONAL_WRITE')", 5.0, () -> f.count("ferry.apply.conflicts", "type", "CONDITIONAL_WRITE"));
            Await.equal(WAIT, "f.count('ferry.apply.conflicts', 'type', 'RESTORE_EXISTS')", 1.0, () -> f.count("ferry.apply.conflicts", "type", "RESTORE_EXISTS"));
            assertEquals(0.0, f.count("ferry.apply.dead.letters", "reason", "BUSYKEY"), "an existing key is a conflict, not an error");
            Await.until(WAIT, "six conflicts recorded", () -> f.readAll(ReplicationPolicy.conflictsTopic(f.self)).size() == 6);
        }
    }

    @Test
    void chunkedSnapshotKeyIsReassembledAndTheCheckpointWaitsAtItsFirstChunk() {
        try (PeerTopicFixture f = new PeerTopicFixture()) {
            byte[][] members = new byte[5000][];
            for (int i = 0; i < members.length; i++) {
                members[i] = b("member-" + i + "-" + "x".repeat(40));
            }
            f.redisCommands.sadd(b("source"), members);
            byte[] payload = f.redisCommands.dump(b("source"));
            f.redisCommands.del(b("source"));
            int third = payload.length / 3;
            byte[][] parts = {Arrays.copyOfRange(payload, 0, third), Arrays.copyOfRange(payload, third, 2 * third),
                    Arrays.copyOfRange(payload, 2 * third, payload.length)};
            long expireAt = System.currentTimeMillis() + 3_600_000;
            long start = f.produce(f.event(EventKind.SNAPSHOT_START, 0, List.of()));
            f.produce(f.chunk(b("big"), 0, 3, expireAt, parts[0]), f.chunk(b("big"), 1, 3, expireAt, parts[1]), f.heartbeat());
            ApplyService service = f.startApply();
            Await.equal(WAIT, "checkpoint stops before the first chunk", start, f::checkpoint);
            assertEquals(0L, f.redisCommands.exists(b("big")));
            service.close();
            // A restart must read the key from its first chunk again.
            long end = f.produce(f.chunk(b("big"), 2, 3, expireAt, parts[2]), f.event(EventKind.SNAPSHOT_END, 0, List.of()));
            f.startApply();
            Await.equal(WAIT, "checkpoint after the snapshot", end, f::checkpoint);
            assertEquals(5000L, f.redisCommands.scard(b("big")));
            long pttl = f.redisCommands.pttl(b("big"));
            assertTrue(pttl > 3_500_000 && pttl <= 3_600_000, "absolute expiry kept, pttl " + pttl);
        }
    }

    @Test
    void redisDownThenBackLosesNothingAndAppliesNothingTwice() throws Exception {
        try (PeerTopicFixture f = new PeerTopicFixture("apply: {retryBackoffMillis: 50, maxBackoffMillis: 500}",
                "--appendonly", "yes", "--appendfsync", "always")) {
            ApplyService service = f.startApply();
            AtomicReference<Throwable> producerFailure = new AtomicReference<>();
            Thread writer = new Thread(() -> {
                try {
                    for (int i = 0; i < 3000; i++) {
                        f.produce(f.command("INCR", "counter"));
                    }
                } catch (Throwable e) {
                    producerFailure.set(e);
                }
            });
            writer.start();
            Await.until(WAIT, "some applied", () -> f.checkpoint() != null && f.checkpoint() > 100);
            f.connection.close();
            f.redis.stop();
            Await.until(WAIT, "readiness reports Redis down", () -> service.readiness() != null && service.readiness().contains("redis"));
            f.redis.start();
            writer.join();
            assertNull(producerFailure.get());
            try (var client = io.lettuce.core.RedisClient.create(f.redis.uri()); var c = client.connect()) {
                Await.equal(WAIT, "counter after Redis came back", "3000", () -> c.sync().get("counter"));
                Await.until(WAIT, "ready again", () -> service.readiness() == null);
            }
            assertTrue(f.registry.find("ferry.apply.reconnects").counter().count() >= 1);
        }
    }

    @Test
    void aCheckpointBelowTheLogStartStopsTheAgentWithARecoveryHint() throws Exception {
        try (PeerTopicFixture f = new PeerTopicFixture()) {
            for (int i = 0; i < 10; i++) {
                f.produce(f.command("INCR", "counter"));
            }
            try (Admin admin = Admin.create(Map.of("bootstrap.servers", f.kafka.bootstrap()))) {
                admin.deleteRecords(Map.of(new TopicPartition(f.topic(), 0), RecordsToDelete.beforeOffset(5))).all().get(30, TimeUnit.SECONDS);
            }
            f.redisCommands.set(ReplicationPolicy.checkpointKey(f.peer, 0), b("2"));
            ApplyService service = f.startApply();
            Await.until(WAIT, "agent stopped", () -> service.failure() != null);
            assertTrue(service.failure().contains("retention"), service.failure());
            assertTrue(service.failure().contains("To recover"), service.failure());
            assertTrue(service.readiness().startsWith("stopped"));
            assertNull(f.get("counter"), "nothing applied past the gap");
        }
    }

    @Test
    void withoutACheckpointATopicThatNoLongerStartsAtZeroStopsTheAgentInsteadOfApplyingItsTail() throws Exception {
        try (PeerTopicFixture f = new PeerTopicFixture()) {
            for (int i = 0; i < 10; i++) {
                f.produce(f.command("INCR", "counter"));
            }
            try (Admin admin = Admin.create(Map.of("bootstrap.servers", f.kafka.bootstrap()))) {
                admin.deleteRecords(Map.of(new TopicPartition(f.topic(), 0), RecordsToDelete.beforeOffset(5))).all().get(30, TimeUnit.SECONDS);
            }
            ApplyService service = f.startApply();
            Await.until(WAIT, "agent stopped", () -> service.failure() != null);
            assertTrue(service.failure().contains("has no checkpoint"), service.failure());
            assertTrue(service.failure().contains("starts at offset 5"), service.failure());
            assertTrue(service.failure().contains("SET __ferry:ckpt:" + f.peer + ":0 4"), service.failure());
            assertTrue(service.readiness().startsWith("stopped"));
            assertNull(f.get("counter"), "no tail applied");

            // the documented way to take only what Kafka holds: a checkpoint just below the log start
            f.redisCommands.set(ReplicationPolicy.checkpointKey(f.peer, 0), b("4"));
            f.startApply();
            Await.equal(WAIT, "the tail applied after the operator's choice", "5", () -> f.get("counter"));
        }
    }

    @Test
    void heartbeatsAdvanceTheCheckpointAndLagIsZeroWhenCaughtUp() {
        try (PeerTopicFixture f = new PeerTopicFixture()) {
            f.produce(f.command("SET", "k", "v"));
            long last = f.produce(f.heartbeat(), f.heartbeat());
            f.startApply();
            Await.equal(WAIT, "checkpoint at the last heartbeat", last, f::checkpoint);
            Await.until(WAIT, "lag gauges at zero", () -> f.registry.find("ferry.apply.lag.records").tag("peer", f.peer).gauge().value() == 0
                    && f.registry.find("ferry.apply.lag.seconds").tag("peer", f.peer).gauge().value() == 0);
            String scrape = f.registry.scrape();
            for (String name : List.of("ferry_apply_lag_seconds", "ferry_apply_lag_records", "ferry_apply_events_total",
                    "ferry_apply_commands_total", "ferry_apply_batches_total", "ferry_apply_latency_seconds_bucket",
                    "ferry_apply_reconnects_total")) {
                assertTrue(scrape.contains(name + "{"), name + " missing from\n" + scrape);
            }
            assertTrue(scrape.contains("ferry_apply_events_total{instance=\"" + f.self + "\",peer=\"" + f.peer + "\"} 3"), scrape);
        }
    }
}
