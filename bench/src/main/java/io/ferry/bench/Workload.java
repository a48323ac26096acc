package io.ferry.bench;

import io.ferry.resp.RespBuffer;

/** What the load generator writes for each sequence number. */
interface Workload {

    /** How many commands and replies one item of a workload produces. */
    enum Shape {
        /** one write command, one reply */
        SINGLE(1, 1),
        /** MULTI, three writes, EXEC: three commands applied, five replies */
        MULTI_OF_THREE(3, 5);

        final int ops;
        final int replies;

        Shape(int ops, int replies) {
            this.ops = ops;
            this.replies = replies;
        }
    }

    String name();

    /** Appends the write(s) for item {@code seq} to {@code out}. */
    Shape encode(long seq, RespBuffer out);

    /**
     * The key whose slot decides which shard of a Redis Cluster source item {@code seq} goes to; only
     * workloads whose every item stays in one slot can be spread over shards.
     */
    default byte[] routingKey(long seq) {
        throw new UnsupportedOperationException(name() + " cannot be spread over a cluster's shards");
    }
}
