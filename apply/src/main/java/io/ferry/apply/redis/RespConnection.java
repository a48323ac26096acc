package io.ferry.apply.redis;

import io.ferry.topology.RedisEndpoint;
import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;

/**
 * One blocking RESP2 connection: writes pre-encoded buffers and reads replies as plain values
 * ({@code byte[]} for status and bulk strings, {@link Long} for integers, {@link Reply#NIL} for a null
 * bulk or array, {@link RedisError} for errors, also nested inside an EXEC array, and
 * {@code List<Object>} for arrays). Errors are values, not exceptions, so one failing command never
 * hides the others' replies. TLS verifies the server's certificate and host name against the JVM's
 * trust store; AUTH (with an ACL user when one is set) is sent on connect.
 */
final class RespConnection implements AutoCloseable {

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private final byte[] line = new byte[64];

    private RespConnection(Socket socket) throws IOException {
        this.socket = socket;
        this.in = new BufferedInputStream(socket.getInputStream(), 64 * 1024);
        this.out = socket.getOutputStream();
    }

    /**
     * Connects, completes the TLS handshake when configured and authenticates; a refused AUTH is an
     * IOException. {@code tls} null means the JVM's default (trust store from the javax.net.ssl properties).
     */
    static RespConnection open(RedisEndpoint endpoint, Duration timeout, SSLSocketFactory tls) throws IOException {
        int millis = (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
        Socket plain = new Socket();
        RespConnection connection = null;
        try {
            plain.setTcpNoDelay(true);
            plain.setKeepAlive(true);
            plain.connect(new InetSocketAddress(endpoint.host(), endpoint.port()), millis);
            plain.setSoTimeout(millis);
            Socket socket = plain;
            if (endpoint.tls()) {
                SSLSocketFactory factory = tls != null ? tls : (SSLSocketFactory) SSLSocketFactory.getDefault();
                SSLSocket secure = (SSLSocket) factory.createSocket(plain, endpoint.host(), endpoint.port(), true);
                SSLParameters parameters = secure.getSSLParameters();
                parameters.setEndpointIdentificationAlgorithm("HTTPS");
                secure.setSSLParameters(parameters);
                secure.startHandshake();
                socket = secure;
            }
            connection = new RespConnection(socket);
            if (endpoint.password() != null) {
                RespBuffer auth = new RespBuffer();
                auth.command(endpoint.username() != null
                        ? RawCommand.of("AUTH", endpoint.username(), endpoint.password())
                        : RawCommand.of("AUTH", endpoint.password()));
                connection.write(auth);
                Object reply = connection.read();
                if (Reply.isError(reply)) {
                    throw new IOException("AUTH refused: " + reply);
                }
            }
            return connection;
        } catch (IOException | RuntimeException e) {
            if (connection != null) {
                connection.close();
            } else {
                plain.close();
            }
            throw e;
        }
    }

    void write(RespBuffer buffer) throws IOException {
        out.write(buffer.array(), 0, buffer.length());
        out.flush();
    }

    /** Reads one complete reply. */
    Object read() throws IOException {
        int type = in.read();
        switch (type) {
            case '+':
                return readLine();
            case '-':
                return new RedisError(new String(readLine(), StandardCharsets.UTF_8));
            case ':':
                return readLong();
            case '$': {
                long size = readLong();
                if (size < 0) {
                    return Reply.NIL;
                }
                byte[] value = in.readNBytes((int) size);
                if (value.length < size) {
                    throw new EOFException("connection closed inside a reply");
                }
                expect('\r');
                expect('\n');
                return value;
            }
            case '*': {
                long count = readLong();
                if (count < 0) {
                    return Reply.NIL;
                }
                List<Object> items = new ArrayList<>((int) count);
                for (long i = 0; i < count; i++) {
                    items.add(read());
                }
                return items;
            }
            case -1:
                throw new EOFException("connection closed by the server");
            default:
                throw new IOException("not a RESP2 reply (type byte " + type + ")");
        }
    }

    private byte[] readLine() throws IOException {
        byte[] buffer = line;
        int length = 0;
        while (true) {
            int b = in.read();
            if (b == -1) {
                throw new EOFException("connection closed inside a reply");
            }
            if (b == '\r') {
                expect('\n');
                return java.util.Arrays.copyOf(buffer, length);
            }
            if (length == buffer.length) {
                buffer = java.util.Arrays.copyOf(buffer, buffer.length * 2);
            }
            buffer[length++] = (byte) b;
        }
    }

    private long readLong() throws IOException {
        long value = 0;
        boolean negative = false;
        int b = in.read();
        if (b == '-') {
            negative = true;
            b = in.read();
        }
        while (b != '\r') {
            if (b < '0' || b > '9') {
                throw new IOException(b == -1 ? "connection closed inside a reply" : "bad number in a RESP reply");
            }
            value = value * 10 + (b - '0');
            b = in.read();
        }
        expect('\n');
        return negative ? -value : value;
    }

    private void expect(int wanted) throws IOException {
        int b = in.read();
        if (b != wanted) {
            throw new IOException(b == -1 ? "connection closed inside a reply" : "malformed RESP reply");
        }
    }

    boolean isClosed() {
        return socket.isClosed();
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing a broken connection may fail; it is gone either way
        }
    }
}
