package io.ferry.bench;

import io.ferry.localmesh.RedisServer;
import java.util.Map;

/** A way of carrying a source Redis's writes to a target Redis: native replication or Ferry. */
interface ReplicationUnderTest extends AutoCloseable {

    /** "native" or "ferry". */
    String name();

    /** The source, or for a Redis Cluster source the node its mesh entry names. */
    RedisServer source();

    /** The load generator's connections to the source: one, or one per master of a cluster. */
    default SourcePipes openSourcePipes() {
        return SourcePipes.standalone(source().port());
    }

    RedisServer target();

    /** Every process that works for this replication, by role, for CPU and memory accounting. */
    Map<String, Long> processes();

    /** Stops delivering to the target while the source keeps accepting writes. */
    void pauseDelivery();

    /** Resumes delivery; returns at once, progress is observed on the target. */
    void resumeDelivery();

    /** Bytes the replication has stored or sent for the source's writes so far (its log or stream). */
    long streamBytes();

    /** Waits until everything written to the source is stored in the replication log (Kafka for Ferry). */
    void awaitStored(long itemsWritten, java.time.Duration timeout);

    /** How the last resume caught up (for native: partial or full resync). */
    default String resumeMode() {
        return "";
    }

    @Override
    void close();
}
