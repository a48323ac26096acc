package io.ferry.cli.verify;

import io.ferry.cli.ExitCode;
import io.ferry.cli.OperatorException;
import io.ferry.cli.connect.RedisConnector;
import io.ferry.topology.InstanceConfig;
import io.ferry.topology.conflict.RepublishScript;
import io.lettuce.core.KeyScanCursor;
import io.lettuce.core.LettuceFutures;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.output.IntegerOutput;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What {@code ferry verify} does on one instance's Redis, paced by a {@link ReadThrottle}: list the dbs
 * with keys, SCAN, ask which keys exist, read a key's copy, and republish a key (--repair). Failures
 * become {@link OperatorException}s naming the instance: unreachable (3), refused credentials or a
 * missing ACL permission (6).
 */
final class InstanceClient implements AutoCloseable {

    private static final int SCAN_COUNT = 100;
    private static final Pattern KEYSPACE_LINE = Pattern.compile("^db(\\d+):keys=(\\d+)", Pattern.MULTILINE);

    private final InstanceConfig instance;
    private final RedisConnector connector;
    private final ReadThrottle throttle;
    private StatefulRedisConnection<byte[], byte[]> connection;
    private RedisCommands<byte[], byte[]> redis;
    private KeyCopyReader reader;
    private int db = 0;

    InstanceClient(InstanceConfig instance, int keysPerSecond) {
        this.instance = instance;
        this.connector = new RedisConnector(instance);
        this.throttle = new ReadThrottle(keysPerSecond);
    }

    String id() {
        return instance.id();
    }

    /** Connects (exit 3 or 6 when that fails) and measures the server's clock against this machine's. */
    void connect() {
        connection = connector.connect();
        redis = connection.sync();
        long offset = call("TIME", () -> {
            long before = System.currentTimeMillis();
            List<byte[]> time = redis.time();
            long after = System.currentTimeMillis();
            long serverMillis = Long.parseLong(ascii(time.get(0))) * 1000 + Long.parseLong(ascii(time.get(1))) / 1000;
            return serverMillis - (before + after) / 2;
        });
        reader = new KeyCopyReader(connection, throttle, offset);
    }

    /** The dbs INFO keyspace lists with at least one key. */
    SortedSet<Integer> dbsWithKeys() {
        String keyspace = call("INFO keyspace", () -> redis.info("keyspace"));
        SortedSet<Integer> dbs = new TreeSet<>();
        Matcher m = KEYSPACE_LINE.matcher(keyspace);
        while (m.find()) {
            if (Long.parseLong(m.group(2)) > 0) {
                dbs.add(Integer.parseInt(m.group(1)));
            }
        }
        return dbs;
    }

    void select(int db) {
        if (db != this.db) {
            call("SELECT " + db, () -> redis.select(db));
            this.db = db;
        }
    }

    /** One SCAN step in the selected db (one permit). */
    KeyScanCursor<byte[]> scan(ScanCursor cursor, byte[] pattern) {
        throttle.acquire(1);
        return call("SCAN", () -> redis.scan(cursor, ScanArgs.Builder.limit(SCAN_COUNT).match(pattern)));
    }

    /**
     * Whether each key of one SCAN page exists, pipelined; one permit for the batch, like the SCAN page it
     * comes from (neither reads a value). EXISTS does not touch the key's idle time.
     */
    boolean[] exist(List<byte[]> keys) {
        throttle.acquire(1);
        return call("EXISTS", () -> {
            List<RedisFuture<Long>> replies = new ArrayList<>(keys.size());
            keys.forEach(key -> replies.add(connection.async().exists(key)));
            LettuceFutures.awaitAll(Duration.ofSeconds(30), replies.toArray(new RedisFuture<?>[0]));
            boolean[] exists = new boolean[keys.size()];
            for (int i = 0; i < exists.length; i++) {
                exists[i] = replies.get(i).get() > 0;
            }
            return exists;
        });
    }

    /** The keys' copies in the selected db, in the order of {@code keys}. */
    List<KeyCopy> read(List<byte[]> keys) {
        return call("reading keys", () -> reader.read(keys));
    }

    /**
     * Runs {@link RepublishScript} on this instance for {@code key} in the selected db: the key is written
     * over itself as an ordinary write, which this instance's capture publishes to every peer.
     */
    void republish(byte[] key) {
        List<byte[]> args = RepublishScript.evalArgs(key);
        call("EVAL (republish)", () -> redis.dispatch(CommandType.EVAL, new IntegerOutput<>(ByteArrayCodec.INSTANCE),
                new CommandArgs<>(ByteArrayCodec.INSTANCE).add(args.get(0)).add(args.get(1)).addKey(args.get(2))));
    }

    /** A server call that may fail in any way; {@link #call} classifies the failure. */
    private interface ServerCall<T> {
        T run() throws Exception;
    }

    private <T> T call(String what, ServerCall<T> action) {
        try {
            return action.run();
        } catch (OperatorException e) {
            throw e;
        } catch (RedisCommandExecutionException e) {
            if (KeyCopyReader.isPermission(e)) {
                throw new OperatorException(ExitCode.ACCESS_DENIED, "Redis of instance '" + id() + "' at " + instance.redis()
                        + ": the ACL user lacks a permission (" + e.getMessage() + "). ferry verify needs INFO, TIME, SELECT, "
                        + "SCAN, EXISTS, TYPE, OBJECT, PEXPIRETIME or PTTL and read access to every key; --repair also EVAL "
                        + "and write access to the keys it repairs.", e);
            }
            throw new OperatorException(ExitCode.FAILED, "Redis of instance '" + id() + "' at " + instance.redis()
                    + " refused " + what + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new OperatorException(ExitCode.FAILED, "interrupted while " + what + " on instance '" + id() + "'", e);
        } catch (Exception e) {
            throw connector.classify(e instanceof RuntimeException runtime ? runtime : new IllegalStateException(e));
        }
    }

    private static String ascii(byte[] bytes) {
        return new String(bytes, StandardCharsets.US_ASCII);
    }

    @Override
    public void close() {
        connector.close();
    }
}
