package io.ferry.cli.lifecycle;

import io.ferry.apply.redis.RawCommand;
import io.ferry.apply.redis.RedisTargetClient;
import io.ferry.apply.redis.Reply;
import io.ferry.apply.redis.TransactionReply;
import io.ferry.capture.snapshot.SnapshotKey;
import io.ferry.resp.cluster.HashSlot;
import io.ferry.schemas.ReplicationPolicy;
import io.ferry.schemas.StagedCommand;
import io.ferry.topology.RedisEndpoint;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a copy's keys into the joining instance: {@code RESTORE key expireAt payload REPLACE ABSTTL},
 * pipelined in MULTI blocks of up to {@link #BLOCK_KEYS} keys or {@link #BLOCK_BYTES} bytes, one block in
 * Redis while the next is built. On a Redis Cluster a block is one MULTI per slot, each sent to its slot's
 * master (the cluster routing of {@link RedisTargetClient}). A payload bigger than {@link #STAGE_PIECE_BYTES} is put
 * together in a stage key of its slot and restored from there, so no big key is held whole in this heap. Any
 * refused key stops the join: nothing is skipped.
 */
final class RestoreWriter implements AutoCloseable {

    static final int BLOCK_KEYS = 1000;
    static final long BLOCK_BYTES = 8L * 1024 * 1024;
    /** Payloads bigger than this are sent in pieces of this size and restored from a stage key. */
    static final int STAGE_PIECE_BYTES = 4 * 1024 * 1024;
    private static final byte[] REPLACE = "REPLACE".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] ABSTTL = "ABSTTL".getBytes(StandardCharsets.US_ASCII);

    private final RedisTargetClient redis;
    private final String where;
    private final String instance;
    private final boolean cluster;
    private final List<RawCommand> block = new ArrayList<>();
    private List<List<RawCommand>> flyingBlocks = List.of();
    private final long[] keysPerSlot = new long[HashSlot.COUNT];
    private RedisTargetClient.Pending flying;
    private long blockBytes;
    private int db = -1;
    private long keys;
    private long bytes;

    RestoreWriter(RedisEndpoint endpoint, String instance) {
        this.redis = new RedisTargetClient(endpoint, Duration.ofSeconds(60), "ferry-join-" + instance);
        this.instance = instance;
        this.where = instance + "'s Redis (" + endpoint + ")";
        this.cluster = endpoint.cluster();
        redis.connect();
    }

    /** Runs one command outside the copy's blocks (after every block sent so far is settled). */
    Object call(RawCommand command) {
        flush();
        settle();
        return redis.call(command);
    }

    /**
     * Runs {@code writes} (single-key commands of db 0) outside the copy's blocks: one MULTI/EXEC on a
     * standalone Redis, one per slot on a cluster; any error fails.
     */
    void commit(List<RawCommand> writes) {
        flush();
        settle();
        List<List<RawCommand>> transactions;
        if (cluster) {
            transactions = bySlot(writes);
        } else {
            List<RawCommand> body = new ArrayList<>(writes.size() + 1);
            body.add(RawCommand.of("SELECT", "0"));
            body.addAll(writes);
            transactions = List.of(body);
            db = 0;
        }
        checkAll(redis.execute(transactions), transactions);
    }

    void restore(SnapshotKey key) throws Exception {
        if (cluster && key.db() != 0) {
            throw new IllegalStateException(where + " is a Redis Cluster, which has only db 0, and the peer has keys in db "
                    + key.db() + " (key '" + new String(key.key(), StandardCharsets.UTF_8) + "'): a cluster cannot join from it;"
                    + " the join stopped (run it again with --replace-data from a peer whose keys are all in db 0)");
        }
        if (!cluster && key.db() != db) {
            flush();
            settle();
            Object selected = redis.call(RawCommand.of("SELECT", Integer.toString(key.db())));
            if (Reply.isError(selected)) {
                throw new IllegalStateException(where + " refused SELECT " + key.db() + ": " + Reply.describe(selected)
                        + " (the peer has keys in db " + key.db() + "; raise 'databases' on the joining instance)");
            }
            db = key.db();
        }
        long length = key.payload().length();
        if (length > STAGE_PIECE_BYTES) {
            restoreStaged(key);
        } else {
            block.add(RawCommand.of("RESTORE", key.key(), expireAt(key), key.payload().bytes(), REPLACE, ABSTTL));
            blockBytes += key.key().length + length;
            if (block.size() >= BLOCK_KEYS || blockBytes >= BLOCK_BYTES) {
                flush();
            }
        }
        keysPerSlot[HashSlot.of(key.key())]++;
        keys++;
        bytes += length;
    }

    /**
     * A big key: its payload is put together piece by piece in a reserved stage key of the joining Redis (in the
     * key's slot; no piece bigger than {@link #STAGE_PIECE_BYTES} in this heap), then restored from there by the
     * script the apply agents use for staged values, which checks the stage's length and deletes it.
     */
    private void restoreStaged(SnapshotKey key) throws Exception {
        flush();
        settle();
        // named after the joining instance: no apply agent stages values of that origin in its own Redis
        byte[] stageKey = ReplicationPolicy.snapshotStageKey(instance, 0, key.key());
        key.payload().pieces(STAGE_PIECE_BYTES, (index, count, data) -> {
            byte[][] write = StagedCommand.chunk(stageKey, index, data);
            Object reply = redis.call(new RawCommand(new String(write[0], StandardCharsets.US_ASCII), List.of(write[1], write[2])));
            if (Reply.isError(reply)) {
                throw refused(key.key(), reply);
            }
        });
        byte[][] restore = {"RESTORE".getBytes(StandardCharsets.US_ASCII), key.key(), expireAt(key), new byte[0], REPLACE, ABSTTL};
        byte[][] eval = StagedCommand.eval(restore, List.of(new StagedCommand.Stage(3, key.payload().length(), stageKey)));
        // one transaction routed by the script's keys (the stage and the key share a slot), not by its first argument
        List<RawCommand> body = List.of(new RawCommand("EVAL", Arrays.asList(eval).subList(1, eval.length)));
        try {
            check(redis.execute(List.of(body)).get(0), List.of(key.key()));
        } catch (IllegalStateException e) {
            redis.call(new RawCommand("DEL", List.of(stageKey)));
            throw e;
        }
    }

    private static byte[] expireAt(SnapshotKey key) {
        return Long.toString(key.expireAtMillis()).getBytes(StandardCharsets.US_ASCII);
    }

    /** Keys and payload bytes handed over so far. */
    long keys() {
        return keys;
    }

    long bytes() {
        return bytes;
    }

    /** Keys handed over in {@code slots}. */
    long keysIn(BitSet slots) {
        long n = 0;
        for (int slot = slots.nextSetBit(0); slot >= 0; slot = slots.nextSetBit(slot + 1)) {
            n += keysPerSlot[slot];
        }
        return n;
    }

    /** {@code commands} as one MULTI per slot of their (first) keys, in their order within each slot. */
    private static List<List<RawCommand>> bySlot(List<RawCommand> commands) {
        Map<Integer, List<RawCommand>> slots = new LinkedHashMap<>();
        for (RawCommand command : commands) {
            slots.computeIfAbsent(HashSlot.of(command.firstArg()), s -> new ArrayList<>()).add(command);
        }
        return List.copyOf(slots.values());
    }

    /** Sends the block being built (after the one in flight is settled). */
    private void flush() {
        if (block.isEmpty()) {
            return;
        }
        List<List<RawCommand>> blocks = cluster ? bySlot(block) : List.of(List.copyOf(block));
        block.clear();
        settle();
        flying = redis.submit(blocks);
        flyingBlocks = blocks;
        blockBytes = 0;
    }

    /** Waits for every block sent and checks every reply. */
    void finish() {
        flush();
        settle();
    }

    private void settle() {
        if (flying == null) {
            return;
        }
        List<TransactionReply> replies = redis.await(flying);
        flying = null;
        checkAll(replies, flyingBlocks);
    }

    private void checkAll(List<TransactionReply> replies, List<List<RawCommand>> transactions) {
        for (int i = 0; i < replies.size(); i++) {
            check(replies.get(i), transactions.get(i).stream().map(RawCommand::firstArg).toList());
        }
    }

    private void check(TransactionReply reply, List<byte[]> keysOfBlock) {
        for (int i = 0; i < reply.queued().size(); i++) {
            if (Reply.isError(reply.queued().get(i))) {
                throw refused(keysOfBlock.get(i), reply.queued().get(i));
            }
        }
        if (!reply.committed()) {
            throw new IllegalStateException(where + " refused a block of the copy: " + Reply.describe(reply.exec()));
        }
        List<Object> results = reply.results();
        for (int i = 0; i < results.size(); i++) {
            if (Reply.isError(results.get(i))) {
                throw refused(keysOfBlock.get(i), results.get(i));
            }
        }
    }

    private IllegalStateException refused(byte[] key, Object error) {
        String text = Reply.describe(error);
        String hint = text.contains("DUMP payload") ? " (the joining Redis is older than the peer: set capture.snapshotRdbVersion"
                + " in the mesh file to its RDB version, e.g. 9 for Redis 6.2)" : "";
        return new IllegalStateException(where + " refused key '" + new String(key, StandardCharsets.UTF_8) + "': " + text + hint
                + "; the join stopped, nothing was reported as done (run it again with --replace-data once fixed)");
    }

    @Override
    public void close() {
        redis.close();
    }
}
