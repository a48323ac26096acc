package io.ferry.apply.batch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.apply.deadletter.Rejection;
import io.ferry.apply.redis.RawCommand;
import io.ferry.resp.cluster.HashSlot;
import io.ferry.schemas.AvroSerde;
import io.ferry.schemas.ChangeEvent;
import io.ferry.schemas.Command;
import io.ferry.schemas.EventKind;
import io.ferry.schemas.ReplicationPolicy;
import io.ferry.schemas.SourcePosition;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

class SlotSplitterTest {

    private final TopicPartition tp = new TopicPartition("ferry.B.changes", 0);
    private final BatchBuilder builder = new BatchBuilder("A");
    /** Slot checkpoints as a restarted agent would read them from the cluster. */
    private final Map<Integer, Long> appliedSlots = new HashMap<>();
    private final SlotSplitter splitter = new SlotSplitter((state, slot) -> appliedSlots.getOrDefault(slot, -1L));

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static ChangeEvent event(EventKind kind, int db, Command... commands) {
        return ChangeEvent.newBuilder().setOrigin("B").setPosition(new SourcePosition("r", 1L, db)).setKind(kind)
                .setDb(db).setCommands(List.of(commands)).setKeys(List.of()).setCaptureTimeMillis(Instant.now()).build();
    }

    private static Command cmd(String name, String... args) {
        List<ByteBuffer> list = new ArrayList<>();
        for (String a : args) {
            list.add(ByteBuffer.wrap(utf8(a)));
        }
        return new Command(name, list);
    }

    private EventBatch batch(PartitionState state, long firstOffset, ChangeEvent... events) {
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        for (ChangeEvent e : events) {
            records.add(new ConsumerRecord<>(tp.topic(), 0, firstOffset++, null, AvroSerde.changeEvents().encode(e)));
        }
        return builder.build(state, records);
    }

    private static List<String> lines(EventBatch batch) {
        return batch.body().stream().map(c -> c.name() + c.args().stream()
                .map(a -> " " + new String(a, StandardCharsets.UTF_8)).reduce("", String::concat)).toList();
    }

    private static String slotCheckpoint(String key, long offset) {
        return "SET __ferry:ckpt:{" + HashSlot.tag(HashSlot.of(utf8(key))) + "}:B:0 " + offset;
    }

    /** Every part must be runnable as one MULTI/EXEC on one cluster node. */
    private static void assertSingleSlot(EventBatch part) {
        int slot = -1;
        for (RawCommand command : part.body()) {
            for (byte[] key : io.ferry.apply.redis.CommandKeys.of(command)) {
                int s = HashSlot.of(key);
                assertTrue(slot < 0 || slot == s, "part spans slots: " + lines(part));
                slot = s;
            }
        }
    }

    @Test
    void eachSlotGetsItsOwnTransactionEndingWithThatSlotsCheckpoint() {
        PartitionState state = new PartitionState(tp, "B", 9);
        List<EventBatch> parts = splitter.split(batch(state, 10,
                event(EventKind.COMMAND, 0, cmd("INCR", "a")),
                event(EventKind.COMMAND, 0, cmd("RPUSH", "b", "x")),
                event(EventKind.COMMAND, 0, cmd("INCR", "a"))));
        assertEquals(3, parts.size(), "slot of a, slot of b, the whole-instance checkpoint");
        assertEquals(List.of("INCR a", "INCR a", slotCheckpoint("a", 12)), lines(parts.get(0)));
        assertEquals(List.of("RPUSH b x", slotCheckpoint("b", 12)), lines(parts.get(1)));
        assertEquals(List.of("SET __ferry:ckpt:B:0 9"), lines(parts.get(2)), "what every slot had applied before this batch");
        parts.forEach(SlotSplitterTest::assertSingleSlot);
        assertEquals(3, parts.get(0).events().size(), "the first part counts the batch's events");
        assertEquals(0, parts.get(1).events().size());
    }

    @Test
    void aStandaloneTargetSkipsPerSlotWhatAJoinFromAClusterPeerLeftAppliedAndKeepsOneTransaction() {
        PartitionState state = new PartitionState(tp, "B", 9);
        appliedSlots.put(HashSlot.of(utf8("a")), 12L); // the copy of a's shard was taken after offset 12
        EventBatch batch = batch(state, 10,
                event(EventKind.COMMAND, 0, cmd("INCR", "a")),
                event(EventKind.COMMAND, 0, cmd("RPUSH", "b", "x")),
                event(EventKind.COMMAND, 0, cmd("DEL", "a", "b")),
                event(EventKind.COMMAND, 0, cmd("INCR", "a")));
        List<String> kept = lines(splitter.withoutApplied(batch));
        assertEquals(List.of("INCR a"), kept.stream().filter(l -> l.startsWith("INCR")).toList(), "offsets 10 and 12 of a are in the copy");
        assertTrue(kept.contains("RPUSH b x"), kept.toString());
        assertTrue(kept.contains("DEL b") && !kept.contains("DEL a b"), "the DEL's part in a's slot is in the copy: " + kept);
        assertTrue(kept.get(kept.size() - 1).startsWith("SET __ferry:ckpt:B:0 13"), "one transaction with the whole checkpoint: " + kept);
        appliedSlots.clear();
        assertEquals(lines(batch), lines(new SlotSplitter((s, slot) -> -1L).withoutApplied(batch)));
    }

    @Test
    void msetAndDelAcrossSlotsAreSplitPerSlot() {
        PartitionState state = new PartitionState(tp, "B", -1);
        List<EventBatch> parts = splitter.split(batch(state, 0,
                event(EventKind.COMMAND, 0, cmd("MSET", "a", "1", "b", "2", "a2", "3")),
                event(EventKind.COMMAND, 0, cmd("DEL", "a", "b"))));
        List<String> all = parts.stream().flatMap(p -> lines(p).stream()).toList();
        assertTrue(all.contains("DEL a") && all.contains("DEL b"), all.toString());
        assertTrue(all.stream().anyMatch(l -> l.startsWith("MSET") && l.contains(" b 2") && !l.contains(" a ")), all.toString());
        parts.forEach(SlotSplitterTest::assertSingleSlot);
        assertTrue(parts.get(0).rejections().isEmpty());
    }

    @Test
    void aRenameAcrossSlotsIsRefusedWithItsReasonAndTheRestApplies() {
        PartitionState state = new PartitionState(tp, "B", -1);
        List<EventBatch> parts = splitter.split(batch(state, 0,
                event(EventKind.COMMAND, 0, cmd("RENAME", "a", "b")),
                event(EventKind.COMMAND, 0, cmd("INCR", "n"))));
        Rejection rejection = parts.get(0).rejections().get(0);
        assertEquals("CROSS_SLOT", rejection.reason());
        assertEquals(0, rejection.kafkaOffset());
        assertTrue(rejection.error().contains("RENAME touches keys in 2 slots"), rejection.error());
        assertEquals(List.of("INCR n", slotCheckpoint("n", 1)), lines(parts.get(0)));
    }

    @Test
    void renameWithinOneHashTagStaysWhole() {
        PartitionState state = new PartitionState(tp, "B", -1);
        List<EventBatch> parts = splitter.split(batch(state, 0, event(EventKind.COMMAND, 0, cmd("RENAME", "{u1}a", "{u1}b"))));
        assertEquals(List.of("RENAME {u1}a {u1}b", slotCheckpoint("u1", 0)), lines(parts.get(0)));
        assertTrue(parts.get(0).rejections().isEmpty());
    }

    @Test
    void aBlockOfIndependentCommandsIsSplitPerSlot() {
        PartitionState state = new PartitionState(tp, "B", -1);
        List<EventBatch> parts = splitter.split(batch(state, 0,
                event(EventKind.TRANSACTION, 0, cmd("INCR", "a"), cmd("RPUSH", "b", "x"), cmd("SMOVE", "a", "b", "m"))));
        assertEquals(List.of("INCR a", slotCheckpoint("a", 0)), lines(parts.get(0)));
        assertEquals(List.of("RPUSH b x", slotCheckpoint("b", 0)), lines(parts.get(1)));
        assertEquals("CROSS_SLOT", parts.get(0).rejections().get(0).reason(), "SMOVE between slots is refused");
    }

    @Test
    void aWriteWithoutAKeyIsRefusedAsUnroutable() {
        PartitionState state = new PartitionState(tp, "B", -1);
        List<EventBatch> parts = splitter.split(batch(state, 0, event(EventKind.COMMAND, 0, cmd("FLUSHALL"))));
        assertEquals("CLUSTER_NO_KEY", parts.get(0).rejections().get(0).reason());
    }

    @Test
    void writesToAnotherDbAreRefusedBecauseAClusterHasOnlyDbZero() {
        PartitionState state = new PartitionState(tp, "B", -1);
        List<EventBatch> parts = splitter.split(batch(state, 0,
                event(EventKind.COMMAND, 3, cmd("SET", "x", "1")),
                event(EventKind.COMMAND, 0, cmd("SET", "y", "1"))));
        assertEquals("CLUSTER_DB", parts.get(0).rejections().get(0).reason());
        assertEquals(List.of("SET y 1", slotCheckpoint("y", 1)), lines(parts.get(0)));
    }

    @Test
    void afterARestartASlotSkipsWhatItsCheckpointCovers() {
        // offsets 10 and 11 were committed on a's slot before the crash, but not on b's
        appliedSlots.put(HashSlot.of(utf8("a")), 11L);
        PartitionState state = new PartitionState(tp, "B", 9);
        List<EventBatch> parts = splitter.split(batch(state, 10,
                event(EventKind.TRANSACTION, 0, cmd("INCR", "a"), cmd("INCR", "b")),
                event(EventKind.COMMAND, 0, cmd("INCR", "a")),
                event(EventKind.COMMAND, 0, cmd("INCR", "a"))));
        assertEquals(List.of("INCR b", slotCheckpoint("b", 12)), lines(parts.get(0)));
        assertEquals(List.of("INCR a", slotCheckpoint("a", 12)), lines(parts.get(1)), "only offset 12 is new to a's slot");
    }

    @Test
    void aBatchWithoutWritesMovesTheWholeInstanceCheckpointOnlyWhenItChanges() {
        PartitionState state = new PartitionState(tp, "B", 9);
        List<EventBatch> parts = splitter.split(batch(state, 10, event(EventKind.HEARTBEAT, 0)));
        assertEquals(List.of(List.of("SET __ferry:ckpt:B:0 10")), parts.stream().map(SlotSplitterTest::lines).toList());
        assertEquals(1, parts.get(0).events().size());
        state.advanceTo(10);
        List<EventBatch> unchanged = splitter.split(batch(state, 11, event(EventKind.COMMAND, 0, cmd("INCR", "a"))));
        assertEquals(1, unchanged.size(), "the whole-instance checkpoint is already 10: not written again");
        state.advanceTo(11);
        List<EventBatch> moved = splitter.split(batch(state, 12, event(EventKind.COMMAND, 0, cmd("INCR", "a"))));
        assertEquals(List.of("SET __ferry:ckpt:B:0 11"), lines(moved.get(1)));
    }

    @Test
    void aKeylessOrCrossSlotCommandCannotBeSplit() {
        assertThrows(IllegalArgumentException.class, () -> SlotSplitter.parts(new RawCommand("FLUSHALL", List.of())));
        assertThrows(IllegalArgumentException.class, () -> SlotSplitter.parts(RawCommand.of("MSETNX", "a", "1", "b", "2")));
        assertThrows(IllegalArgumentException.class, () -> SlotSplitter.parts(RawCommand.of("EVAL", "s", "2", "a", "b")));
        assertEquals(1, SlotSplitter.parts(RawCommand.of("EVAL", "s", "2", "{t}a", "{t}b")).size());
        assertEquals(2, SlotSplitter.parts(RawCommand.of("UNLINK", "a", "b")).size());
    }

    /**
     * A resync snapshot on a cluster target: its bookkeeping (each slot's set of the keys it brought) goes with the keys
     * of that slot, lines that replace or delete keys stay overwrites in their slot's transaction, and Ferry's own lines
     * at a batch's start belong to their record: a slot whose checkpoint covers the SNAPSHOT_START skips its DEL.
     */
    @Test
    void aResyncSnapshotsOverwritesAndKeySetsAreSplitPerSlotWithTheirRecords() {
        List<String> keys = List.of("k", "guarded", "gone1", "gone2");
        BatchBuilder.Resync resync = new BatchBuilder.Resync() {
            @Override
            public void started(PartitionState s, ConsumerRecord<byte[], byte[]> record) {
            }

            @Override
            public KeyAction keyAction(PartitionState s, ConsumerRecord<byte[], byte[]> record, ChangeEvent event, byte[] key) {
                return new String(key, StandardCharsets.UTF_8).equals("guarded") ? KeyAction.KEEP : KeyAction.REPLACE;
            }

            @Override
            public Map<Integer, List<byte[]>> staleKeys(PartitionState s, ConsumerRecord<byte[], byte[]> record, ChangeEvent event) {
                return Map.of(0, List.of(utf8("gone1"), utf8("gone2")));
            }

            @Override
            public byte[] broughtKeysKey(PartitionState s, byte[] key) {
                return ReplicationPolicy.slotResyncKeysKey("B", 0, HashSlot.tag(HashSlot.of(key)));
            }

            @Override
            public List<byte[]> broughtKeysKeys(PartitionState s) {
                return keys.stream().map(key -> broughtKeysKey(s, utf8(key))).toList();
            }
        };
        assertTrue(keys.stream().map(key -> HashSlot.of(utf8(key))).distinct().count() == keys.size(), "the test needs four slots");
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        long offset = 5;
        for (ChangeEvent e : List.of(event(EventKind.SNAPSHOT_START, 0),
                event(EventKind.SNAPSHOT_KEY, 0, cmd("RESTORE", "k", "0", "payload", "ABSTTL")),
                event(EventKind.SNAPSHOT_KEY, 0, cmd("RESTORE", "guarded", "0", "payload", "ABSTTL")),
                event(EventKind.SNAPSHOT_END, 0))) {
            ConsumerRecord<byte[], byte[]> record = new ConsumerRecord<>(tp.topic(), 0, offset++, null, AvroSerde.changeEvents().encode(e));
            record.headers().add(ReplicationPolicy.RESYNC_HEADER, utf8("old:42"));
            records.add(record);
        }
        BatchBuilder resyncing = new BatchBuilder("A", BatchBuilder.Admission.ALL, resync);
        List<EventBatch> parts = splitter.split(resyncing.build(new PartitionState(tp, "B", 4), records));
        parts.forEach(SlotSplitterTest::assertSingleSlot);
        String setOfK = new String(resync.broughtKeysKey(null, utf8("k")), StandardCharsets.UTF_8);
        EventBatch k = partOf(parts, "k");
        assertEquals(List.of("DEL " + setOfK, "RESTORE k 0 payload ABSTTL REPLACE", "SADD " + setOfK + " 0:k", "DEL " + setOfK,
                slotCheckpoint("k", 8)), lines(k), "the start's DEL of the slot's set is kept although no write comes before it");
        assertEquals(List.of("1 k"), overwrites(k));
        assertEquals(5, k.offsetOf(0));
        assertEquals(6, k.offsetOf(2), "the set's SADD belongs to its key's record");
        EventBatch gone = partOf(parts, "gone1");
        assertTrue(lines(gone).contains("DEL gone1"), lines(gone).toString());
        assertEquals(List.of(lines(gone).indexOf("DEL gone1") + " gone1"), overwrites(gone), "each slot deletes its own stale keys under WATCH");
        assertEquals(List.of(), overwrites(partOf(parts, "guarded")), "a kept key is not overwritten");

        // restarted after the SNAPSHOT_START was committed in k's slot: that slot does not empty its set again
        appliedSlots.put(HashSlot.of(utf8("k")), 5L);
        List<EventBatch> again = new SlotSplitter((s, slot) -> appliedSlots.getOrDefault(slot, -1L))
                .split(resyncing.build(new PartitionState(tp, "B", 4), records));
        assertEquals(List.of("RESTORE k 0 payload ABSTTL REPLACE", "SADD " + setOfK + " 0:k", "DEL " + setOfK, slotCheckpoint("k", 8)),
                lines(partOf(again, "k")));
        assertEquals(List.of("0 k"), overwrites(partOf(again, "k")));
    }

    private static EventBatch partOf(List<EventBatch> parts, String key) {
        int slot = HashSlot.of(utf8(key));
        return parts.stream().filter(part -> part.body().stream().flatMap(c -> io.ferry.apply.redis.CommandKeys.of(c).stream())
                .anyMatch(k -> HashSlot.of(k) == slot)).findFirst().orElseThrow();
    }

    private static List<String> overwrites(EventBatch part) {
        return part.overwrites().stream().map(o -> o.line() + " " + String.join(",", o.keys().stream()
                .map(k -> new String(k, StandardCharsets.UTF_8)).toList())).toList();
    }
}
