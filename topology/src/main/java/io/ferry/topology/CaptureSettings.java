package io.ferry.topology;

/**
 * How a capture agent batches and paces its work.
 *
 * @param heartbeatMillis        interval of heartbeat events when Redis is idle (at most 1000)
 * @param transactionMaxEvents   events per Kafka transaction before it is committed
 * @param transactionMaxMillis   longest time events wait in an open transaction
 * @param maxRecordBytes         largest record the capture writes; bigger snapshot keys are chunked
 * @param expiryToleranceMillis  a DEL of a key whose tracked expiry is at most this far in the future
 *                               is taken as the source expiring it (clock skew between Redis and capture)
 * @param filterEvictions        tell DELs caused by eviction (maxmemory) apart from users' DELs and do not
 *                               publish them; subscribes to the source's {@code evicted} keyspace events and
 *                               adds {@code Ee} to its {@code notify-keyspace-events} when missing
 * @param snapshotRdbVersion     RDB version of the snapshot's RESTORE payloads: 0 keeps the source's own;
 *                               9 lets Redis 6.2 peers RESTORE a snapshot of a 7.x source (mixed-version meshes)
 * @param wipeGuardPercent       a source that comes back under a new replication id with fewer keys than this
 *                               percentage of what it had is taken as wiped: nothing more is published until an
 *                               operator acts; 0 switches the guard off
 * @param backlogWarnSeconds     warn when the source's replication backlog holds less than this many seconds of
 *                               its writes (a capture outage longer than that needs a full resync); 0: never
 */
public record CaptureSettings(int heartbeatMillis, int transactionMaxEvents, int transactionMaxMillis,
                              int maxRecordBytes, int expiryToleranceMillis, boolean filterEvictions,
                              int snapshotRdbVersion, int wipeGuardPercent, int backlogWarnSeconds) {

    /** Largest record a capture writes given {@code maxRecordBytes}: snapshot chunks stay below it, plus the event's envelope. */
    public static int recordLimit(int maxRecordBytes) {
        return maxRecordBytes + 64 * 1024;
    }

    public static CaptureSettings defaults() {
        return new CaptureSettings(1000, 5000, 50, 900 * 1024, 50, true, 0, 10, 60);
    }
}
