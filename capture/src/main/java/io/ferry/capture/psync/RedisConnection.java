package io.ferry.capture.psync;

import io.ferry.topology.RedisEndpoint;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;

/**
 * A plain blocking RESP2 connection to one Redis: connect (TLS when the endpoint says so), AUTH,
 * request/reply calls for the handshake, and raw access for the replication stream. Never logs the
 * password.
 */
public final class RedisConnection implements AutoCloseable {

    private final RedisEndpoint endpoint;
    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private final RespReader reader = new RespReader();

    private RedisConnection(RedisEndpoint endpoint, Socket socket) throws IOException {
        this.endpoint = endpoint;
        this.socket = socket;
        this.in = socket.getInputStream();
        this.out = new BufferedOutputStream(socket.getOutputStream(), 8192);
    }

    /** Connects and authenticates; {@code connectTimeoutMillis} also bounds each handshake reply. */
    public static RedisConnection open(RedisEndpoint endpoint, int connectTimeoutMillis) throws IOException {
        Socket socket = endpoint.tls() ? SSLSocketFactory.getDefault().createSocket() : new Socket();
        try {
            socket.setTcpNoDelay(true);
            socket.setKeepAlive(true);
            socket.setReceiveBufferSize(1 << 20);
            socket.connect(new InetSocketAddress(endpoint.host(), endpoint.port()), connectTimeoutMillis);
            socket.setSoTimeout(connectTimeoutMillis);
            if (socket instanceof SSLSocket ssl) {
                // verify the certificate names the host we dialled, not only that some trusted CA signed it
                SSLParameters parameters = ssl.getSSLParameters();
                parameters.setEndpointIdentificationAlgorithm("HTTPS");
                ssl.setSSLParameters(parameters);
                ssl.startHandshake();
            }
            RedisConnection connection = new RedisConnection(endpoint, socket);
            connection.authenticate();
            return connection;
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw e;
        }
    }

    private void authenticate() throws IOException {
        if (endpoint.password() == null) {
            return;
        }
        RespMessage reply = endpoint.username() != null
                ? call("AUTH", endpoint.username(), endpoint.password())
                : call("AUTH", endpoint.password());
        if (reply instanceof RespMessage.Error error) {
            // the error text never contains the password
            throw new RedisReplyException("AUTH to " + endpoint + " failed: " + error.text());
        }
    }

    /** Sends one command and waits for its reply. */
    public RespMessage call(String... args) throws IOException {
        send(args);
        return readReply();
    }

    /** Sends one command without waiting; the reply is read with {@link #readReply()}. */
    public void send(String... args) throws IOException {
        byte[][] argv = new byte[args.length][];
        for (int i = 0; i < args.length; i++) {
            argv[i] = args[i].getBytes(StandardCharsets.UTF_8);
        }
        send(argv);
    }

    /** Sends one command of raw arguments without waiting. */
    public void send(byte[]... argv) throws IOException {
        sendAll(java.util.List.<byte[][]>of(argv));
    }

    /** Pipelines several commands in one write; read their replies in order with {@link #readReply()}. */
    public synchronized void sendAll(java.util.List<byte[][]> commands) throws IOException {
        ByteArrayOutputStream encoded = new ByteArrayOutputStream(64 * commands.size());
        for (byte[][] argv : commands) {
            encoded.writeBytes(("*" + argv.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
            for (byte[] bytes : argv) {
                encoded.writeBytes(("$" + bytes.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
                encoded.writeBytes(bytes);
                encoded.writeBytes(new byte[] {'\r', '\n'});
            }
        }
        out.write(encoded.toByteArray());
        out.flush();
    }

    /** Reads the next reply, skipping the bare newlines a master sends as keepalives. */
    public RespMessage readReply() throws IOException {
        while (true) {
            RespMessage message = reader.next();
            if (message instanceof RespMessage.Newline) {
                continue;
            }
            if (message != null) {
                return message;
            }
            if (reader.fill(in) < 0) {
                throw new IOException("connection to " + endpoint + " closed by Redis");
            }
        }
    }

    /** Reads more bytes into {@link #reader()}; -1 at end of stream. */
    public int fill() throws IOException {
        return reader.fill(in);
    }

    public RespReader reader() {
        return reader;
    }

    public void setReadTimeout(int millis) throws IOException {
        socket.setSoTimeout(millis);
    }

    public int localPort() {
        return socket.getLocalPort();
    }

    public RedisEndpoint endpoint() {
        return endpoint;
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing: nothing to report
        }
    }
}
