package io.ferry.resp;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

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

    // A top-level array still arriving (a huge RPUSH or HSET): the items decoded so far and where the
    // next one starts, relative to start, so each new read does not decode them all again.
    private List<Object> partialItems;
    private long partialCount;
    private int partialNext;

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
        int size = pos[0] - start;
        start = pos[0];
        compactIfEmpty();
        if (value instanceof byte[][] argv) {
            return new RespMessage.Command(argv, size);
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

    /**
     * Parses one value at pos[0]. Returns null when incomplete. A top-level array whose elements are
     * all bulk strings comes back as byte[][] (the command fast path).
     */
    private Object parse(int[] pos, boolean top) {
        int p = pos[0];
        if (top && partialItems != null) {
            pos[0] = start + partialNext;
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
            Object item = parse(pos, false);
            if (item == null) {
                if (top) {
                    partialItems = items;
                    partialCount = count;
                    partialNext = itemStart - start;
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
        for (Object item : items) {
            allBulk &= item instanceof Bulk;
        }
        if (top && allBulk && count > 0) {
            byte[][] argv = new byte[items.size()][];
            for (int i = 0; i < argv.length; i++) {
                argv[i] = ((Bulk) items.get(i)).bytes;
            }
            return argv;
        }
        List<Object> plain = new ArrayList<>(items.size());
        for (Object item : items) {
            plain.add(plainValue(item));
        }
        return new NestedArray(plain);
    }

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
