package io.ferry.capture.snapshot;

import com.moilioncircle.redis.replicator.Configuration;
import com.moilioncircle.redis.replicator.RedisRdbReplicator;
import com.moilioncircle.redis.replicator.rdb.datatype.ExpiredType;
import com.moilioncircle.redis.replicator.rdb.dump.DumpRdbVisitor;
import com.moilioncircle.redis.replicator.rdb.dump.datatype.DumpKeyValuePair;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Reads an RDB file key by key as DUMP payloads. redis-replicator is used only for this: the RDB
 * format is its strength; the live stream is read by Ferry's own PSYNC client so that no command can
 * be dropped.
 */
public final class RdbKeyReader {

    /** Receives keys in RDB order; may block (back-pressure) or throw to stop reading. */
    public interface KeyConsumer {
        void accept(SnapshotKey key) throws Exception;
    }

    private RdbKeyReader() {
    }

    /**
     * Streams every key of {@code rdb} to {@code consumer}; returns how many keys were read.
     *
     * @param rdbVersion RDB version of the DUMP payloads (down-converted by redis-replicator), 0 for the file's own
     */
    public static long read(Path rdb, int rdbVersion, KeyConsumer consumer) throws IOException, InterruptedException {
        long[] count = {0};
        Exception[] failure = {null};
        RedisRdbReplicator replicator = new RedisRdbReplicator(rdb.toFile(), Configuration.defaultSetting());
        try {
            replicator.setRdbVisitor(rdbVersion > 0 ? new DumpRdbVisitor(replicator, rdbVersion) : new DumpRdbVisitor(replicator));
            replicator.addEventListener((rep, event) -> {
                if (failure[0] != null || !(event instanceof DumpKeyValuePair pair)) {
                    return;
                }
                long expireAt = pair.getExpiredType() == ExpiredType.NONE || pair.getExpiredValue() == null ? 0
                        : pair.getExpiredType() == ExpiredType.SECOND ? pair.getExpiredValue() * 1000 : pair.getExpiredValue();
                try {
                    consumer.accept(new SnapshotKey((int) pair.getDb().getDbNumber(), pair.getKey(), pair.getValue(), expireAt));
                    count[0]++;
                } catch (Exception e) {
                    failure[0] = e;
                    try {
                        rep.close();
                    } catch (IOException ignored) {
                        // already failing
                    }
                }
            });
            replicator.addExceptionListener((rep, e, event) -> {
                if (failure[0] == null) {
                    failure[0] = e instanceof Exception ex ? ex : new IOException(e);
                }
            });
            replicator.open();
        } finally {
            replicator.close();
        }
        if (failure[0] instanceof InterruptedException interrupted) {
            throw interrupted;
        }
        if (failure[0] instanceof IOException io) {
            throw io;
        }
        if (failure[0] != null) {
            throw new IOException("cannot read the RDB snapshot: " + failure[0].getMessage(), failure[0]);
        }
        return count[0];
    }
}
