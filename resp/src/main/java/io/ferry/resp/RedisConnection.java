package io.ferry.resp;

import io.ferry.topology.RedisEndpoint;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.List;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;

/**
 * The one way Ferry connects to a Redis: a blocking RESP2 connection, TLS when the endpoint says so
 * (certificate and host name checked against the trust store), AUTH with the ACL user when one is set,
 * optionally CLIENT SETNAME, and a read timeout. Commands go out encoded by {@link RespBuffer} (a
 * whole pipelined round in one write); replies come back through {@link RespReader}, which also gives
 * raw access for the replication stream. Never logs the password.
 */
public final class RedisConnection implements AutoCloseable {

    private final RedisEndpoint endpoint;
    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private final RespReader reader = new RespReader();
    private final RespBuffer calls = new RespBuffer();

    private RedisConnection(RedisEndpoint endpoint, Socket socket) throws IOException {
        this.endpoint = endpoint;
        this.socket = socket;
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
    }

    /** Connects and authenticates; {@code timeoutMillis} bounds the connect and every read. */
    public static RedisConnection open(RedisEndpoint endpoint, int timeoutMillis) throws IOException {
        return open(endpoint, timeoutMillis, null, null);
    }

    /**
     * Connects, completes the TLS handshake when the endpoint uses TLS, authenticates and names the
     * connection. A refused AUTH or SETNAME is a {@link RedisReplyException}.
     *
     * @param tls        TLS sockets for a rediss endpoint; null for the JVM's default trust store
     * @param clientName CLIENT SETNAME of the connection; null to leave it unnamed
     */
    public static RedisConnection open(RedisEndpoint endpoint, int timeoutMillis, SSLSocketFactory tls, String clientName)
            throws IOException {
        Socket plain = new Socket();
        RedisConnection connection = null;
        try {
            plain.setTcpNoDelay(true);
            plain.setKeepAlive(true);
            plain.setReceiveBufferSize(1 << 20);
            plain.setSendBufferSize(1 << 20);
            plain.connect(new InetSocketAddress(endpoint.host(), endpoint.port()), timeoutMillis);
            plain.setSoTimeout(timeoutMillis);
            Socket socket = plain;
            if (endpoint.tls()) {
                SSLSocketFactory factory = tls != null ? tls : (SSLSocketFactory) SSLSocketFactory.getDefault();
                SSLSocket secure = (SSLSocket) factory.createSocket(plain, endpoint.host(), endpoint.port(), true);
                // verify the certificate names the host we dialled, not only that some trusted CA signed it
                SSLParameters parameters = secure.getSSLParameters();
                parameters.setEndpointIdentificationAlgorithm("HTTPS");
                secure.setSSLParameters(parameters);
                secure.startHandshake();
                socket = secure;
            }
            connection = new RedisConnection(endpoint, socket);
            connection.authenticate();
            if (clientName != null) {
                connection.expectNoError(connection.call("CLIENT", "SETNAME", clientName), "CLIENT SETNAME");
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

    private void authenticate() throws IOException {
        if (endpoint.password() == null) {
            return;
        }
        RespMessage reply = endpoint.username() != null
                ? call("AUTH", endpoint.username(), endpoint.password())
                : call("AUTH", endpoint.password());
        // the error text never contains the password
        expectNoError(reply, "AUTH to " + endpoint);
    }

    private void expectNoError(RespMessage reply, String step) throws RedisReplyException {
        if (reply instanceof RespMessage.Error error) {
            throw new RedisReplyException(step + " failed: " + error.text());
        }
    }

    /** Sends one command and waits for its reply. */
    public RespMessage call(String... args) throws IOException {
        send(args);
        return readReply();
    }

    /** Sends one command of raw arguments and waits for its reply. */
    public RespMessage call(byte[]... argv) throws IOException {
        send(argv);
        return readReply();
    }

    /** Sends one command without waiting; the reply is read with {@link #readReply()}. */
    public synchronized void send(String... args) throws IOException {
        calls.clear();
        write(calls.command(args));
    }

    /** Sends one command of raw arguments without waiting. */
    public synchronized void send(byte[]... argv) throws IOException {
        calls.clear();
        write(calls.command(argv));
    }

    /** Pipelines several commands in one write; read their replies in order with {@link #readReply()}. */
    public synchronized void sendAll(List<byte[][]> commands) throws IOException {
        calls.clear();
        for (byte[][] argv : commands) {
            calls.command(argv);
        }
        write(calls);
    }

    /** Writes everything {@code encoded} holds in one write: a pipelined round of commands. */
    public synchronized void write(RespBuffer encoded) throws IOException {
        out.write(encoded.array(), 0, encoded.size());
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

    public boolean isClosed() {
        return socket.isClosed();
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
