package io.ferry.bench;

import io.ferry.resp.RedisConnection;
import io.ferry.resp.RespBuffer;
import io.ferry.resp.RespMessage;
import io.ferry.topology.RedisEndpoint;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One raw RESP connection for pipelined writes: the caller writes whole batches, a reader thread counts
 * the replies (and errors) as they come back. Commands on one connection keep their order, which is
 * what lets a marker write stand for every write before it.
 */
final class RedisPipe implements AutoCloseable {

    private final RedisConnection connection;
    private final Thread reader;
    private final AtomicLong replies = new AtomicLong();
    private final AtomicLong errors = new AtomicLong();
    private volatile String lastError;
    private volatile IOException failure;
    private volatile boolean closing;

    RedisPipe(String host, int port) {
        try {
            connection = RedisConnection.open(new RedisEndpoint(host, port, false, null, null), 5000);
            connection.setReadTimeout(0); // replies come as fast as Redis runs the batches, however slow
            reader = new Thread(this::readLoop, "bench-replies-" + port);
            reader.setDaemon(true);
            reader.start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot connect to redis at " + host + ":" + port, e);
        }
    }

    private void readLoop() {
        try {
            while (true) {
                String error = errorIn(connection.readReply());
                if (error != null) {
                    errors.incrementAndGet();
                    lastError = error;
                }
                replies.incrementAndGet();
            }
        } catch (IOException | RuntimeException e) {
            if (!closing) {
                failure = e instanceof IOException io ? io : new IOException(e);
            }
        }
    }

    /** The error a reply is or holds (an EXEC array may carry one per command); null when none. */
    private static String errorIn(RespMessage reply) {
        if (reply instanceof RespMessage.Error error) {
            return error.text();
        }
        if (reply instanceof RespMessage.Array array) {
            for (Object item : array.items()) {
                if (item instanceof RespMessage.Error error) {
                    return error.text();
                }
            }
        }
        return null;
    }

    /** Writes a batch of encoded commands; blocks while the socket buffer is full (Redis is behind). */
    void send(RespBuffer batch) {
        checkHealthy();
        try {
            connection.write(batch);
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

    /** Throws if the reader thread lost the connection. */
    void checkHealthy() {
        if (failure != null) {
            throw new UncheckedIOException("redis connection failed", failure);
        }
    }

    @Override
    public void close() {
        closing = true;
        connection.close();
    }
}
