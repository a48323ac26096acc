package io.ferry.apply.redis;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Encodes commands as RESP arrays of bulk strings into one reusable byte buffer, so a whole pipelined
 * round of {@code MULTI; …; EXEC} transactions goes to Redis in a single write.
 */
final class RespBuffer {

    /** A round that made the buffer grow past this gets a fresh small one afterwards (bounded memory). */
    private static final int KEEP_BYTES = 4 * 1024 * 1024;
    private static final int INITIAL_BYTES = 64 * 1024;
    private static final ConcurrentHashMap<String, byte[]> NAMES = new ConcurrentHashMap<>();

    private byte[] bytes = new byte[INITIAL_BYTES];
    private int length;

    void command(RawCommand command) {
        List<byte[]> args = command.args();
        arrayHeader(1 + args.size());
        byte[] name = NAMES.computeIfAbsent(command.name(), n -> bulk(n.getBytes(StandardCharsets.UTF_8)));
        append(name, name.length);
        for (byte[] arg : args) {
            bulkString(arg);
        }
    }

    void command(String name) {
        arrayHeader(1);
        byte[] encoded = NAMES.computeIfAbsent(name, n -> bulk(n.getBytes(StandardCharsets.UTF_8)));
        append(encoded, encoded.length);
    }

    byte[] array() {
        return bytes;
    }

    int length() {
        return length;
    }

    void clear() {
        length = 0;
        if (bytes.length > KEEP_BYTES) {
            bytes = new byte[INITIAL_BYTES];
        }
    }

    private static byte[] bulk(byte[] value) {
        RespBuffer one = new RespBuffer();
        one.bulkString(value);
        return Arrays.copyOf(one.bytes, one.length);
    }

    private void arrayHeader(int count) {
        ensure(24);
        bytes[length++] = '*';
        number(count);
    }

    private void bulkString(byte[] value) {
        ensure(24 + value.length);
        bytes[length++] = '$';
        number(value.length);
        System.arraycopy(value, 0, bytes, length, value.length);
        length += value.length;
        bytes[length++] = '\r';
        bytes[length++] = '\n';
    }

    /** Writes a non-negative number and CRLF; room was ensured by the caller. */
    private void number(int value) {
        int digits = 1;
        for (int v = value; v >= 10; v /= 10) {
            digits++;
        }
        for (int i = length + digits - 1, v = value; i >= length; i--, v /= 10) {
            bytes[i] = (byte) ('0' + v % 10);
        }
        length += digits;
        bytes[length++] = '\r';
        bytes[length++] = '\n';
    }

    private void append(byte[] source, int count) {
        ensure(count);
        System.arraycopy(source, 0, bytes, length, count);
        length += count;
    }

    private void ensure(int more) {
        if (length + more > bytes.length) {
            bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, length + more));
        }
    }
}
