package io.ferry.bench;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/** An incremental RESP2 reader over a socket stream: skips replies fast, or reads pushed messages. */
final class RespReader {

    private final InputStream in;
    private final byte[] buf = new byte[256 * 1024];
    private int pos;
    private int limit;
    private String lastError;

    RespReader(InputStream in) {
        this.in = in;
    }

    /** Consumes one complete reply; returns true if it was (or contained) an error reply. */
    boolean skipReply() throws IOException {
        byte type = next();
        switch (type) {
            case '+', ':' -> {
                skipLine();
                return false;
            }
            case '-' -> {
                lastError = line();
                return true;
            }
            case '$' -> {
                long len = number();
                if (len >= 0) {
                    skip(len + 2);
                }
                return false;
            }
            case '*' -> {
                long n = number();
                boolean error = false;
                for (long i = 0; i < n; i++) {
                    error |= skipReply();
                }
                return error;
            }
            default -> throw new IOException("not RESP: type byte " + type);
        }
    }

    /** Reads an array of bulk strings (a pub/sub push); null elements stay null. */
    byte[][] readArray() throws IOException {
        byte type = next();
        if (type != '*') {
            throw new IOException("expected an array, got type byte " + (char) type + " " + line());
        }
        int n = (int) number();
        byte[][] items = new byte[Math.max(n, 0)][];
        for (int i = 0; i < n; i++) {
            byte t = next();
            if (t == '$') {
                int len = (int) number();
                if (len >= 0) {
                    items[i] = new byte[len];
                    read(items[i]);
                    skip(2);
                }
            } else if (t == ':' || t == '+') {
                items[i] = line().getBytes(StandardCharsets.US_ASCII);
            } else {
                throw new IOException("unexpected element type " + (char) t + " in a push message");
            }
        }
        return items;
    }

    String lastError() {
        return lastError;
    }

    private byte next() throws IOException {
        if (pos == limit) {
            fill();
        }
        return buf[pos++];
    }

    private void fill() throws IOException {
        pos = 0;
        limit = in.read(buf, 0, buf.length);
        if (limit <= 0) {
            limit = 0;
            throw new EOFException("connection closed");
        }
    }

    private long number() throws IOException {
        long value = 0;
        boolean negative = false;
        byte b = next();
        if (b == '-') {
            negative = true;
            b = next();
        }
        while (b != '\r') {
            value = value * 10 + (b - '0');
            b = next();
        }
        next(); // '\n'
        return negative ? -value : value;
    }

    private void skipLine() throws IOException {
        while (next() != '\n') {
            // skip
        }
    }

    private String line() throws IOException {
        StringBuilder text = new StringBuilder();
        byte b;
        while ((b = next()) != '\r') {
            text.append((char) b);
        }
        next();
        return text.toString();
    }

    private void skip(long n) throws IOException {
        while (n > 0) {
            if (pos == limit) {
                fill();
            }
            int step = (int) Math.min(n, limit - pos);
            pos += step;
            n -= step;
        }
    }

    private void read(byte[] target) throws IOException {
        int off = 0;
        while (off < target.length) {
            if (pos == limit) {
                fill();
            }
            int step = Math.min(target.length - off, limit - pos);
            System.arraycopy(buf, pos, target, off, step);
            pos += step;
            off += step;
        }
    }
}
