package io.ferry.apply.convergence;

import io.ferry.apply.batch.BatchBuilder;
import io.ferry.apply.redis.RawCommand;
import io.ferry.apply.redis.Reply;
import io.ferry.apply.redis.TransactionReply;
import io.ferry.resp.cluster.HashSlot;
import io.ferry.schemas.Command;
import io.ferry.schemas.ReplicationPolicy;
import io.ferry.topology.conflict.RepublishScript;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The body of the one MULTI/EXEC a conflict repair runs: the winning write re-executed, or the key
 * re-published by {@link RepublishScript}, stamped with the winning write's source time in the repair-time
 * key of the repaired key's own slot. The body is therefore single-slot and runs the same way on a
 * standalone Redis and, on the master of that slot, on a Redis Cluster.
 */
final class RepairTransaction {

    private RepairTransaction() {
    }

    /**
     * @param reexec           the winning write to run again (one command on {@code key}), or null to re-publish the key's value
     * @param sourceTimeMillis the winning write's source time; 0 when unknown (the repair is then published with the current time)
     * @param republication    a re-publication after a resync of this instance (or a repair settling one): marked for peers
     *                         by its own time key ({@link ReplicationPolicy#sourceTimeKey})
     */
    static List<RawCommand> body(byte[] key, Command reexec, long sourceTimeMillis, boolean republication) {
        byte[] timeKey = timeKey(key, republication);
        if (reexec != null) {
            return List.of(BatchBuilder.toRaw(reexec),
                    new RawCommand("SET", List.of(timeKey, Long.toString(sourceTimeMillis).getBytes(StandardCharsets.US_ASCII))));
        }
        if (sourceTimeMillis <= 0 && !republication) {
            return List.of(new RawCommand("EVAL", RepublishScript.evalArgs(key)));
        }
        long time = sourceTimeMillis > 0 ? sourceTimeMillis : System.currentTimeMillis();
        return List.of(new RawCommand("EVAL", RepublishScript.evalArgs(key, timeKey, time)));
    }

    /** The time key of a repair (or re-publication) in {@code key}'s hash slot. */
    static byte[] timeKey(byte[] key, boolean republication) {
        return ReplicationPolicy.sourceTimeKey(HashSlot.tag(HashSlot.of(key)), republication);
    }

    /**
     * What the repair came to: the first error (a command refused while queueing, one failing inside the
     * transaction, or EXEC's own), else the reply of the repairing command.
     */
    static Object outcome(TransactionReply reply) {
        for (Object queued : reply.queued()) {
            if (Reply.isError(queued)) {
                return queued;
            }
        }
        if (!reply.committed()) {
            return reply.exec();
        }
        for (Object result : reply.results()) {
            if (Reply.isError(result)) {
                return result;
            }
        }
        return reply.results().get(0);
    }
}
