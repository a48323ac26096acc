package io.ferry.apply.batch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.ferry.schemas.AvroSerde;
import io.ferry.apply.redis.RawCommand;
import io.ferry.schemas.ChangeEvent;
import io.ferry.schemas.Command;
import io.ferry.schemas.EventKind;
import io.ferry.schemas.KeyExpiries;
import io.ferry.schemas.ReplicationPolicy;
import io.ferry.schemas.SnapshotChunk;
import io.ferry.schemas.StagedCommand;
import io.ferry.schemas.SourcePosition;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

class BatchBuilderTest {

    private final TopicPartition tp = new TopicPartition("ferry.B.changes", 0);
    private final BatchBuilder builder = new BatchBuilder("A");

    private static ChangeEvent event(String origin, EventKind kind, int db, List<Command> commands) {
        return ChangeEvent.newBuilder().setOrigin(origin).setPosition(new SourcePosition("r", 1L, db)).setKind(kind)
                .setDb(db).setCommands(commands).setKeys(List.of()).setCaptureTimeMillis(Instant.now()).build();
    }

    private static Command cmd(String name, String... args) {
        List<ByteBuffer> list = new ArrayList<>();
        for (String a : args) {
            list.add(ByteBuffer.wrap(a.getBytes(StandardCharsets.UTF_8)));
        }
        return new Command(name, list);
    }

    private List<ConsumerRecord<byte[], byte[]>> records(long firstOffset, ChangeEvent... events) {
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        for (ChangeEvent e : events) {
            records.add(new ConsumerRecord<>(tp.topic(), 0, firstOffset++, null, AvroSerde.changeEvents().encode(e)));
        }
        return records;
    }

    private static List<String> lines(EventBatch batch) {
        return batch.body().stream().map(c -> c.name() + c.args().stream()
                .map(a -> " " + new String(a, StandardCharsets.UTF_8)).reduce("", String::concat)).toList();
    }

    @Test
    void selectsDbsAsNeededAndEndsWithTheCheckpointInDbZero() {
        PartitionState state = new PartitionState(tp, "B", 9);
        EventBatch batch = builder.build(state, records(10,
                event("B", EventKind.COMMAND, 0, List.of(cmd("SET", "a", "1"))),
                event("B", EventKind.TRANSACTION, 3, List.of(cmd("INCR", "x"), cmd("INCR", "y"))),
                event("B", EventKind.COMMAND, 3, List.of(cmd("DEL", "z")))));
        assertEquals(List.of("SET a 1", "SELECT 3", "INCR x", "INCR y", "DEL z", "SELECT 0", "SET __ferry:ckpt:B:0 12"), lines(batch));
        assertEquals(12, batch.checkpointOffset());
        assertEquals(4, batch.commandCount());
        assertNull(batch.source(1));
    }

    @Test
    void anOriginsExpiryThatRanOutHereIsAppliedWithTheWriteAndOneStillAheadIsLeftToTheKey() {
        PartitionState state = new PartitionState(tp, "B", 9);
        long past = System.currentTimeMillis() - 5;
        long ahead = System.currentTimeMillis() + 60_000;
        ChangeEvent event = event("B", EventKind.TRANSACTION, 0, List.of(cmd("RPUSH", "l", "x"), cmd("INCR", "n"), cmd("INCR", "m")));
        event.setKeys(List.of(ByteBuffer.wrap("l".getBytes()), ByteBuffer.wrap("n".getBytes()), ByteBuffer.wrap("m".getBytes())));
        ConsumerRecord<byte[], byte[]> record = records(10, event).get(0);
        record.headers().add(ReplicationPolicy.EXPIRY_HEADER, KeyExpiries.of(Map.of(0, past, 2, ahead)).encode());
        EventBatch batch = builder.build(state, List.of(record));
        assertEquals(List.of("RPUSH l x", "INCR n", "INCR m", "PEXPIREAT l " + past, "SET __ferry:ckpt:B:0 10"), lines(batch));
        assertNull(batch.source(3), "Ferry's own line: its reply is not a write's");
    }

    @Test
    void aMalformedExpiryHeaderIsIgnoredAndTheWriteApplied() {
        PartitionState state = new PartitionState(tp, "B", 9);
        ConsumerRecord<byte[], byte[]> record = records(10, event("B", EventKind.COMMAND, 0, List.of(cmd("INCR", "n")))).get(0);
        record.headers().add(ReplicationPolicy.EXPIRY_HEADER, "garbage".getBytes());
        assertEquals(List.of("INCR n", "SET __ferry:ckpt:B:0 10"), lines(builder.build(state, List.of(record))));
    }

    @Test
    void recordsAtOrBelowTheCheckpointAreNeverAppliedAgain() {
        PartitionState state = new PartitionState(tp, "B", 10);
        EventBatch batch = builder.build(state, records(10,
                event("B", EventKind.COMMAND, 0, List.of(cmd("INCR", "a"))),
                event("B", EventKind.COMMAND, 0, List.of(cmd("INCR", "b")))));
        assertEquals(List.of("INCR b", "SET __ferry:ckpt:B:0 11"), lines(batch));
    }

    @Test
    void theCheckpointNeverPassesTheFirstChunkOfAnIncompleteKey() {
        PartitionState state = new PartitionState(tp, "B", 4);
        ChangeEvent chunk0 = event("B", EventKind.SNAPSHOT_CHUNK, 0, List.of());
        chunk0.setChunk(new SnapshotChunk(ByteBuffer.wrap("big".getBytes()), 0, 2, 0L, ByteBuffer.wrap("ab".getBytes())));
        EventBatch first = builder.build(state, records(5,
                event("B", EventKind.SNAPSHOT_START, 0, List.of()), chunk0));
        assertEquals(List.of("SET __ferry:stage:B:0:snapshot:{big} ab", "SET __ferry:ckpt:B:0 5"), lines(first),
                "the chunk goes to its stage in Redis, not into the agent's heap; the checkpoint stays before it");
        state.advanceTo(first.checkpointOffset());

        ChangeEvent chunk1 = event("B", EventKind.SNAPSHOT_CHUNK, 0, List.of());
        chunk1.setChunk(new SnapshotChunk(ByteBuffer.wrap("big".getBytes()), 1, 2, 0L, ByteBuffer.wrap("cd".getBytes())));
        EventBatch second = builder.build(state, records(7, chunk1));
        List<String> lines = lines(second);
        assertEquals(3, lines.size(), lines.toString());
        assertEquals("APPEND __ferry:stage:B:0:snapshot:{big} cd", lines.get(0));
        assertTrue(lines.get(1).startsWith("EVAL " + StagedCommand.SCRIPT), lines.get(1));
        assertTrue(lines.get(1).endsWith(" 1 __ferry:stage:B:0:snapshot:{big} 1 4 4 RESTORE big 0  ABSTTL"), lines.get(1));
        assertEquals("SET __ferry:ckpt:B:0 7", lines.get(2));
        assertEquals("RESTORE", second.source(1).command().getName(), "dead letters and conflicts name the RESTORE of the key");
        assertEquals("RESTORE", second.body().get(1).unstaged().name(), "its reply is judged as a RESTORE's (BUSYKEY: a conflict)");
    }

    @Test
    void anEventFromTheApplyingInstanceItselfIsRejectedNotApplied() {
        PartitionState state = new PartitionState(tp, "B", -1);
        EventBatch batch = builder.build(state, records(0, event("A", EventKind.COMMAND, 0, List.of(cmd("SET", "a", "1")))));
        assertEquals(List.of("SET __ferry:ckpt:B:0 0"), lines(batch));
        assertEquals("OWN_ORIGIN", batch.rejections().get(0).reason());
    }

    @Test
    void aResyncSnapshotReplacesUnguardedKeysRemembersEveryKeyAndDeletesWhatItDidNotBringAtItsEnd() {
        PartitionState state = new PartitionState(tp, "B", 4);
        List<String> asked = new ArrayList<>();
        BatchBuilder.Resync resync = new BatchBuilder.Resync() {
            @Override
            public void started(PartitionState s, ConsumerRecord<byte[], byte[]> record) {
                asked.add("started@" + record.offset());
            }

            @Override
            public KeyAction keyAction(PartitionState s, ConsumerRecord<byte[], byte[]> record, ChangeEvent event, byte[] key) {
                return switch (new String(key, StandardCharsets.UTF_8)) {
                    case "guarded" -> KeyAction.KEEP;
                    case "unsure" -> KeyAction.ADD_IF_MISSING;
                    default -> KeyAction.REPLACE;
                };
            }

            @Override
            public Map<Integer, List<byte[]>> staleKeys(PartitionState s, ConsumerRecord<byte[], byte[]> record, ChangeEvent event) {
                asked.add("stale@" + record.offset());
                return Map.of(2, List.of("gone".getBytes(StandardCharsets.UTF_8)));
            }
        };
        BatchBuilder resyncing = new BatchBuilder("A", BatchBuilder.Admission.ALL, resync);
        List<ConsumerRecord<byte[], byte[]>> records = records(5,
                event("B", EventKind.SNAPSHOT_START, 0, List.of()),
                event("B", EventKind.SNAPSHOT_KEY, 0, List.of(cmd("RESTORE", "k", "0", "payload", "ABSTTL"))),
                event("B", EventKind.SNAPSHOT_KEY, 2, List.of(cmd("RESTORE", "guarded", "0", "payload", "ABSTTL"))),
                event("B", EventKind.SNAPSHOT_KEY, 0, List.of(cmd("RESTORE", "unsure", "0", "payload", "ABSTTL"))),
                event("B", EventKind.SNAPSHOT_END, 0, List.of()));
        records.forEach(r -> r.headers().add(ReplicationPolicy.RESYNC_HEADER, "old:42".getBytes(StandardCharsets.UTF_8)));
        EventBatch batch = resyncing.build(state, records);
        assertEquals(List.of("DEL __ferry:resync:B:0",
                "RESTORE k 0 payload ABSTTL REPLACE", "SADD __ferry:resync:B:0 0:k",
                "SADD __ferry:resync:B:0 2:guarded",
                "RESTORE unsure 0 payload ABSTTL", "SADD __ferry:resync:B:0 0:unsure",
                "SELECT 2", "DEL gone", "SELECT 0", "DEL __ferry:resync:B:0",
                "SET __ferry:ckpt:B:0 9"), lines(batch));
        assertEquals(List.of("started@5", "stale@9"), asked);
        assertNull(batch.source(0), "Ferry's own line");
        assertEquals("RESTORE", batch.source(1).command().getName());
        // what the snapshot overwrites or deletes here, to be judged again under WATCH; not the ADD_IF_MISSING restore
        // nor Ferry's own set
        assertEquals(List.of("1 db0 k", "7 db2 gone"), batch.overwrites().stream().map(o -> o.line() + " db" + o.db() + " "
                + String.join(",", o.keys().stream().map(k -> new String(k, StandardCharsets.UTF_8)).toList())).toList());

        // judged again: k is now guarded, so its RESTORE goes and the lines after it move up
        Map<Integer, RawCommand> dropK = new java.util.HashMap<>();
        dropK.put(1, null);
        EventBatch rejudged = batch.rewritten(dropK, batch.overwrites().subList(1, 2));
        assertEquals(List.of("DEL __ferry:resync:B:0", "SADD __ferry:resync:B:0 0:k"), lines(rejudged).subList(0, 2));
        assertEquals(List.of("6 db2 gone"), rejudged.overwrites().stream().map(o -> o.line() + " db" + o.db() + " "
                + new String(o.keys().get(0), StandardCharsets.UTF_8)).toList());
        assertEquals(batch.checkpointOffset(), rejudged.checkpointOffset());

        // the same records without the header: a first-start snapshot, only missing keys added
        List<ConsumerRecord<byte[], byte[]>> plain = records(5,
                event("B", EventKind.SNAPSHOT_START, 0, List.of()),
                event("B", EventKind.SNAPSHOT_KEY, 0, List.of(cmd("RESTORE", "k", "0", "payload", "ABSTTL"))),
                event("B", EventKind.SNAPSHOT_END, 0, List.of()));
        assertEquals(List.of("RESTORE k 0 payload ABSTTL", "SET __ferry:ckpt:B:0 7"),
                lines(resyncing.build(new PartitionState(tp, "B", 4), plain)));
    }

    private static ChangeEvent chunk(String key, int db, int index, int count, String data) {
        ChangeEvent chunk = event("B", EventKind.SNAPSHOT_CHUNK, db, List.of());
        chunk.setChunk(new SnapshotChunk(ByteBuffer.wrap(key.getBytes()), index, count, 0L, ByteBuffer.wrap(data.getBytes())));
        return chunk;
    }

    @Test
    void aChunkedKeyOfAResyncSnapshotIsStagedThenReplacedOrItsStageDroppedAsItsReconciliationSays() {
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
                return Map.of();
            }
        };
        List<ConsumerRecord<byte[], byte[]>> records = records(5, chunk("big", 1, 0, 2, "ab"), chunk("big", 1, 1, 2, "cd"),
                chunk("guarded", 0, 0, 2, "ef"), chunk("guarded", 0, 1, 2, "gh"));
        records.forEach(r -> r.headers().add(ReplicationPolicy.RESYNC_HEADER, "old:42".getBytes(StandardCharsets.UTF_8)));
        List<String> lines = lines(new BatchBuilder("A", BatchBuilder.Admission.ALL, resync).build(new PartitionState(tp, "B", 4), records));
        assertEquals(List.of("SELECT 1", "SET __ferry:stage:B:0:snapshot:{big} ab", "APPEND __ferry:stage:B:0:snapshot:{big} cd"),
                lines.subList(0, 3));
        assertTrue(lines.get(3).endsWith(" 1 __ferry:stage:B:0:snapshot:{big} 1 4 4 RESTORE big 0  ABSTTL REPLACE"), lines.get(3));
        assertEquals(List.of("SELECT 0", "SADD __ferry:resync:B:0 1:big",
                "SET __ferry:stage:B:0:snapshot:{guarded} ef", "APPEND __ferry:stage:B:0:snapshot:{guarded} gh",
                "DEL __ferry:stage:B:0:snapshot:{guarded}", "SADD __ferry:resync:B:0 0:guarded", "SET __ferry:ckpt:B:0 8"),
                lines.subList(4, lines.size()), "a kept key's stage is deleted in the same MULTI/EXEC");
    }

    @Test
    void aKeyWhoseChunksStopIsDeadLetteredAndItsStageDeleted() {
        PartitionState state = new PartitionState(tp, "B", 4);
        EventBatch batch = builder.build(state, records(5, chunk("big", 0, 0, 3, "ab"),
                event("B", EventKind.COMMAND, 0, List.of(cmd("INCR", "n")))));
        assertEquals(List.of("SET __ferry:stage:B:0:snapshot:{big} ab", "DEL __ferry:stage:B:0:snapshot:{big}", "INCR n",
                "SET __ferry:ckpt:B:0 6"), lines(batch));
        assertEquals("INCOMPLETE_CHUNKS", batch.rejections().get(0).reason());
    }
}
