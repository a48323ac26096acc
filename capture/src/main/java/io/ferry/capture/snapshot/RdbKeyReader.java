package io.ferry.capture.snapshot;

import com.moilioncircle.redis.replicator.Configuration;
import com.moilioncircle.redis.replicator.RedisRdbReplicator;
import com.moilioncircle.redis.replicator.rdb.DefaultRdbVisitor;
import com.moilioncircle.redis.replicator.rdb.datatype.ExpiredType;
import com.moilioncircle.redis.replicator.rdb.datatype.KeyValuePair;
import com.moilioncircle.redis.replicator.rdb.dump.DumpRdbVisitor;
import com.moilioncircle.redis.replicator.rdb.dump.datatype.DumpKeyValuePair;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.function.Consumer;
import java.nio.file.StandardOpenOption;

/**
 * Reads an RDB file key by key as DUMP payloads. redis-replicator is used only for this: the RDB
 * format is its strength; the live stream is read by Ferry's own PSYNC client so that no command can
 * be dropped. Values are walked, not loaded: each key's payload is read from the file when its consumer
 * asks, in pieces for a big one ({@link DumpPayload}), so the heap a snapshot needs does not grow with
 * the size of its keys.
 */
public final class RdbKeyReader {

    /** Receives keys in RDB order; may block (back-pressure) or throw to stop reading. */
    public interface KeyConsumer {
        void accept(SnapshotKey key) throws Exception;
    }

    /** A key whose value must be re-encoded for an older RDB version and is too big to be, in this heap. */
    public static final class TooBigToConvertException extends IOException {
        TooBigToConvertException(String message) {
            super(message);
        }
    }

    private RdbKeyReader() {
    }

    /**
     * Streams every key of {@code rdb} to {@code consumer}; returns how many keys were read. A key's payload
     * is readable only while {@code consumer} handles it.
     *
     * @param rdbVersion RDB version of the DUMP payloads (values of types that version lacks are re-encoded,
     *                   in memory, by redis-replicator), 0 for the file's own
     */
    public static long read(Path rdb, int rdbVersion, KeyConsumer consumer) throws IOException, InterruptedException {
        return read(rdb, rdbVersion, convertibleBytes(), null, consumer);
    }

    /**
     * The same, but a value too big to re-encode is handed on as it is, in the file's own RDB version, after
     * {@code tooBig} is told why: peers on a Redis that reads that version restore it, older ones refuse it
     * (their apply agents dead-letter it), and the snapshot goes on.
     */
    public static long readSendingUnconverted(Path rdb, int rdbVersion, Consumer<String> tooBig, KeyConsumer consumer)
            throws IOException, InterruptedException {
        return read(rdb, rdbVersion, convertibleBytes(), tooBig, consumer);
    }

    /**
     * The same, re-encoding values of at most {@code convertibleBytes} bytes; a bigger one stops the read with a
     * {@link TooBigToConvertException}, or, with {@code tooBig}, is handed on as it is.
     */
    static long read(Path rdb, int rdbVersion, long convertibleBytes, Consumer<String> tooBig, KeyConsumer consumer)
            throws IOException, InterruptedException {
        long[] count = {0};
        Exception[] failure = {null};
        RedisRdbReplicator replicator = new RedisRdbReplicator(rdb.toFile(), Configuration.defaultSetting());
        try (FileChannel file = FileChannel.open(rdb, StandardOpenOption.READ)) {
            ValueSpanVisitor spans = new ValueSpanVisitor(replicator);
            replicator.setRdbVisitor(new DefaultRdbVisitor(replicator, spans));
            replicator.addEventListener((rep, event) -> {
                if (failure[0] != null || !(event instanceof KeyValuePair<?, ?> pair)) {
                    return;
                }
                long expireAt = pair.getExpiredType() == ExpiredType.NONE || pair.getExpiredValue() == null ? 0
                        : pair.getExpiredType() == ExpiredType.SECOND ? pair.getExpiredValue() * 1000 : pair.getExpiredValue();
                int db = (int) pair.getDb().getDbNumber();
                byte[] key = (byte[]) pair.getKey();
                try {
                    ValueSpanVisitor.Span span = spans.take();
                    if (span == null) {
                        throw new IOException("key '" + printable(key) + "' in db " + db + " has a value of a kind Ferry's RDB reader"
                                + " does not walk (" + event.getClass().getSimpleName() + "); the snapshot stops there, unfinished");
                    }
                    DumpPayload payload = payload(file, span, rdbVersion, convertibleBytes, tooBig, db, key);
                    consumer.accept(new SnapshotKey(db, key, payload, expireAt));
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

    /** Values at most this big are re-encoded for an older RDB version: that holds several copies of one in the heap. */
    static long convertibleBytes() {
        return Runtime.getRuntime().maxMemory() / 16;
    }

    private static DumpPayload payload(FileChannel file, ValueSpanVisitor.Span span, int rdbVersion, long convertibleBytes,
                                       Consumer<String> tooBig, int db, byte[] key)
            throws IOException {
        if (rdbVersion <= 0 || ValueSpanVisitor.introducedIn(span.type()) <= rdbVersion) {
            return asItIs(file, span, rdbVersion > 0 ? rdbVersion : span.fileRdbVersion());
        }
        if (span.length() > convertibleBytes) {
            String what = "key '" + printable(key) + "' in db " + db + " has a value of " + span.length() + " bytes of RDB type "
                    + span.type() + ", which RDB version " + rdbVersion + " (capture.snapshotRdbVersion) does not have: it must be"
                    + " re-encoded, in memory, and that is done only for values up to " + convertibleBytes + " bytes (a sixteenth"
                    + " of the heap)";
            String remedy = "Give this agent a bigger heap (-Xmx, at least 16 times the value), or upgrade the targets to a Redis"
                    + " that reads RDB version " + ValueSpanVisitor.introducedIn(span.type()) + " and drop capture.snapshotRdbVersion";
            if (tooBig == null) {
                throw new TooBigToConvertException(what + ". " + remedy + "; the snapshot stops there, unfinished");
            }
            tooBig.accept(what + ". It is sent as it is, in RDB version " + span.fileRdbVersion() + ": peers on an older Redis"
                    + " refuse it and dead-letter it (reason ERR, 'DUMP payload version or checksum are wrong'). " + remedy
                    + ", then run ferry verify --repair for this key");
            return asItIs(file, span, span.fileRdbVersion());
        }
        return DumpPayload.of(convert(file, span, rdbVersion));
    }

    /** The value's own bytes as a DUMP payload of {@code version}, read from the file in pieces when big. */
    private static DumpPayload asItIs(FileChannel file, ValueSpanVisitor.Span span, int version) {
        return span.smallValue() != null ? DumpPayload.ofValue(span.smallValue(), span.type(), version)
                : DumpPayload.inFile(file, span.from(), span.length(), span.type(), version);
    }

    /**
     * The DUMP payload of a value re-encoded for {@code rdbVersion}: the value alone, under a placeholder key, in a
     * one-key RDB read by redis-replicator's dump visitor, which does the re-encoding.
     */
    private static byte[] convert(FileChannel file, ValueSpanVisitor.Span span, int rdbVersion) throws IOException {
        byte[] value = span.smallValue();
        if (value == null) {
            value = new byte[(int) span.length()];
            DumpPayload.readFully(file, span.from(), ByteBuffer.wrap(value));
        }
        ByteArrayOutputStream rdb = new ByteArrayOutputStream(value.length + 32);
        rdb.writeBytes(String.format("REDIS%04d", span.fileRdbVersion()).getBytes(StandardCharsets.US_ASCII));
        rdb.write(span.type());
        rdb.write(1); // the placeholder key: a 1-byte string
        rdb.write('k');
        rdb.writeBytes(value);
        rdb.write(0xff); // EOF, then a zero checksum (which means none)
        rdb.writeBytes(new byte[8]);
        byte[][] payload = {null};
        IOException[] failure = {null};
        RedisRdbReplicator replicator = new RedisRdbReplicator(new ByteArrayInputStream(rdb.toByteArray()), Configuration.defaultSetting());
        try {
            replicator.setRdbVisitor(new DumpRdbVisitor(replicator, rdbVersion));
            replicator.addEventListener((rep, event) -> {
                if (event instanceof DumpKeyValuePair pair) {
                    payload[0] = pair.getValue();
                }
            });
            replicator.addExceptionListener((rep, e, event) -> failure[0] = new IOException("cannot re-encode a value of RDB type "
                    + span.type() + " for RDB version " + rdbVersion + ": " + e.getMessage(), e));
            replicator.open();
        } finally {
            replicator.close();
        }
        if (failure[0] != null) {
            throw failure[0];
        }
        if (payload[0] == null) {
            throw new IOException("redis-replicator did not re-encode a value of RDB type " + span.type() + " for RDB version " + rdbVersion);
        }
        return payload[0];
    }

    /** The key's first 100 bytes as text, for messages. */
    static String printable(byte[] key) {
        String text = new String(key, 0, Math.min(key.length, 100), StandardCharsets.UTF_8);
        return text + (key.length > 100 ? "…" : "");
    }
}
