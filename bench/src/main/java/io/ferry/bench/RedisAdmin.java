package io.ferry.bench;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.KeyScanCursor;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.RedisFuture;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Control commands for one Redis the benchmark runs (INFO, CONFIG SET, REPLICAOF, counting keys). */
final class RedisAdmin implements AutoCloseable {

    private final RedisClient client;
    private final StatefulRedisConnection<String, String> connection;

    RedisAdmin(int port) {
        client = RedisClient.create(RedisURI.builder().withHost("127.0.0.1").withPort(port)
                .withTimeout(Duration.ofSeconds(60)).build());
        connection = client.connect();
    }

    RedisCommands<String, String> sync() {
        return connection.sync();
    }

    /** One field of INFO {@code section}, e.g. master_repl_offset. */
    String info(String section, String field) {
        for (String line : sync().info(section).split("\r?\n")) {
            if (line.startsWith(field + ":")) {
                return line.substring(field.length() + 1).trim();
            }
        }
        return null;
    }

    long infoLong(String section, String field) {
        String value = info(section, field);
        return value == null ? -1 : Long.parseLong(value);
    }

    /** DUMP of each key (null for a missing key), pipelined. */
    List<byte[]> dumpAll(List<String> keys) {
        List<RedisFuture<byte[]>> futures = new ArrayList<>(keys.size());
        for (String key : keys) {
            futures.add(connection.async().dump(key));
        }
        List<byte[]> dumps = new ArrayList<>(keys.size());
        for (RedisFuture<byte[]> future : futures) {
            try {
                dumps.add(future.get(60, TimeUnit.SECONDS));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            } catch (ExecutionException | TimeoutException e) {
                throw new IllegalStateException("DUMP failed", e);
            }
        }
        return dumps;
    }

    /** Keys matching {@code pattern}, counted with SCAN. */
    long countKeys(String pattern) {
        long count = 0;
        ScanCursor cursor = ScanCursor.INITIAL;
        do {
            KeyScanCursor<String> page = sync().scan(cursor, ScanArgs.Builder.matches(pattern).limit(10_000));
            count += page.getKeys().size();
            cursor = page;
        } while (!cursor.isFinished());
        return count;
    }

    @Override
    public void close() {
        connection.close();
        client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
    }
}
