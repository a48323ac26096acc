package io.ferry.resp;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Incremental RESP2 decoder over a growable buffer. Bytes arrive in any split ({@link #feed} or
 * {@link #fill}); {@link #next()} returns a complete message or null when more bytes are needed, and
 * every message reports its exact size on the wire, which is what replication offsets count.
 *
 * <p>The replication stream is arrays of bulk strings, decoded to {@link RespMessage.Command}
 * (raw argv, never decoded as text). Handshake replies (simple strings, errors, integers, nested
 * arrays) decode to the other {@link RespMessage} types.
 */
public final class RespReader {

    private static final int MAX_INLINE = 64 * 1024;

    private byte[] buf;
    private int start;
    private int end;

    // A top-level array still arriving (a huge RPUSH or HSET): the items decoded so far, and how many
    // of its bytes were consumed already (the buffer then starts at its next item), so each new read
    // neither decodes them again nor keeps their bytes.
    private List<Object> partialItems;
    private long partialCount;
    private long partialWire;

    // Bulk strings of a top-level array longer than this go to a file in spillDir instead of memory.
    private long spillAbove = Long.MAX_VALUE;
    private Path spillDir;
    private Spill spill;

    public RespReader() {
        this(64 * 1024);
    }

    public RespReader(int initialCapacity) {
        buf = new byte[initialCapacity];
    }

    /** Appends bytes to decode. */
    public void feed(byte[] data, int off, int len) {
        ensureRoom(len);
        System.arraycopy(data, off, buf, end, len);
        end += len;
    }

    /** Reads whatever {@code in} has (blocking for at least one byte); -1 at end of stream. */
    public int fill(InputStream in) throws IOException {
        ensureRoom(16 * 1024);
        int n = in.read(buf, end, buf.length - end);
        if (n > 0) {
            end += n;
        }
        return n;
    }

    /**
     * From now on, a bulk string longer than {@code threshold} bytes inside a command (a top-level array)
     * is written to a new file in {@code dir} as it arrives, so the reader never holds it whole; the
     * command then lists it in {@link RespMessage.Command#spilled()}. The caller owns (deletes) the files.
     */
    public void spillBulkAbove(long threshold, Path dir) {
        this.spillAbove = threshold;
        this.spillDir = dir;
    }

    public int buffered() {
        return end - start;
    }

    /** Moves up to {@code max} buffered raw bytes to {@code out} (RDB payload); returns how many. */
    public int drainTo(OutputStream out, long max) throws IOException {
        int n = (int) Math.min(max, end - start);
        out.write(buf, start, n);
        start += n;
        return n;
    }

    /**
     * Moves buffered raw bytes to {@code out} until {@code mark} has been seen (the mark itself is
     * consumed and not written). Returns true once the mark was found; keeps a possible partial mark.
     */
    public boolean drainUntilMark(OutputStream out, byte[] mark) throws IOException {
        int found = indexOf(mark);
        if (found >= 0) {
            out.write(buf, start, found - start);
            start = found + mark.length;
            return true;
        }
        int keep = Math.min(mark.length - 1, end - start);
        int n = end - start - keep;
        out.write(buf, start, n);
        start += n;
        return false;
    }

    private int indexOf(byte[] mark) {
        outer:
        for (int i = start; i <= end - mark.length; i++) {
            for (int j = 0; j < mark.length; j++) {
                if (buf[i + j] != mark[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    /**
     * Returns the next complete line (without CRLF or LF) and consumes it, or null. Used for the RDB
     * preamble, where the master may also send bare newlines as keepalives.
     */
    public String nextLine() {
        int lf = findLf(start);
        if (lf < 0) {
            return null;
        }
        int lineEnd = lf > start && buf[lf - 1] == '\r' ? lf - 1 : lf;
        String line = new String(buf, start, lineEnd - start, StandardCharsets.ISO_8859_1);
        start = lf + 1;
        return line;
    }

    /** Decodes and consumes the next message, or returns null (consuming nothing) when it is incomplete. */
    public RespMessage next() {
        int[] pos = {start};
        Object value = parse(pos, true);
        if (value == null) {
            compactIfEmpty();
            return null;
        }
        int size = (int) (pos[0] - start + partialWire);
        partialWire = 0;
        start = pos[0];
        compactIfEmpty();
        if (value instanceof byte[][] argv) {
            return new RespMessage.Command(argv, size);
        }
        if (value instanceof SpilledCommand command) {
            return new RespMessage.Command(command.argv, size, command.spilled);
        }
        return toMessage(value, size);
    }

    private static RespMessage toMessage(Object value, int size) {
        if (value instanceof RespMessage m) {
            return m instanceof RespMessage.Simple s ? new RespMessage.Simple(s.text(), size)
                    : m instanceof RespMessage.Error e ? new RespMessage.Error(e.text(), size)
                    : m instanceof RespMessage.Integer i ? new RespMessage.Integer(i.value(), size)
                    : m;
        }
        if (value instanceof Bulk b) {
            return new RespMessage.BulkString(b.bytes, size);
        }
        if (value instanceof NestedArray a) {
            return new RespMessage.Array(a.items, size);
        }
        if (value == NULL) {
            return new RespMessage.BulkString(null, size);
        }
        if (value == NEWLINE) {
            return new RespMessage.Newline(size);
        }
        throw new IllegalStateException("unexpected " + value);
    }

    private static final Object NULL = new Object();
    private static final Object NEWLINE = new Object();

    private record Bulk(byte[] bytes) {
    }

    private record NestedArray(List<Object> items) {
    }

    private record SpilledCommand(byte[][] argv, Map<byte[], SpilledBulk> spilled) {
    }

    /** A bulk string being written to {@code file}; {@code remaining} data bytes still to come (then CRLF). */
    private static final class Spill {
        final Path file;
        final long length;
        final OutputStream out;
        long remaining;

        Spill(Path file, long length) throws IOException {
            this.file = file;
            this.length = length;
            this.remaining = length;
            this.out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16);
        }
    }

    /**
     * Parses one value at pos[0]. Returns null when incomplete. A top-level array whose elements are
     * all bulk strings comes back as byte[][] (the command fast path).
     */
    private Object parse(int[] pos, boolean top) {
        int p = pos[0];
        if (top && partialItems != null) {
            return parseItems(pos, p, partialCount, partialItems, true);
        }
        if (p >= end) {
            return null;
        }
        byte type = buf[p];
        if (top && (type == '\n' || type == '\r')) {
            int lf = findLf(p);
            if (lf < 0) {
                return null;
            }
            pos[0] = lf + 1;
            return NEWLINE;
        }
        int lf = findLf(p + 1);
        if (lf < 0) {
            if (end - p > MAX_INLINE) {
                throw new RespProtocolException("no line end within " + MAX_INLINE + " bytes after type '" + (char) type + "'");
            }
            return null;
        }
        int lineEnd = lf - 1;
        if (buf[lineEnd] != '\r') {
            throw new RespProtocolException("line not terminated by CRLF");
        }
        switch (type) {
            case '+' -> {
                pos[0] = lf + 1;
                return new RespMessage.Simple(text(p + 1, lineEnd), 0);
            }
            case '-' -> {
                pos[0] = lf + 1;
                return new RespMessage.Error(text(p + 1, lineEnd), 0);
            }
            case ':' -> {
                pos[0] = lf + 1;
                return new RespMessage.Integer(number(p + 1, lineEnd), 0);
            }
            case '$' -> {
                long len = number(p + 1, lineEnd);
                if (len < 0) {
                    pos[0] = lf + 1;
                    return NULL;
                }
                long dataEnd = lf + 1 + len;
                if (dataEnd + 2 > end) {
                    return null;
                }
                int d = (int) dataEnd;
                if (buf[d] != '\r' || buf[d + 1] != '\n') {
                    throw new RespProtocolException("bulk string of " + len + " bytes not followed by CRLF");
                }
                byte[] bytes = Arrays.copyOfRange(buf, lf + 1, d);
                pos[0] = d + 2;
                return new Bulk(bytes);
            }
            case '*' -> {
                long count = number(p + 1, lineEnd);
                pos[0] = lf + 1;
                if (count < 0) {
                    return NULL;
                }
                return parseItems(pos, p, count, new ArrayList<>((int) Math.min(count, 1024)), top);
            }
            default -> throw new RespProtocolException("unexpected type byte 0x" + Integer.toHexString(type & 0xff));
        }
    }

    /** Decodes the remaining items of an array whose header started at {@code p}; null when incomplete. */
    private Object parseItems(int[] pos, int p, long count, List<Object> items, boolean top) {
        for (long i = items.size(); i < count; i++) {
            int itemStart = pos[0];
            Object item = top ? spilledItem(pos) : null;
            if (item == null && spill == null) {
                item = parse(pos, false);
            }
            if (item == null) {
                if (top) {
                    // the items decoded so far are copies: their bytes (and spilled ones) can go
                    partialItems = items;
                    partialCount = count;
                    int consumed = spill != null ? pos[0] : itemStart;
                    partialWire += consumed - start;
                    start = consumed;
                }
                pos[0] = p;
                return null;
            }
            items.add(item);
        }
        if (top) {
            partialItems = null;
        }
        boolean allBulk = true;
        boolean spilled = false;
        for (Object item : items) {
            allBulk &= item instanceof Bulk || item instanceof SpilledBulk;
            spilled |= item instanceof SpilledBulk;
        }
        if (top && allBulk && count > 0) {
            byte[][] argv = new byte[items.size()][];
            Map<byte[], SpilledBulk> files = spilled ? new IdentityHashMap<>() : Map.of();
            for (int i = 0; i < argv.length; i++) {
                if (items.get(i) instanceof SpilledBulk file) {
                    argv[i] = new byte[0];
                    files.put(argv[i], file);
                } else {
                    argv[i] = ((Bulk) items.get(i)).bytes;
                }
            }
            return spilled ? new SpilledCommand(argv, files) : argv;
        }
        List<Object> plain = new ArrayList<>(items.size());
        for (Object item : items) {
            plain.add(plainValue(item));
        }
        return new NestedArray(plain);
    }

    /**
     * Continues or starts spilling the bulk string at pos[0] to a file. Returns it once complete; null when
     * it is not one to spill ({@link #spill} null) or more bytes are needed ({@link #spill} set).
     */
    private Object spilledItem(int[] pos) {
        try {
            if (spill == null) {
                int p = pos[0];
                if (spillDir == null || p >= end || buf[p] != '$') {
                    return null;
                }
                int lf = findLf(p + 1);
                if (lf < 0 || buf[lf - 1] != '\r') {
                    return null; // the ordinary path waits for the line or reports the bad one
                }
                long len = number(p + 1, lf - 1);
                if (len <= spillAbove) {
                    return null;
                }
                Files.createDirectories(spillDir);
                spill = new Spill(Files.createTempFile(spillDir, SPILL_PREFIX, ".bulk"), len);
                pos[0] = lf + 1;
            }
            int n = (int) Math.min(spill.remaining, end - pos[0]);
            spill.out.write(buf, pos[0], n);
            pos[0] += n;
            spill.remaining -= n;
            if (spill.remaining > 0 || end - pos[0] < 2) {
                return null;
            }
            if (buf[pos[0]] != '\r' || buf[pos[0] + 1] != '\n') {
                throw new RespProtocolException("bulk string of " + spill.length + " bytes not followed by CRLF");
            }
            pos[0] += 2;
            spill.out.close();
            SpilledBulk done = new SpilledBulk(spill.file, spill.length);
            spill = null;
            return done;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot spill a big value to " + spillDir + ": " + e.getMessage(), e);
        }
    }

    /** Name prefix of spill files, so leftovers of a killed agent can be found and removed. */
    public static final String SPILL_PREFIX = "ferry-value-";

    /** Values inside nested arrays: byte[] for bulk, Long, String (simple), RespMessage.Error, List, null. */
    private static Object plainValue(Object item) {
        if (item instanceof Bulk b) {
            return b.bytes;
        }
        if (item instanceof NestedArray a) {
            return a.items;
        }
        if (item instanceof RespMessage.Integer i) {
            return i.value();
        }
        if (item instanceof RespMessage.Simple s) {
            return s.text();
        }
        if (item instanceof byte[][] argv) {
            return List.of((Object[]) argv);
        }
        return item == NULL ? null : item;
    }

    private int findLf(int from) {
        for (int i = from; i < end; i++) {
            if (buf[i] == '\n') {
                return i;
            }
        }
        return -1;
    }

    private String text(int from, int to) {
        return new String(buf, from, to - from, StandardCharsets.UTF_8);
    }

    private long number(int from, int to) {
        if (from >= to) {
            throw new RespProtocolException("empty number");
        }
        boolean negative = buf[from] == '-';
        long value = 0;
        for (int i = negative ? from + 1 : from; i < to; i++) {
            int digit = buf[i] - '0';
            if (digit < 0 || digit > 9) {
                throw new RespProtocolException("not a number: " + text(from, to));
            }
            value = value * 10 + digit;
        }
        return negative ? -value : value;
    }

    private void compactIfEmpty() {
        if (start == end) {
            start = 0;
            end = 0;
        }
    }

    private void ensureRoom(int want) {
        if (buf.length - end >= want) {
            return;
        }
        int live = end - start;
        if (start > 0 && buf.length - live >= want && live < buf.length / 2) {
            System.arraycopy(buf, start, buf, 0, live);
        } else {
            byte[] bigger = new byte[Math.max(buf.length * 2, live + want)];
            System.arraycopy(buf, start, bigger, 0, live);
            buf = bigger;
        }
        start = 0;
        end = live;
    }
}
