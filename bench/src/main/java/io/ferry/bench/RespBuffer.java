package io.ferry.bench;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Commands encoded as RESP into one reusable byte array, so the load generator writes a whole pipelined
 * batch with a single socket write and allocates nothing per command.
 */
final class RespBuffer {

    private byte[] bytes = new byte[64 * 1024];
    private int size;
    private final byte[] digits = new byte[20];

    /** Starts a command of {@code argc} arguments: {@code *<argc>\r\n}. */
    RespBuffer command(int argc) {
        put((byte) '*');
        number(argc);
        return crlf();
    }

    RespBuffer bulk(byte[] arg) {
        put((byte) '$');
        number(arg.length);
        crlf();
        put(arg, arg.length);
        return crlf();
    }

    /** A bulk string holding {@code len} bytes of {@code source} from {@code offset}. */
    RespBuffer bulk(byte[] source, int offset, int len) {
        put((byte) '$');
        number(len);
        crlf();
        ensure(len);
        System.arraycopy(source, offset, bytes, size, len);
        size += len;
        return crlf();
    }

    /** An ASCII argument (command names, field names): never user data. */
    RespBuffer bulk(String ascii) {
        return bulk(ascii.getBytes(StandardCharsets.US_ASCII));
    }

    /** A bulk string holding {@code prefix} followed by the decimal {@code value}, e.g. key {@code k:123}. */
    RespBuffer bulk(byte[] prefix, long value) {
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
    RespBuffer bulk(long value) {
        return bulk(EMPTY, value);
    }

    private static final byte[] EMPTY = new byte[0];

    int size() {
        return size;
    }

    byte[] array() {
        return bytes;
    }

    void clear() {
        size = 0;
    }

    byte[] toByteArray() {
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
