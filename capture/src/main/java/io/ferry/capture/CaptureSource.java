package io.ferry.capture;

import io.ferry.schemas.AppliedVector;
import io.ferry.topology.RedisEndpoint;
import java.util.concurrent.CompletableFuture;

/**
 * Which source stream one {@link CaptureService} reads and where it goes: a standalone Redis into
 * partition 0 of its instance's changes topic, or one shard of a Redis Cluster into that shard's own
 * partition. The partition also names the shard's position key and transactional ids.
 */
public interface CaptureSource {

    /** The partition of the changes topic this stream is published to. */
    int partition();

    /** The node to replicate from now: the shard's current master (asked again before every connection). */
    RedisEndpoint master();

    /**
     * The node ids of the shard (its master and replicas) as last seen, stored with every position so a
     * restart finds the shard's partition again after failovers and slot moves; null for a standalone Redis.
     */
    String shardNodes();

    /**
     * Whether {@code argv}, read outside MULTI and ending at {@code endOffset}, is a slot migration's own
     * command rather than a user's write (never for a standalone Redis). May wait for other shards' streams.
     */
    default boolean slotMigration(byte[][] argv, long endOffset) throws java.io.IOException, InterruptedException {
        return false;
    }

    /**
     * For a write about to be published: when slot migrations moved keys into this shard since the stream's
     * previous published write, the entries of the instance's other partitions it must be applied after
     * (completing once the old shards' partitions committed every write made there before the move); null
     * when there is nothing to wait for (always for a standalone Redis).
     */
    default CompletableFuture<AppliedVector> movedIn() {
        return null;
    }

    /**
     * A key of the first snapshot of this source, about to be published (called on the reader's thread before
     * its event). A Redis Cluster shard that joined while the capture ran holds only keys moved into it: those
     * moved before its first PSYNC reach it in the snapshot, not as a RESTORE-ASKING in its stream, and the old
     * shard's DEL must still be told apart from a user's (see SlotMigrations), and the key's value holds writes
     * made on this shard before the PSYNC that its stream never carried. Returns whether peers must replace their
     * copy of the key (ordered after the old shard's partition); false for a standalone Redis.
     */
    default boolean snapshotKey(byte[] key) {
        return false;
    }

    /**
     * Checked before every PSYNC on {@code node}: throws when it must not be streamed from. A cluster shard
     * is streamed from its master only: a node that became another master's replica would forward that
     * master's stream, which another partition carries. A standalone Redis may be a replica.
     */
    default void checkStreamable(RedisEndpoint node) throws java.io.IOException {
    }

    /** A standalone Redis: partition 0, always the configured endpoint. */
    static CaptureSource standalone(RedisEndpoint redis) {
        return new CaptureSource() {
            @Override
            public int partition() {
                return 0;
            }

            @Override
            public RedisEndpoint master() {
                return redis;
            }

            @Override
            public String shardNodes() {
                return null;
            }
        };
    }
}
