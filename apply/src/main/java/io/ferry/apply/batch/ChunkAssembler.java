package io.ferry.apply.batch;

import io.ferry.apply.redis.RawCommand;
import io.ferry.schemas.SnapshotChunk;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * Rebuilds one big snapshot key from its ordered chunks into a single {@code RESTORE key expireAt
 * payload ABSTTL}. While a key is incomplete, {@link #firstOffset()} bounds the checkpoint: after a
 * restart the agent must read the key's chunks again from the first one.
 */
final class ChunkAssembler {

    /** Result of feeding one chunk. */
    record Step(RawCommand restore, String problem) {
    }

    private byte[] key;
    private int count;
    private int next;
    private long expireAtMillis;
    private long firstOffset = -1;
    private ByteArrayOutputStream data;

    boolean incomplete() {
        return key != null;
    }

    /** Kafka offset of the first chunk of the incomplete key, -1 when none is incomplete. */
    long firstOffset() {
        return firstOffset;
    }

    String describe() {
        return key == null ? "nothing" : "key " + printable(key) + " (" + next + " of " + count + " chunks read from offset " + firstOffset + ")";
    }

    /** Drops the incomplete key, if any (the caller dead-letters it). */
    void reset() {
        key = null;
        data = null;
        firstOffset = -1;
        next = 0;
        count = 0;
    }

    /**
     * Adds one chunk. Returns the RESTORE when the key is complete, a problem when the sequence is
     * broken (the partial key is dropped), or neither while more chunks are due.
     */
    Step accept(SnapshotChunk chunk, long offset) {
        byte[] chunkKey = bytes(chunk.getKey());
        if (chunk.getIndex() == 0) {
            String problem = incomplete() ? "a new chunk sequence began before " + describe() + " was complete" : null;
            reset();
            if (chunk.getCount() < 1) {
                return new Step(null, "chunk of " + printable(chunkKey) + " has count " + chunk.getCount());
            }
            key = chunkKey;
            count = chunk.getCount();
            expireAtMillis = chunk.getExpireAtMillis();
            firstOffset = offset;
            data = new ByteArrayOutputStream();
            append(chunk);
            return finishIfComplete(problem);
        }
        if (!incomplete() || chunk.getIndex() != next || !Arrays.equals(key, chunkKey) || chunk.getCount() != count) {
            String problem = "chunk " + chunk.getIndex() + "/" + chunk.getCount() + " of " + printable(chunkKey)
                    + " out of sequence; expected chunk " + next + " of " + (key == null ? "a new key" : printable(key));
            reset();
            return new Step(null, problem);
        }
        append(chunk);
        return finishIfComplete(null);
    }

    private void append(SnapshotChunk chunk) {
        byte[] part = bytes(chunk.getData());
        data.write(part, 0, part.length);
        next++;
    }

    private Step finishIfComplete(String problem) {
        if (next < count) {
            return new Step(null, problem);
        }
        RawCommand restore = new RawCommand("RESTORE", List.of(key,
                Long.toString(expireAtMillis).getBytes(StandardCharsets.US_ASCII), data.toByteArray(),
                "ABSTTL".getBytes(StandardCharsets.US_ASCII)));
        reset();
        return new Step(restore, problem);
    }

    /** The bytes of {@code buffer}: its array itself when it is exactly that (as Avro decodes them), else a copy. */
    static byte[] bytes(ByteBuffer buffer) {
        if (buffer.hasArray() && buffer.arrayOffset() == 0 && buffer.position() == 0 && buffer.remaining() == buffer.array().length) {
            return buffer.array(); // big values arrive as many full records: one copy fewer of each in the heap
        }
        ByteBuffer copy = buffer.duplicate();
        byte[] bytes = new byte[copy.remaining()];
        copy.get(bytes);
        return bytes;
    }

    static String printable(byte[] key) {
        String text = new String(key, 0, Math.min(key.length, 100), StandardCharsets.UTF_8);
        return "'" + text + (key.length > 100 ? "…" : "") + "'";
    }
}
