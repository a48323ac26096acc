package io.ferry.apply.convergence;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.apply.conflict.ConflictPublisher;
import io.ferry.apply.findings.FindingsOutbox;
import io.ferry.apply.metrics.ApplyMetrics;
import io.ferry.apply.redis.RawCommand;
import io.ferry.apply.redis.RedisTargetClient;
import io.ferry.localmesh.RedisServer;
import io.ferry.localmesh.TestServers;
import io.ferry.schemas.AppliedVector;
import io.ferry.schemas.AvroSerde;
import io.ferry.schemas.ChangeEvent;
import io.ferry.schemas.Command;
import io.ferry.schemas.EventKind;
import io.ferry.schemas.ReplicationPolicy;
import io.ferry.schemas.SourcePosition;
import io.ferry.topology.MeshConfig;
import io.ferry.topology.MeshConfigLoader;
import io.ferry.topology.RedisEndpoint;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What a repair writes on a real Redis, when the pair was found after its loser had been applied here: this
 * instance is "a" (lww), its peer "b"; b's SET reached a before a's own earlier SET was read back from a's
 * changes topic (an apply agent just started, its own-writes reader not caught up yet). The agent's Kafka
 * readers are never polled: the records are handed to it as the apply loop would.
 */
class ConvergenceRepairTest {

    private static final byte[] K = utf8("k");
    private static final long LOSER_TIME = 1_700_000_000_000L;
    private static final long WINNER_TIME = LOSER_TIME + 20;

    private RedisTargetClient redis;
    private FindingsOutbox findings;
    private Convergence convergence;

    @BeforeEach
    void start() {
        RedisServer server = TestServers.redis(TestServers.redis70());
        redis = new RedisTargetClient(new RedisEndpoint("127.0.0.1", server.port(), false, null, null), Duration.ofSeconds(10), "ferry-test");
        redis.connect();
        MeshConfig mesh = MeshConfigLoader.parse("""
                mesh: test
                kafka: {bootstrap: "127.0.0.1:9"}
                instances:
                  a: {redis: "redis://127.0.0.1:%d"}
                  b: {redis: "redis://127.0.0.1:9"}
                conflicts: [{match: "*", policy: lww}]
                """.formatted(server.port()), "test", Map.of());
        ApplyMetrics metrics = new ApplyMetrics(new SimpleMeterRegistry(), "a", 1000);
        findings = new FindingsOutbox(new MockProducer<byte[], byte[]>(true, null, new ByteArraySerializer(), new ByteArraySerializer()), redis, "a", 1 << 20);
        convergence = new Convergence(mesh, "a", new ConflictPublisher(findings, "a", metrics), metrics);
    }

    @AfterEach
    void stop() {
        convergence.close();
        redis.close();
    }

    @Test
    void aLoserAppliedOverTheWinnerIsUndoneByTheWinnerRunAgainThoughTheWindowForgotTheLoserMeanwhile() throws Exception {
        appliedFromB(5, Map.of(), "B21", LOSER_TIME);
        convergence.ownRecord(own(10, Map.of(), "k", "A21", WINNER_TIME)); // a's SET, written before b's was applied: a wins
        // a's own stream then passes b's write (here a later write of another key; a heartbeat does the same) and the
        // window's sweep forgets b's write while the repair waits for quiet: not a new write to the key
        convergence.ownRecord(own(11, Map.of("b:0", 5L), "other", "x", WINNER_TIME + 1));
        convergence.sweepWhenDue(System.nanoTime());
        runRepairs();
        assertEquals("A21", get(K), "the winner's value, not the loser's copied with the winner's time");
        assertEquals(Long.toString(WINNER_TIME), get(RepairTransaction.timeKey(K, false)));
    }

    @Test
    void aKeyWrittenAgainAfterThePairIsCopiedAsItIsNow() throws Exception {
        appliedFromB(5, Map.of(), "B21", LOSER_TIME);
        convergence.ownRecord(own(10, Map.of(), "k", "A21", WINNER_TIME));
        appliedFromB(6, Map.of("a:0", 10L), "B22", WINNER_TIME + 500); // b had applied a's SET: a later value
        runRepairs();
        assertEquals("B22", get(K), "the later write stays; running the winner again would erase it");
        assertEquals(Long.toString(WINNER_TIME), get(RepairTransaction.timeKey(K, false)));
    }

    @Test
    void aFurtherLoserSkippedBeforeTheRepairKeepsTheWinnerRunAgain() throws Exception {
        appliedFromB(5, Map.of(), "B21", LOSER_TIME);
        convergence.ownRecord(own(10, Map.of(), "k", "A21", WINNER_TIME));
        // b's next SET had not seen a's either and is older: skipped here, so the value here is still b's first
        ChangeEvent second = set("b", 6, "k", "B21b", LOSER_TIME + 5);
        assertFalse(convergence.admit(second, record("b", 6, Map.of(), null)), "a loser of a whole value is skipped");
        runRepairs();
        assertEquals("A21", get(K));
    }

    @Test
    void aLoserAppliedBeforeARestartAndReadAgainIsUndoneByTheWinnerRunAgain() throws Exception {
        convergence.ownRecord(own(10, Map.of(), "k", "A21", WINNER_TIME));
        redis.call(new RawCommand("SET", List.of(K, utf8("B21")))); // applied by the agent before this one started
        convergence.replayed(set("b", 5, "k", "B21", LOSER_TIME), record("b", 5, Map.of(), null));
        runRepairs();
        assertEquals("A21", get(K), "the replayed loser is the pair's own, not a write after it");
    }

    @Test
    void aKeyKeptAfterAPeersResyncIsNotCopiedFromHereUntilThatPeersCopyArrived() throws Exception {
        // a kept k when reconciling b's resync snapshot: b's copy holds b's writes made in its gap, a's does not
        convergence.requestAfterResync(set("b", 3, "k", "snapshot", LOSER_TIME - 100), 3, 0, K, AppliedVector.of(Map.of("a:0", 10L)));
        appliedFromB(5, Map.of(), "B21", LOSER_TIME);
        convergence.ownRecord(own(10, Map.of(), "k", "A21", WINNER_TIME)); // a wins the pair: a repair from here
        Thread.sleep(Convergence.REPAIR_MAX_DELAY_NANOS / 1_000_000 + 50);
        findings.afterCommit(() -> convergence.runRepairs(redis));
        assertTrue(convergence.hasRepairs(), "the repair waits for b's copy");
        assertEquals("B21", get(K));
        assertEquals("(nil)", get(RepairTransaction.timeKey(K, false)), "no repair ran");

        ChangeEvent copy = set("b", 7, "k", "B-copy", WINNER_TIME + 1);
        ConsumerRecord<byte[], byte[]> record = record("b", 7, Map.of("a:0", 10L), null);
        record.headers().add(ReplicationPolicy.REPUBLISHED_HEADER, new byte[0]);
        assertTrue(convergence.admit(copy, record), "b's re-publication had seen a's write: applied");
        redis.call(new RawCommand("SET", List.of(K, utf8("B-copy"))));
        runRepairs();
        assertEquals("B-copy", get(K), "the value here now holds b's gap writes: that is what is copied");
    }

    /** b's SET of k at {@code offset}, admitted and applied here as the apply loop does. */
    private void appliedFromB(long offset, Map<String, Long> applied, String value, long time) {
        ChangeEvent event = set("b", offset, "k", value, time);
        assertTrue(convergence.admit(event, record("b", offset, applied, null)), "no pair known yet: applied");
        redis.call(new RawCommand("SET", List.of(K, utf8(value))));
    }

    private void runRepairs() throws InterruptedException {
        assertTrue(convergence.hasRepairs());
        Thread.sleep(Convergence.REPAIR_MAX_DELAY_NANOS / 1_000_000 + 50);
        findings.afterCommit(() -> convergence.runRepairs(redis));
        assertFalse(convergence.hasRepairs(), "the repair ran");
    }

    /** A record of a's own changes topic: a's SET of {@code key}. */
    private static ConsumerRecord<byte[], byte[]> own(long offset, Map<String, Long> applied, String key, String value, long time) {
        return record("a", offset, applied, AvroSerde.changeEvents().encode(set("a", offset, key, value, time)));
    }

    private static ConsumerRecord<byte[], byte[]> record(String origin, long offset, Map<String, Long> applied, byte[] value) {
        ConsumerRecord<byte[], byte[]> record = new ConsumerRecord<>(ReplicationPolicy.changesTopic(origin), 0, offset, null, value);
        record.headers().add(ReplicationPolicy.APPLIED_HEADER, AppliedVector.of(applied).encode());
        return record;
    }

    private static ChangeEvent set(String origin, long offset, String key, String value, long time) {
        return ChangeEvent.newBuilder()
                .setOrigin(origin)
                .setPosition(new SourcePosition("replid-" + origin, 1000L + offset, 0))
                .setKind(EventKind.COMMAND)
                .setDb(0)
                .setCommands(List.of(new Command("SET", List.of(ByteBuffer.wrap(utf8(key)), ByteBuffer.wrap(utf8(value))))))
                .setKeys(List.of(ByteBuffer.wrap(utf8(key))))
                .setCaptureTimeMillis(Instant.ofEpochMilli(time))
                .build();
    }

    private String get(byte[] key) {
        Object reply = redis.call(new RawCommand("GET", List.of(key)));
        return reply instanceof byte[] bytes ? new String(bytes, StandardCharsets.UTF_8) : String.valueOf(reply);
    }

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
