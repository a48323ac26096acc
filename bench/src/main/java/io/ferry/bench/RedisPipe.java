package io.ferry.bench;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * One raw RESP connection for pipelined writes: the caller writes whole batches, a reader thread counts
 * the replies (and errors) as they come back. Commands on one connection keep their order, which is
 * what lets a marker write stand for every write before it.
 */
final class RedisPipe implements AutoCloseable {

    private final Socket socket;
    private final OutputStream out;
    private final Thread reader;
    private final AtomicLong replies = new AtomicLong();
    private final AtomicLong errors = new AtomicLong();
    private volatile String lastError;
    private volatile IOException failure;
    private volatile boolean closing;

    RedisPipe(String host, int port) {
        try {
            socket = new Socket();
            socket.setTcpNoDelay(true);
            socket.setSendBufferSize(1 << 20);
            socket.setReceiveBufferSize(1 << 20);
            socket.connect(new InetSocketAddress(host, port), 5000);
            out = socket.getOutputStream();
            RespReader in = new RespReader(socket.getInputStream());
            reader = new Thread(() -> readLoop(in), "bench-replies-" + port);
            reader.setDaemon(true);
            reader.start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot connect to redis at " + host + ":" + port, e);
        }
    }

    private void readLoop(RespReader in) {
        try {
            while (true) {
                if (in.skipReply()) {
                    errors.incrementAndGet();
                    lastError = in.lastError();
                }
                replies.incrementAndGet();
            }
        } catch (IOException e) {
            if (!closing) {
                failure = e;
            }
        }
    }

    /** Writes a batch of encoded commands; blocks while the socket buffer is full (Redis is behind). */
    void send(RespBuffer batch) {
        checkHealthy();
        try {
            out.write(batch.array(), 0, batch.size());
        } catch (IOException e) {
            throw new UncheckedIOException("write to redis failed", e);
        }
    }

    long replies() {
        return replies.get();
    }

    long errors() {
        return errors.get();
    }

    String lastError() {
        return lastError;
    }

    /** Waits until {@code expected} replies have arrived in total. */
    void awaitReplies(long expected, long timeoutMillis) {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
        while (replies.get() < expected) {
            checkHealthy();
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("redis answered " + replies.get() + " of " + expected
                        + " commands within " + timeoutMillis + " ms");
            }
            LockSupport.parkNanos(200_000);
        }
    }

    private void checkHealthy() {
        if (failure != null) {
            throw new UncheckedIOException("redis connection failed", failure);
        }
    }

    @Override
    public void close() {
        closing = true;
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }
}
