package io.ferry.resp;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The one RESP encoder: commands as arrays of bulk strings, appended to one reusable byte array, so a
 * whole pipelined round (apply's MULTI/EXEC transactions, the benchmark's load) goes to Redis in a
 * single socket write and nothing is allocated per command. Arguments are bytes, never text.
 */
public final class RespBuffer {

    /** A round that made the buffer grow past this gets a fresh small one afterwards (bounded memory). */
    private static final int KEEP_BYTES = 4 * 1024 * 1024;
    private static final int INITIAL_BYTES = 64 * 1024;
    /** Command names recur in every round: each is encoded as a bulk string once per JVM. */
    private static final ConcurrentHashMap<String, byte[]> NAMES = new ConcurrentHashMap<>();

    private byte[] bytes = new byte[INITIAL_BYTES];
    private int size;
    private final byte[] digits = new byte[20];

    /** A whole command: {@code name} (cached encoding) and its raw arguments. */
    public RespBuffer command(String name, List<byte[]> args) {
        command(1 + args.size());
        byte[] encoded = NAMES.computeIfAbsent(name, RespBuffer::encodedName);
        put(encoded, encoded.length);
        for (byte[] arg : args) {
            bulk(arg);
        }
        return this;
    }

    /** A whole command of text arguments (names, options, numbers: never user data). */
    public RespBuffer command(String... argv) {
        command(argv.length);
        for (String arg : argv) {
            bulk(arg.getBytes(StandardCharsets.UTF_8));
        }
        return this;
    }

    /** A whole command of raw arguments. */
    public RespBuffer command(byte[]... argv) {
        command(argv.length);
        for (byte[] arg : argv) {
            bulk(arg);
        }
        return this;
    }

    private static byte[] encodedName(String name) {
        return new RespBuffer().bulk(name.getBytes(StandardCharsets.UTF_8)).toByteArray();
    }

    /** Starts a command of {@code argc} arguments: {@code *<argc>\r\n}; its bulk strings follow. */
    public RespBuffer command(int argc) {
        put((byte) '*');
        number(argc);
        return crlf();
    }

    public RespBuffer bulk(byte[] arg) {
        put((byte) '$');
        number(arg.length);
        crlf();
        put(arg, arg.length);
        return crlf();
    }

    /** A bulk string holding {@code len} bytes of {@code source} from {@code offset}. */
    public RespBuffer bulk(byte[] source, int offset, int len) {
        put((byte) '$');
        number(len);
        crlf();
        ensure(len);
        System.arraycopy(source, offset, bytes, size, len);
        size += len;
        return crlf();
    }

    /** An ASCII argument (command names, field names): never user data. */
    public RespBuffer bulk(String ascii) {
        return bulk(ascii.getBytes(StandardCharsets.US_ASCII));
    }

    /** A bulk string holding {@code prefix} followed by the decimal {@code value}, e.g. key {@code k:123}. */
    public RespBuffer bulk(byte[] prefix, long value) {
        put((byte) '$');
        number(prefix.length + digitCount(value));
        crlf();
        put(prefix, prefix.length);
        int n = toDigits(value);
        ensure(n);
        System.arraycopy(digits, digits.length - n, bytes, size, n);
        size += n;
        return crlf();
    }

    /** A bulk string holding the decimal {@code value}. */
    public RespBuffer bulk(long value) {
        return bulk(EMPTY, value);
    }

    private static final byte[] EMPTY = new byte[0];

    public int size() {
        return size;
    }

    public byte[] array() {
        return bytes;
    }

    public void clear() {
        size = 0;
        if (bytes.length > KEEP_BYTES) {
            bytes = new byte[INITIAL_BYTES];
        }
    }

    public byte[] toByteArray() {
        return Arrays.copyOf(bytes, size);
    }

    private RespBuffer crlf() {
        ensure(2);
        bytes[size++] = '\r';
        bytes[size++] = '\n';
        return this;
    }

    private void number(long value) {
        int n = toDigits(value);
        ensure(n);
        System.arraycopy(digits, digits.length - n, bytes, size, n);
        size += n;
    }

    private static int digitCount(long value) {
        int n = 1;
        while (value >= 10) {
            value /= 10;
            n++;
        }
        return n;
    }

    /** Writes {@code value} right-aligned into {@link #digits}; returns how many bytes it took. */
    private int toDigits(long value) {
        if (value < 0) {
            throw new IllegalArgumentException("negative: " + value);
        }
        int i = digits.length;
        do {
            digits[--i] = (byte) ('0' + value % 10);
            value /= 10;
        } while (value != 0);
        return digits.length - i;
    }

    private void put(byte b) {
        ensure(1);
        bytes[size++] = b;
    }

    private void put(byte[] b, int len) {
        ensure(len);
        System.arraycopy(b, 0, bytes, size, len);
        size += len;
    }

    private void ensure(int more) {
        if (size + more > bytes.length) {
            bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, size + more));
        }
    }
}
