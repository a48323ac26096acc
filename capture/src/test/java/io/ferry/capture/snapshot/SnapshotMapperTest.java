package io.ferry.capture.snapshot;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.schemas.AvroSerde;
import io.ferry.schemas.ChangeEvent;
import io.ferry.schemas.EventKind;
import io.ferry.schemas.SourcePosition;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SnapshotMapperTest {

    private static final SourcePosition POSITION = new SourcePosition("8de1787ba490483314a4d30f1c628bc5025eb761", 1234L, 0);
    private static final int LIMIT = 64 * 1024;

    private static byte[] bytes(ByteBuffer buffer) {
        byte[] out = new byte[buffer.remaining()];
        buffer.duplicate().get(out);
        return out;
    }

    @Test
    void aSmallKeyBecomesOneRestoreWithItsAbsoluteExpiry() throws Exception {
        SnapshotKey key = new SnapshotKey(3, "k".getBytes(StandardCharsets.UTF_8), DumpPayload.of(new byte[] {1, 2, 3}), 1_800_000_000_000L);
        List<ChangeEvent> events = SnapshotMapper.events(key, "eu-1", POSITION, Instant.EPOCH, LIMIT);
        assertEquals(1, events.size());
        ChangeEvent event = events.get(0);
        assertEquals(EventKind.SNAPSHOT_KEY, event.getKind());
        assertEquals(3, event.getDb());
        assertEquals("RESTORE", event.getCommands().get(0).getName().toString());
        List<ByteBuffer> args = event.getCommands().get(0).getArgs();
        assertArrayEquals("k".getBytes(StandardCharsets.UTF_8), bytes(args.get(0)));
        assertEquals("1800000000000", new String(bytes(args.get(1)), StandardCharsets.US_ASCII));
        assertArrayEquals(new byte[] {1, 2, 3}, bytes(args.get(2)));
        assertEquals("ABSTTL", new String(bytes(args.get(3)), StandardCharsets.US_ASCII));
    }

    @Test
    void aKeyBiggerThanARecordIsSplitIntoOrderedChunksThatFitAndReassemble() throws Exception {
        byte[] payload = new byte[300 * 1024];
        new Random(7).nextBytes(payload);
        SnapshotKey key = new SnapshotKey(0, "big".getBytes(StandardCharsets.UTF_8), DumpPayload.of(payload), 0);
        List<ChangeEvent> events = SnapshotMapper.events(key, "eu-1", POSITION, Instant.EPOCH, LIMIT);
        assertTrue(events.size() >= 5, "chunks: " + events.size());
        ByteArrayOutputStream joined = new ByteArrayOutputStream();
        AvroSerde<ChangeEvent> serde = AvroSerde.changeEvents();
        for (int i = 0; i < events.size(); i++) {
            ChangeEvent event = events.get(i);
            assertEquals(EventKind.SNAPSHOT_CHUNK, event.getKind());
            assertEquals(i, event.getChunk().getIndex());
            assertEquals(events.size(), event.getChunk().getCount());
            assertTrue(serde.encode(event).length <= LIMIT, "chunk " + i + " fits in a record of " + LIMIT + " bytes");
            joined.writeBytes(bytes(event.getChunk().getData()));
        }
        assertArrayEquals(payload, joined.toByteArray());
    }

    @Test
    void aKeyMovedIntoAShardBeforeItsFirstPsyncGoesAsARestoreThatReplacesThePeersCopy() throws Exception {
        SnapshotKey key = new SnapshotKey(2, "c:14".getBytes(StandardCharsets.UTF_8), DumpPayload.of(new byte[] {1, 2, 3}), 0);
        List<ChangeEvent> events = new java.util.ArrayList<>();
        assertTrue(SnapshotMapper.emitReplacing(key, "eu-1", POSITION, Instant.EPOCH, LIMIT, events::add));
        assertEquals(1, events.size());
        ChangeEvent event = events.get(0);
        assertEquals(EventKind.COMMAND, event.getKind(), "a peer applies it as a write, not as an add-if-missing snapshot key");
        assertEquals(2, event.getDb());
        assertEquals("RESTORE", event.getCommands().get(0).getName().toString());
        List<String> args = event.getCommands().get(0).getArgs().stream().map(b -> new String(bytes(b), StandardCharsets.ISO_8859_1)).toList();
        assertEquals(List.of("c:14", "0", "\u0001\u0002\u0003", "ABSTTL", "REPLACE"), args);
    }

    @Test
    void aMovedKeyTooBigForOneRecordStillGoesInChunks() throws Exception {
        byte[] payload = new byte[LIMIT * 2];
        new Random(7).nextBytes(payload);
        SnapshotKey key = new SnapshotKey(0, "big".getBytes(StandardCharsets.UTF_8), DumpPayload.of(payload), 0);
        List<ChangeEvent> events = new java.util.ArrayList<>();
        org.junit.jupiter.api.Assertions.assertFalse(SnapshotMapper.emitReplacing(key, "eu-1", POSITION, Instant.EPOCH, LIMIT, events::add));
        assertTrue(events.size() > 1);
        assertTrue(events.stream().allMatch(e -> e.getKind() == EventKind.SNAPSHOT_CHUNK));
    }
}
