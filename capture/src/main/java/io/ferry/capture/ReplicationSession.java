package io.ferry.capture;

import io.ferry.capture.eviction.EvictionWatch;
import io.ferry.capture.psync.PsyncClient;
import io.ferry.capture.publish.OutboxSink;
import io.ferry.capture.snapshot.SnapshotMapper;
import io.ferry.capture.snapshot.SnapshotPublisher;
import io.ferry.capture.stream.EvictionCheck;
import io.ferry.capture.stream.ExpiryTracker;
import io.ferry.capture.stream.StreamMapper;
import io.ferry.capture.stream.StreamSink;
import io.ferry.capture.wipe.CopyReader;
import io.ferry.capture.wipe.SourceKeys;
import io.ferry.capture.wipe.SourceWipedException;
import io.ferry.capture.wipe.WipeGuard;
import io.ferry.resp.SpilledBulk;
import io.ferry.schemas.AppliedVector;
import io.ferry.schemas.EventKind;
import io.ferry.schemas.SourcePosition;
import io.ferry.topology.CaptureSettings;
import io.ferry.topology.InstanceConfig;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One replication connection: routes a full resync into a snapshot and the stream into the
 * {@link StreamMapper}, and keeps {@code resume} at the end of the last complete unit, which is where
 * the next connection continues from. A full resync under a new replication id is first checked by the
 * {@link WipeGuard}: a wiped source's copy is not published (the session ends with
 * {@link SourceWipedException}) unless the operator accepted exactly that replication id.
 */
final class ReplicationSession implements PsyncClient.Listener, StreamSink {

    private static final Logger log = LoggerFactory.getLogger(ReplicationSession.class);

    /** What the session reports to its service. */
    interface Status {
        void synced(PsyncClient.SyncMode mode);

        void state(String state, boolean streaming);
    }

    private final InstanceConfig instance;
    private final CaptureSource source;
    private final CaptureSettings settings;
    private final CaptureMetrics metrics;
    private final PsyncClient psync;
    private final OutboxSink sink;
    private final ExpiryTracker expiries;
    private final EvictionWatch evictions;
    private final AtomicReference<SourcePosition> resume;
    private final Status status;
    private final BooleanSupplier closing;
    private final SourceKeys sourceKeys;
    /** The replication id the operator accepted as wiped ({@code --accept-wiped-source}), or null. */
    private final String acceptWiped;
    private StreamMapper mapper;
    private boolean progressed;

    ReplicationSession(InstanceConfig instance, CaptureSource source, CaptureSettings settings, CaptureMetrics metrics, PsyncClient psync,
                       OutboxSink sink, ExpiryTracker expiries, EvictionWatch evictions,
                       AtomicReference<SourcePosition> resume, Status status, BooleanSupplier closing,
                       SourceKeys sourceKeys, String acceptWiped) {
        this.instance = instance;
        this.source = source;
        this.settings = settings;
        this.metrics = metrics;
        this.psync = psync;
        this.sink = sink;
        this.expiries = expiries;
        this.evictions = evictions;
        this.resume = resume;
        this.status = status;
        this.closing = closing;
        this.sourceKeys = sourceKeys;
        this.acceptWiped = acceptWiped;
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
                    psync.endpoint(), replid, from.getReplid());
        }
        log.info("resumed with +CONTINUE from {} at {}:{} (db {})", psync.endpoint(), replid, offset, from.getDb());
        sink.replid(replid);
        mapper = newMapper(offset, from.getDb());
        advance(offset, from.getDb()); // records the (possibly new) replication id
        status.state("streaming", true);
    }

    @Override
    public void onFullResync(String replid, long offset, Path rdb) throws Exception {
        status.synced(PsyncClient.SyncMode.FULLRESYNC);
        SourcePosition from = resume.get();
        expiries.clear();
        CopyReader.Contents copy = null;
        SourcePosition resyncOf = null;
        if (from != null) {
            long knownKeys = sourceKeys.known(from.getReplid());
            AppliedVector applied = sink.applied();
            if (WipeGuard.worthChecking(from.getReplid(), replid, knownKeys, applied, settings.wipeGuardPercent())) {
                status.state("checking the source's copy under its new replication id " + replid, false);
                copy = CopyReader.read(rdb, expiries, closing);
                Optional<String> wiped = WipeGuard.check(from.getReplid(), replid, knownKeys, applied,
                        settings.wipeGuardPercent(), copy.copy());
                if (wiped.isPresent()) {
                    if (!replid.equals(acceptWiped)) {
                        throw wiped(from, replid, wiped.get());
                    }
                    acceptWiped(from, replid, offset, wiped.get(), copy);
                    return;
                }
                log.info("source {} of {} continues under a new replication id {} with {} key(s) (had {}): not wiped",
                        psync.endpoint(), instance.id(), replid, copy.keys(), knownKeys);
            }
        }
        metrics.fullResync();
        if (from == null) {
            // expected on a first start: nothing to warn about
            log.info("first start on {}: publishing its keys as a snapshot (replication id {}, offset {})", psync.endpoint(), replid, offset);
        } else {
            if (copy == null) {
                status.state("reading the apply checkpoints of the source's copy", false);
                copy = CopyReader.read(rdb, null, closing);
            }
            log.warn("full resync from {}: position {}:{} not in the source's backlog (replication id {}, offset {}); publishing"
                    + " its {} key(s) as a resync snapshot: peers replace their copies of them and delete what {} no longer"
                    + " has, except keys holding writes it had not applied yet (see the README, 'A full resync of a running"
                    + " instance'). Raise repl-backlog-size to avoid this (see ferry_capture_backlog_headroom_seconds)",
                    psync.endpoint(), from.getReplid(), from.getOffset(), replid, offset, copy.keys(), instance.id());
            if (keptCheckpoints(sink.applied(), copy.applied())) {
                // The snapshot stands where the copy's apply checkpoints stand, not where the committed position did.
                sink.startApplied(copy.applied());
                resyncOf = from;
            } else {
                log.warn("the copy of {} holds none of the apply checkpoints it had ({}): it was flushed while the capture was"
                        + " away, and what it has seen of its peers is unknown; publishing it as a plain snapshot (peers only add"
                        + " keys they lack, delete nothing); run ferry verify --config <mesh.yaml> --repair",
                        instance.id(), sink.applied());
                sink.startApplied(copy.applied());
            }
        }
        status.state("publishing a snapshot", false);
        sink.replid(replid);
        expiries.clear();
        SourcePosition position = sink.position(offset, 0); // the master sends SELECT before its next command
        SnapshotPublisher.Result result;
        sink.resyncOf(resyncOf);
        try {
            // a first snapshot's keys may have been moved into this shard just before its PSYNC: each replaces the
            // peers' copy, after the old shard's partition holds the key's earlier writes (see CaptureSource#snapshotKey)
            boolean first = from == null;
            result = SnapshotPublisher.publish(rdb, position, instance.id(), settings.maxRecordBytes(),
                    settings.snapshotRdbVersion(), sink, expiries, closing, key -> {
                        if (!first || !source.snapshotKey(key)) {
                            return false;
                        }
                        sink.orderNextAfter(source.movedIn());
                        return true;
                    });
        } finally {
            sink.resyncOf(null);
        }
        sourceKeys.copied(replid, result.keys());
        resume.set(position);
        progressed = true;
        log.info("snapshot of {} published: {} keys ({} reserved keys skipped)", instance.id(), result.keys(), result.skipped());
        mapper = newMapper(offset, 0);
        status.state("streaming", true);
    }

    /**
     * Whether the copy still holds one of the apply checkpoints the committed position knew (or none were
     * known): only then does it say which of the peers' writes the snapshot contains.
     */
    static boolean keptCheckpoints(AppliedVector before, AppliedVector copy) {
        return before.isEmpty() || before.asMap().keySet().stream().anyMatch(copy.asMap()::containsKey);
    }

    private SourceWipedException wiped(SourcePosition from, String replid, String why) {
        String accept = "ferry capture --config <mesh.yaml> --instance " + instance.id() + " --accept-wiped-source " + replid;
        String rejoin = "ferry join --config <mesh.yaml> --instance " + instance.id() + " --from <live peer> --replace-data";
        String readiness = "source wiped: " + psync.endpoint() + " came back under replication id " + replid + " and " + why
                + "; nothing published past " + from.getReplid() + ":" + from.getOffset() + "; waiting for an operator ("
                + rejoin + ", or " + accept + ")";
        String message = "the source of instance " + instance.id() + " (" + psync.endpoint() + ") answered FULLRESYNC under a new"
                + " replication id " + replid + " (the committed position is " + from.getReplid() + ":" + from.getOffset()
                + ") and " + why + ": it was restarted without its data, or flushed and rebuilt. Its copy is NOT published,"
                + " nor anything written to it from now on: peers would receive what it holds now (their own keys replayed"
                + " into it, possibly deleted since) as " + instance.id() + "'s writes, while what it lost, which the peers"
                + " still hold, would stay lost here. The Kafka position stays at " + from.getReplid() + ":" + from.getOffset()
                + " and the peers keep their data. To take " + instance.id() + " as it is now as the truth for its future writes"
                + " (its current keys are not published, only what is written after the capture restarts), stop this capture"
                + " and run: " + accept + " . The proper fix is to re-seed it from a live peer: stop " + instance.id()
                + "'s apply agent and run: " + rejoin + " ; this capture then resumes by itself without publishing the copy."
                + " If the source gets its old data and replication history back, this capture resumes by itself too.";
        return new SourceWipedException(replid, from.getReplid(), readiness, message);
    }

    /** The operator accepted this wiped source: an empty snapshot marks where its new history starts. */
    private void acceptWiped(SourcePosition from, String replid, long offset, String why, CopyReader.Contents copy)
            throws InterruptedException {
        log.warn("accepting the wiped source {} of {} as it is (--accept-wiped-source {}; {}). Its {} key(s) are NOT"
                        + " published; its writes from offset {} on are. The committed position moves from {}:{} to {}:{}",
                psync.endpoint(), instance.id(), replid, why, copy.keys(), offset, from.getReplid(), from.getOffset(), replid, offset);
        sink.replid(replid);
        sink.startApplied(copy.applied()); // the apply checkpoints the copy holds, not the lost ones
        SourcePosition position = sink.position(offset, 0);
        sink.put(SnapshotMapper.marker(EventKind.SNAPSHOT_START, instance.id(), position, Instant.now()), false);
        sink.put(SnapshotMapper.marker(EventKind.SNAPSHOT_END, instance.id(), position, Instant.now()), true);
        sourceKeys.copied(replid, copy.keys());
        resume.set(position);
        progressed = true;
        mapper = newMapper(offset, 0);
        status.state("streaming", true);
    }

    private StreamMapper newMapper(long offset, int db) {
        EvictionCheck evictionCheck = evictions == null ? EvictionCheck.NONE
                : (keyDb, key, start, end) -> evictions.evicted(keyDb, key, start, end, psync.lastReadNanos());
        return new StreamMapper(this, psync.keyExtractor(), expiries, evictionCheck, System::currentTimeMillis,
                settings.expiryToleranceMillis(), offset, db)
                .spoolBlocksAbove(settings.maxRecordBytes() / 2, psync.spillDirectory());
    }

    @Override
    public void onCommand(byte[][] argv, Map<byte[], SpilledBulk> spilled, long endOffset) throws Exception {
        if (!mapper.inBlock() && source.slotMigration(argv, endOffset)) {
            // moving a key between shards is no user change: peers keep the copy they have (see SlotMigrations)
            filtered(io.ferry.capture.stream.Argv.name(argv), "slot migration");
            io.ferry.capture.stream.StreamMapper.discard(spilled); // a big key's RESTORE-ASKING payload
            advance(endOffset, mapper.db());
            return;
        }
        mapper.accept(argv, spilled, endOffset);
    }

    @Override
    public void spilledValues(Map<byte[], SpilledBulk> values, long beforeOffset, int beforeDb) {
        sink.spilledValues(values, beforeOffset, beforeDb);
    }

    @Override
    public void publish(EventKind kind, int db, List<byte[][]> commands, List<byte[]> keys, long endOffset, int endDb)
            throws InterruptedException {
        sink.orderNextAfter(source.movedIn());
        sink.publish(kind, db, commands, keys, endOffset, endDb);
        resume.set(sink.position(endOffset, endDb));
        progressed = true;
    }

    @Override
    public void publishStaged(int db, io.ferry.capture.stream.BlockSpool spool, List<byte[]> keys, long droppedKeys,
                              long beforeOffset, long endOffset, int endDb) throws InterruptedException {
        sink.orderNextAfter(source.movedIn());
        sink.publishStaged(db, spool, keys, droppedKeys, beforeOffset, endOffset, endDb);
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
    public void sourceTime(long millis, boolean republished) {
        sink.sourceTime(millis, republished);
    }

    @Override
    public void keyExpiries(io.ferry.schemas.KeyExpiries expiries) {
        sink.keyExpiries(expiries);
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
