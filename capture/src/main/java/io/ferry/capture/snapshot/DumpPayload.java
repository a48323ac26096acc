package io.ferry.capture.snapshot;

import com.moilioncircle.redis.replicator.util.CRC64;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/**
 * A key's DUMP payload, as RESTORE takes it: the RDB type byte, the value's bytes as the RDB file holds
 * them, the RDB version (2 bytes) and a CRC64 (Redis's crc64-jones, 8 bytes little endian) of all that.
 * A small value's bytes are kept as the reader met them; a big one's are read from the spooled RDB file only
 * when asked for, in pieces, so a key of any size passes through a bounded heap. A payload read from a file
 * is valid only while its reader is on that key (the file is closed after the last one).
 */
public final class DumpPayload {

    /** Receives the pieces of a payload in order; {@code count} is known before the first. */
    public interface PieceConsumer {
        void accept(int index, int count, byte[] data) throws Exception;
    }

    private static final int FOOTER = 10;

    private final byte[] whole;
    private final byte[] value;
    private final FileChannel file;
    private final long valueFrom;
    private final long valueLength;
    private final byte type;
    private final int rdbVersion;

    private DumpPayload(byte[] whole, byte[] value, FileChannel file, long valueFrom, long valueLength, int type, int rdbVersion) {
        this.whole = whole;
        this.value = value;
        this.file = file;
        this.valueFrom = valueFrom;
        this.valueLength = valueLength;
        this.type = (byte) type;
        this.rdbVersion = rdbVersion;
    }

    /** A payload already built (a re-encoded value, or a test's). */
    public static DumpPayload of(byte[] payload) {
        return new DumpPayload(payload, null, null, 0, 0, 0, 0);
    }

    /** The payload of the value of RDB type {@code type} at {@code [valueFrom, valueFrom + valueLength)} of {@code file}. */
    static DumpPayload inFile(FileChannel file, long valueFrom, long valueLength, int type, int rdbVersion) {
        return new DumpPayload(null, null, file, valueFrom, valueLength, type, rdbVersion);
    }

    /** The payload of a value of RDB type {@code type} whose bytes (as the RDB holds them) are {@code value}. */
    static DumpPayload ofValue(byte[] value, int type, int rdbVersion) {
        return new DumpPayload(null, value, null, 0, value.length, type, rdbVersion);
    }

    public long length() {
        return whole != null ? whole.length : 1 + valueLength + FOOTER;
    }

    /** The whole payload in one array: for keys known to be small (callers check {@link #length()} first). */
    public byte[] bytes() {
        if (whole != null) {
            return whole;
        }
        if (length() > Integer.MAX_VALUE - 16) {
            throw new IllegalStateException("a DUMP payload of " + length() + " bytes does not fit in one array; read it in pieces");
        }
        byte[] data = new byte[(int) length()];
        try {
            new Assembly().fill(data);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read a value from the spooled RDB: " + e.getMessage(), e);
        }
        return data;
    }

    /** How many pieces of at most {@code size} bytes the payload makes. */
    public int pieceCount(int size) {
        long count = (length() + size - 1) / size;
        if (count > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a DUMP payload of " + length() + " bytes makes too many pieces of " + size + " bytes");
        }
        return (int) count;
    }

    /** Hands the payload to {@code consumer} in pieces of {@code size} bytes (the last one shorter), each a fresh array. */
    public void pieces(int size, PieceConsumer consumer) throws Exception {
        int count = pieceCount(size);
        if (whole != null) {
            for (int i = 0; i < count; i++) {
                int from = i * size;
                byte[] data = new byte[Math.min(size, whole.length - from)];
                System.arraycopy(whole, from, data, 0, data.length);
                consumer.accept(i, count, data);
            }
            return;
        }
        Assembly assembly = new Assembly();
        long left = length();
        for (int i = 0; i < count; i++) {
            byte[] data = new byte[(int) Math.min(size, left)];
            assembly.fill(data);
            left -= data.length;
            consumer.accept(i, count, data);
        }
    }

    /** Fills {@code target} from {@code file} at {@code position}. */
    static void readFully(FileChannel file, long position, ByteBuffer target) throws IOException {
        while (target.hasRemaining()) {
            int read = file.read(target, position);
            if (read < 0) {
                throw new EOFException("the RDB file ends inside a value, at offset " + position);
            }
            position += read;
        }
    }

    /** Produces the payload's bytes in order, reading the value from the file and computing the checksum as it goes. */
    private final class Assembly {
        private long at; // position in the payload
        private long crc;

        void fill(byte[] data) throws IOException {
            int n = 0;
            if (at == 0 && n < data.length) {
                data[n++] = type;
                at++;
            }
            long valueEnd = 1 + valueLength;
            if (at < valueEnd && n < data.length) {
                int want = (int) Math.min(data.length - n, valueEnd - at);
                if (value != null) {
                    System.arraycopy(value, (int) (at - 1), data, n, want);
                } else {
                    readFully(file, valueFrom + at - 1, ByteBuffer.wrap(data, n, want));
                }
                n += want;
                at += want;
            }
            byte[] version = {(byte) rdbVersion, 0};
            while (at < valueEnd + 2 && n < data.length) {
                data[n++] = version[(int) (at - valueEnd)];
                at++;
            }
            crc = CRC64.crc64(data, 0, n, crc);
            byte[] checksum = CRC64.longToByteArray(crc);
            while (at < length() && n < data.length) {
                data[n++] = checksum[(int) (at - valueEnd - 2)];
                at++;
            }
        }
    }
}
