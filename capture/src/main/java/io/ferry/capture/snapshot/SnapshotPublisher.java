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
            SnapshotMapper.emit(key, origin, position, Instant.now(), maxRecordBytes, event -> sink.put(event, false));
        });
        sink.put(SnapshotMapper.marker(EventKind.SNAPSHOT_END, origin, position, Instant.now()), true);
        return new Result(keys - skipped[0], skipped[0]);
    }
}
