package io.ferry.capture;

import io.ferry.capture.eviction.EvictionWatch;
import io.ferry.capture.psync.PsyncClient;
import io.ferry.capture.publish.OutboxSink;
import io.ferry.capture.snapshot.SnapshotPublisher;
import io.ferry.capture.stream.EvictionCheck;
import io.ferry.capture.stream.ExpiryTracker;
import io.ferry.capture.stream.StreamMapper;
import io.ferry.capture.stream.StreamSink;
import io.ferry.schemas.EventKind;
import io.ferry.schemas.SourcePosition;
import io.ferry.topology.CaptureSettings;
import io.ferry.topology.InstanceConfig;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One replication connection: routes a full resync into a snapshot and the stream into the
 * {@link StreamMapper}, and keeps {@code resume} at the end of the last complete unit, which is where
 * the next connection continues from.
 */
final class ReplicationSession implements PsyncClient.Listener, StreamSink {

    private static final Logger log = LoggerFactory.getLogger(ReplicationSession.class);

    /** What the session reports to its service. */
    interface Status {
        void synced(PsyncClient.SyncMode mode);

        void state(String state, boolean streaming);
    }

    private final InstanceConfig instance;
    private final CaptureSettings settings;
    private final CaptureMetrics metrics;
    private final PsyncClient psync;
    private final OutboxSink sink;
    private final ExpiryTracker expiries;
    private final EvictionWatch evictions;
    private final AtomicReference<SourcePosition> resume;
    private final Status status;
    private final BooleanSupplier closing;
    private StreamMapper mapper;
    private boolean progressed;

    ReplicationSession(InstanceConfig instance, CaptureSettings settings, CaptureMetrics metrics, PsyncClient psync,
                       OutboxSink sink, ExpiryTracker expiries, EvictionWatch evictions,
                       AtomicReference<SourcePosition> resume, Status status, BooleanSupplier closing) {
        this.instance = instance;
        this.settings = settings;
        this.metrics = metrics;
        this.psync = psync;
        this.sink = sink;
        this.expiries = expiries;
        this.evictions = evictions;
        this.resume = resume;
        this.status = status;
        this.closing = closing;
    }

    /** Whether any event or position came through (a working connection, as opposed to a failed attempt). */
    boolean progressed() {
        return progressed;
    }

    @Override
    public void onContinue(String replid, long offset) throws Exception {
        SourcePosition from = resume.get();
        status.synced(PsyncClient.SyncMode.CONTINUE);
        if (!replid.equals(from.getReplid())) {
            log.info("source {} continues under a new replication id {} (was {}): failover or restart, no resync needed",
                    instance.redis(), replid, from.getReplid());
        }
        log.info("resumed with +CONTINUE from {} at {}:{} (db {})", instance.redis(), replid, offset, from.getDb());
        sink.replid(replid);
        mapper = newMapper(offset, from.getDb());
        advance(offset, from.getDb()); // records the (possibly new) replication id
        status.state("streaming", true);
    }

    @Override
    public void onFullResync(String replid, long offset, Path rdb) throws Exception {
        status.synced(PsyncClient.SyncMode.FULLRESYNC);
        metrics.fullResync();
        SourcePosition from = resume.get();
        log.warn("full resync from {}: {} (replication id {}, offset {}); publishing a snapshot", instance.redis(),
                from == null ? "first start" : "position " + from.getReplid() + ":" + from.getOffset() + " not in the source's backlog",
                replid, offset);
        status.state("publishing a snapshot", false);
        sink.replid(replid);
        expiries.clear();
        SourcePosition position = sink.position(offset, 0); // the master sends SELECT before its next command
        SnapshotPublisher.Result result = SnapshotPublisher.publish(rdb, position, instance.id(), settings.maxRecordBytes(),
                settings.snapshotRdbVersion(), sink, expiries, closing);
        resume.set(position);
        progressed = true;
        log.info("snapshot of {} published: {} keys ({} reserved keys skipped)", instance.id(), result.keys(), result.skipped());
        mapper = newMapper(offset, 0);
        status.state("streaming", true);
    }

    private StreamMapper newMapper(long offset, int db) {
        EvictionCheck evictionCheck = evictions == null ? EvictionCheck.NONE
                : (keyDb, key, start, end) -> evictions.evicted(keyDb, key, start, end, psync.lastReadNanos());
        return new StreamMapper(this, psync.keyExtractor(), expiries, evictionCheck, System::currentTimeMillis,
                settings.expiryToleranceMillis(), offset, db);
    }

    @Override
    public void onCommand(byte[][] argv, long endOffset) throws Exception {
        mapper.accept(argv, endOffset);
    }

    @Override
    public void publish(EventKind kind, int db, List<byte[][]> commands, List<byte[]> keys, long endOffset, int endDb)
            throws InterruptedException {
        sink.publish(kind, db, commands, keys, endOffset, endDb);
        resume.set(sink.position(endOffset, endDb));
        progressed = true;
    }

    @Override
    public void advance(long endOffset, int endDb) throws InterruptedException {
        sink.advance(endOffset, endDb);
        resume.set(sink.position(endOffset, endDb));
        progressed = true;
    }

    @Override
    public void filtered(String command, String reason) {
        sink.filtered(command, reason);
    }

    @Override
    public void applied(String origin, int partition, long offset) {
        sink.applied(origin, partition, offset);
    }

    @Override
    public void echo(String origin) {
        sink.echo(origin);
    }
}
