package io.ferry.capture.position;

import io.ferry.resp.RedisConnection;
import io.ferry.resp.RespMessage;
import io.ferry.topology.RedisEndpoint;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Asks the source for its {@code master_repl_offset}, replication ids and backlog size (INFO
 * replication) and its key count (INFO keyspace) on a fixed interval, on a connection of its own: the
 * far end of the capture-lag-in-bytes measurement and of heartbeats, the write rate behind the
 * backlog headroom, and the key count the wipe guard compares with.
 */
public final class SourceOffsetPoller implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(SourceOffsetPoller.class);

    /** The source now (a cluster shard's master changes with a failover). */
    private final Supplier<RedisEndpoint> endpoint;
    private RedisEndpoint connected;
    private final Consumer<SourceInfo> sink;
    private final ScheduledExecutorService timer;
    private RedisConnection connection;

    public SourceOffsetPoller(Supplier<RedisEndpoint> endpoint, long intervalMillis, Consumer<SourceInfo> sink) {
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
            RedisEndpoint source = endpoint.get();
            if (connection != null && !source.equals(connected)) {
                connection.close();
                connection = null;
            }
            if (connection == null) {
                connection = RedisConnection.open(source, 5000);
                connected = source;
            }
            String replication = text(connection.call("INFO", "replication"));
            String keyspace = replication == null ? null : text(connection.call("INFO", "keyspace"));
            SourceInfo info = SourceInfo.parse(replication, keyspace);
            if (info.offset() >= 0) {
                sink.accept(info);
            }
        } catch (IOException | RuntimeException e) {
            log.debug("INFO replication from {} failed: {}", connected, e.toString());
            if (connection != null) {
                connection.close();
                connection = null;
            }
        }
    }

    private static String text(RespMessage reply) {
        return reply instanceof RespMessage.BulkString bulk && bulk.bytes() != null
                ? new String(bulk.bytes(), StandardCharsets.UTF_8) : null;
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
