package io.ferry.capture.position;

import io.ferry.capture.psync.RedisConnection;
import io.ferry.capture.psync.RespMessage;
import io.ferry.topology.RedisEndpoint;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Asks the source for its {@code master_repl_offset} (INFO replication) on a fixed interval, on a
 * connection of its own: the far end of the capture-lag-in-bytes measurement and of heartbeats.
 */
public final class SourceOffsetPoller implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(SourceOffsetPoller.class);

    private final RedisEndpoint endpoint;
    private final LongConsumer sink;
    private final ScheduledExecutorService timer;
    private RedisConnection connection;

    public SourceOffsetPoller(RedisEndpoint endpoint, long intervalMillis, LongConsumer sink) {
        this.endpoint = endpoint;
        this.sink = sink;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "ferry-capture-source-offset");
            t.setDaemon(true);
            return t;
        });
        timer.scheduleWithFixedDelay(this::poll, 0, intervalMillis, TimeUnit.MILLISECONDS);
    }

    private void poll() {
        try {
            if (connection == null) {
                connection = RedisConnection.open(endpoint, 5000);
            }
            RespMessage reply = connection.call("INFO", "replication");
            if (reply instanceof RespMessage.BulkString bulk && bulk.bytes() != null) {
                long offset = parseMasterOffset(new String(bulk.bytes(), StandardCharsets.UTF_8));
                if (offset >= 0) {
                    sink.accept(offset);
                }
            }
        } catch (IOException | RuntimeException e) {
            log.debug("INFO replication from {} failed: {}", endpoint, e.toString());
            if (connection != null) {
                connection.close();
                connection = null;
            }
        }
    }

    /** master_repl_offset from an INFO replication text, or -1. */
    public static long parseMasterOffset(String info) {
        for (String line : info.split("\r?\n")) {
            if (line.startsWith("master_repl_offset:")) {
                return Long.parseLong(line.substring("master_repl_offset:".length()).trim());
            }
        }
        return -1;
    }

    @Override
    public void close() {
        timer.shutdownNow();
        try {
            timer.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (connection != null) {
            connection.close();
        }
    }
}
