package io.ferry.apply.batch;

import io.ferry.schemas.ReplicationPolicy;
import org.apache.kafka.common.TopicPartition;

/**
 * What the apply agent knows about one partition of one peer's changes topic: the checkpoint (last
 * Kafka offset applied, as stored in the target Redis) and any big snapshot key being staged in it.
 */
public final class PartitionState {

    private final TopicPartition partition;
    private final String peer;
    private final byte[] checkpointKey;
    private final ChunkAssembler chunks;
    private long checkpoint;
    /** When the checkpoint last moved (nanos): records waiting for this partition wait while it keeps moving. */
    private long advancedNanos = System.nanoTime();
    private volatile boolean retired;

    /** @param checkpoint last applied offset, -1 when nothing was applied yet */
    public PartitionState(TopicPartition partition, String peer, long checkpoint) {
        this.partition = partition;
        this.peer = peer;
        this.checkpointKey = ReplicationPolicy.checkpointKey(peer, partition.partition());
        this.checkpoint = checkpoint;
        this.chunks = new ChunkAssembler(key -> ReplicationPolicy.snapshotStageKey(peer, partition.partition(), key));
    }

    public TopicPartition partition() {
        return partition;
    }

    public String peer() {
        return peer;
    }

    public byte[] checkpointKey() {
        return checkpointKey;
    }

    public long checkpoint() {
        return checkpoint;
    }

    /** Called once the batch that wrote {@code offset} as checkpoint has been committed by Redis. */
    public void advanceTo(long offset) {
        if (offset > checkpoint) {
            checkpoint = offset;
            advancedNanos = System.nanoTime();
        }
    }

    /** When the checkpoint last moved forward (or this state was made), in {@link System#nanoTime()} terms. */
    public long advancedNanos() {
        return advancedNanos;
    }

    /** The offset Kafka should deliver next (group offsets use the same convention). */
    public long nextOffset() {
        return checkpoint + 1;
    }

    /** Whether the partition's last record was read: its capture retired it ({@link ReplicationPolicy#RETIRED_HEADER}). */
    public boolean retired() {
        return retired;
    }

    void markRetired() {
        retired = true;
    }

    ChunkAssembler chunks() {
        return chunks;
    }
}
