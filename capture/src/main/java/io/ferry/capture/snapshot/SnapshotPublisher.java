package io.ferry.capture.snapshot;

import io.ferry.capture.publish.Outbox;
import io.ferry.capture.publish.OutboxSink;
import io.ferry.capture.stream.ExpiryTracker;
import io.ferry.schemas.EventKind;
import io.ferry.schemas.ReplicationPolicy;
import io.ferry.schemas.SourcePosition;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes a spooled RDB as SNAPSHOT_START, one SNAPSHOT_KEY or several SNAPSHOT_CHUNKs per key, and
 * SNAPSHOT_END — the only one of them whose position may be committed as a place to resume from. Keys
 * under {@code __ferry:} are skipped; volatile keys are handed to the expiry tracker.
 */
public final class SnapshotPublisher {

    /** Keys published and reserved keys skipped. */
    public record Result(long keys, long skipped) {
    }

    private static final Logger LOG = LoggerFactory.getLogger(SnapshotPublisher.class);

    private SnapshotPublisher() {
    }

    public static Result publish(Path rdb, SourcePosition position, String origin, int maxRecordBytes, int rdbVersion,
                                 OutboxSink sink, ExpiryTracker expiries, BooleanSupplier closing)
            throws IOException, InterruptedException {
        return publish(rdb, position, origin, maxRecordBytes, rdbVersion, sink, expiries, closing, key -> false);
    }

    /**
     * As above; {@code beforeKey} is told each published key before its events are put into {@code sink}, and
     * answers whether peers must replace their copy of it ({@link SnapshotMapper#emitReplacing}).
     */
    public static Result publish(Path rdb, SourcePosition position, String origin, int maxRecordBytes, int rdbVersion,
                                 OutboxSink sink, ExpiryTracker expiries, BooleanSupplier closing,
                                 java.util.function.Predicate<byte[]> beforeKey)
            throws IOException, InterruptedException {
        sink.put(SnapshotMapper.marker(EventKind.SNAPSHOT_START, origin, position, Instant.now()), false);
        long[] skipped = {0};
        // one key too big to down-convert must not stop the whole instance's replication: it goes as it is
        long keys = RdbKeyReader.readSendingUnconverted(rdb, rdbVersion, reason -> LOG.warn("{}", reason), key -> {
            if (closing.getAsBoolean()) {
                throw new Outbox.OutboxClosedException();
            }
            if (ReplicationPolicy.isReservedKey(key.key())) {
                skipped[0]++;
                return;
            }
            if (key.expireAtMillis() > 0) {
                expiries.expireAt(key.db(), key.key(), key.expireAtMillis());
            }
            if (!beforeKey.test(key.key())) {
                SnapshotMapper.emit(key, origin, position, Instant.now(), maxRecordBytes, event -> sink.put(event, false));
            } else if (!SnapshotMapper.emitReplacing(key, origin, position, Instant.now(), maxRecordBytes, event -> sink.put(event, false))) {
                LOG.warn("key {} moved into this shard before its first PSYNC is too big for one record: it goes as a snapshot"
                        + " key, which a peer already holding it keeps, so writes made to it here before the PSYNC may be missing"
                        + " there (ferry verify --repair finds them)", RdbKeyReader.printable(key.key()));
            }
        });
        sink.put(SnapshotMapper.marker(EventKind.SNAPSHOT_END, origin, position, Instant.now()), true);
        return new Result(keys - skipped[0], skipped[0]);
    }
}
