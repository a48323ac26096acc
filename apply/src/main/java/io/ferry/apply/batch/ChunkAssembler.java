package io.ferry.apply.batch;

import io.ferry.apply.redis.RawCommand;
import io.ferry.schemas.SnapshotChunk;
import io.ferry.schemas.StagedCommand;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Puts one big snapshot key together from its ordered chunks in the target Redis, not in this agent's
 * heap: each chunk becomes a write to a reserved stage key ({@link StagedCommand#chunk}) in the batch that
 * carries it, and the last one a RESTORE run from the stage ({@link #restore}). While a key is incomplete,
 * {@link #firstOffset()} bounds the checkpoint: after a restart the agent reads the key's chunks again from
 * the first one, whose SET starts the stage over.
 */
final class ChunkAssembler {

    /** A key whose chunks are all staged: RESTORE it from {@code stageKey} ({@code length} bytes). */
    record Staged(byte[] key, long expireAtMillis, byte[] stageKey, long length) {
    }

    /** Result of feeding one chunk: stage writes to apply, the key once complete, a problem if the sequence broke. */
    record Step(List<RawCommand> writes, Staged complete, String problem) {
    }

    private static final byte[] ABSTTL = "ABSTTL".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] REPLACE = "REPLACE".getBytes(StandardCharsets.US_ASCII);

    private final StageKeys stageKeys;
    private byte[] key;
    private byte[] stageKey;
    private int count;
    private int next;
    private long length;
    private long expireAtMillis;
    private long firstOffset = -1;
    private int db;

    /** Names the stage of a key. */
    @FunctionalInterface
    interface StageKeys {
        byte[] of(byte[] key);
    }

    ChunkAssembler(StageKeys stageKeys) {
        this.stageKeys = stageKeys;
    }

    /** The db the incomplete key's stage is in. */
    int db() {
        return db;
    }

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

    /** Drops the incomplete key, if any (the caller dead-letters it); returns the DEL of its stage, or null. */
    RawCommand reset() {
        RawCommand discard = stageKey == null ? null : new RawCommand("DEL", List.of(stageKey));
        key = null;
        stageKey = null;
        firstOffset = -1;
        next = 0;
        count = 0;
        length = 0;
        return discard;
    }

    /**
     * Adds one chunk of a key in {@code chunkDb}. Returns its stage write (to run in that db), plus the staged
     * key when it is complete, or a problem when the sequence is broken (the partial key is dropped and its
     * stage deleted).
     */
    Step accept(SnapshotChunk chunk, int chunkDb, long offset) {
        byte[] chunkKey = bytes(chunk.getKey());
        List<RawCommand> writes = new ArrayList<>(2);
        if (chunk.getIndex() == 0) {
            String problem = incomplete() ? "a new chunk sequence began before " + describe() + " was complete" : null;
            int previousDb = db;
            RawCommand discard = reset();
            if (discard != null && previousDb == chunkDb && !Arrays.equals(discard.firstArg(), stageKeys.of(chunkKey))) {
                writes.add(discard); // (a stage left in another db is overwritten when that key comes again)
            }
            if (chunk.getCount() < 1) {
                return new Step(writes, null, "chunk of " + printable(chunkKey) + " has count " + chunk.getCount());
            }
            key = chunkKey;
            db = chunkDb;
            stageKey = stageKeys.of(chunkKey);
            count = chunk.getCount();
            expireAtMillis = chunk.getExpireAtMillis();
            firstOffset = offset;
            writes.add(stage(chunk));
            return finishIfComplete(writes, problem);
        }
        if (!incomplete() || chunk.getIndex() != next || !Arrays.equals(key, chunkKey) || chunk.getCount() != count || db != chunkDb) {
            String problem = "chunk " + chunk.getIndex() + "/" + chunk.getCount() + " of " + printable(chunkKey)
                    + " out of sequence; expected chunk " + next + " of " + (key == null ? "a new key" : printable(key));
            RawCommand discard = reset();
            return new Step(discard == null ? List.of() : List.of(discard), null, problem);
        }
        writes.add(stage(chunk));
        return finishIfComplete(writes, null);
    }

    private RawCommand stage(SnapshotChunk chunk) {
        byte[] part = bytes(chunk.getData());
        byte[][] write = StagedCommand.chunk(stageKey, next, part);
        next++;
        length += part.length;
        return new RawCommand(new String(write[0], StandardCharsets.US_ASCII), List.of(write[1], write[2]));
    }

    private Step finishIfComplete(List<RawCommand> writes, String problem) {
        if (next < count) {
            return new Step(writes, null, problem);
        }
        Staged done = new Staged(key, expireAtMillis, stageKey, length);
        reset(); // the stage stays: the RESTORE reads and deletes it
        return new Step(writes, done, problem);
    }

    /** {@code RESTORE key expireAt <staged payload> ABSTTL [REPLACE]}, run from the stage, which it deletes. */
    static RawCommand restore(Staged staged, boolean replace) {
        byte[][] argv = replace
                ? new byte[][] {"RESTORE".getBytes(StandardCharsets.US_ASCII), staged.key(), expireAt(staged), new byte[0], ABSTTL, REPLACE}
                : new byte[][] {"RESTORE".getBytes(StandardCharsets.US_ASCII), staged.key(), expireAt(staged), new byte[0], ABSTTL};
        byte[][] eval = StagedCommand.eval(argv, List.of(new StagedCommand.Stage(3, staged.length(), staged.stageKey())));
        return new RawCommand("EVAL", Arrays.asList(eval).subList(1, eval.length));
    }

    private static byte[] expireAt(Staged staged) {
        return Long.toString(staged.expireAtMillis()).getBytes(StandardCharsets.US_ASCII);
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
