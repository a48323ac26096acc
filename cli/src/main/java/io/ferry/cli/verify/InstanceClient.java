package io.ferry.cli.verify;

import io.ferry.cli.ExitCode;
import io.ferry.cli.OperatorException;
import io.ferry.cli.connect.RedisFailures;
import io.ferry.cli.connect.RedisKeyspace;
import io.ferry.cli.connect.Replies;
import io.ferry.resp.RedisConnection;
import io.ferry.resp.RedisReplyException;
import io.ferry.resp.RespMessage;
import io.ferry.resp.cluster.RedisClusterClient.Routed;
import io.ferry.topology.InstanceConfig;
import io.ferry.topology.conflict.RepublishScript;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What {@code ferry verify} does on one instance's Redis, paced by a {@link ReadThrottle}: list the dbs
 * with keys, SCAN, ask which keys exist, read a key's copy, and republish a key (--repair). On a Redis
 * Cluster it SCANs every master in turn and sends each key's commands to the master of its slot; a
 * cluster has db 0 only, so in any other db it holds no keys. Failures become {@link OperatorException}s
 * naming the instance: unreachable (3), refused credentials or a missing ACL permission (6).
 */
final class InstanceClient implements AutoCloseable {

    private static final int SCAN_COUNT = 100;
    private static final Pattern KEYSPACE_LINE = Pattern.compile("^db(\\d+):keys=(\\d+)", Pattern.MULTILINE);

    private final InstanceConfig instance;
    private final ReadThrottle throttle;
    private RedisKeyspace redis;
    private KeyCopyReader reader;
    private List<RedisConnection> scanned = List.of();
    private int db = 0;

    InstanceClient(InstanceConfig instance, int keysPerSecond) {
        this.instance = instance;
        this.throttle = new ReadThrottle(keysPerSecond);
    }

    String id() {
        return instance.id();
    }

    /** Connects (exit 3 or 6 when that fails) and measures the server's clock against this machine's. */
    void connect() {
        try {
            redis = RedisKeyspace.open(instance.redis());
        } catch (IOException | RuntimeException e) {
            throw RedisFailures.classify(instance, e);
        }
        long offset = call("TIME", () -> {
            long before = System.currentTimeMillis();
            List<Object> time = Replies.items(redis.nodes().get(0).call("TIME"));
            long after = System.currentTimeMillis();
            long serverMillis = Long.parseLong(ascii(time.get(0))) * 1000 + Long.parseLong(ascii(time.get(1))) / 1000;
            return serverMillis - (before + after) / 2;
        });
        reader = new KeyCopyReader(redis, throttle, offset);
    }

    /** The dbs INFO keyspace lists with at least one key, on any of the instance's nodes. */
    SortedSet<Integer> dbsWithKeys() {
        return call("INFO keyspace", () -> {
            SortedSet<Integer> dbs = new TreeSet<>();
            for (RedisConnection node : redis.nodes()) {
                Matcher m = KEYSPACE_LINE.matcher(Replies.text(node.call("INFO", "keyspace")));
                while (m.find()) {
                    if (Long.parseLong(m.group(2)) > 0) {
                        dbs.add(Integer.parseInt(m.group(1)));
                    }
                }
            }
            return dbs;
        });
    }

    void select(int db) {
        if (db != this.db && !redis.cluster()) {
            call("SELECT " + db, () -> Replies.checked(redis.nodes().get(0).call("SELECT", Integer.toString(db))));
        }
        this.db = db;
    }

    /** Whether the selected db can hold keys here: a cluster has db 0 only. */
    private boolean dbExists() {
        return db == 0 || !redis.cluster();
    }

    /** One SCAN step in the selected db (one permit); a cluster's masters are listed when the scan begins. */
    ScanPage scan(ScanCursor cursor, byte[] pattern) {
        if (!dbExists()) {
            return new ScanPage(List.of(), null);
        }
        throttle.acquire(1);
        return call("SCAN", () -> {
            if (cursor.equals(ScanCursor.INITIAL)) {
                scanned = redis.nodes();
            }
            RedisConnection node = scanned.get(cursor.node());
            Replies.ScanReply reply = Replies.scan(node.call(Replies.argv("SCAN", cursor.cursor(), "MATCH", pattern, "COUNT", SCAN_COUNT)));
            return new ScanPage(reply.elements(), cursor.after(reply.cursor(), scanned.size()));
        });
    }

    /**
     * Whether each key of one SCAN page exists, pipelined; one permit for the batch, like the SCAN page it
     * comes from (neither reads a value). EXISTS does not touch the key's idle time.
     */
    boolean[] exist(List<byte[]> keys) {
        boolean[] exists = new boolean[keys.size()];
        if (!dbExists()) {
            return exists;
        }
        throttle.acquire(1);
        return call("EXISTS", () -> {
            List<Routed> commands = new ArrayList<>(keys.size());
            keys.forEach(key -> commands.add(Replies.on(key, "EXISTS", key)));
            List<RespMessage> replies = redis.execute(commands);
            for (int i = 0; i < exists.length; i++) {
                exists[i] = Replies.integer(replies.get(i)) > 0;
            }
            return exists;
        });
    }

    /** The keys' copies in the selected db, in the order of {@code keys}. */
    List<KeyCopy> read(List<byte[]> keys) {
        if (!dbExists()) {
            long now = System.currentTimeMillis();
            return keys.stream().map(key -> KeyCopy.missing(now)).toList();
        }
        return call("reading keys", () -> reader.read(keys));
    }

    /**
     * Runs {@link RepublishScript} on this instance for {@code key} in the selected db (on a cluster, on
     * the master of the key's slot): the key is written over itself as an ordinary write, which this
     * instance's capture publishes to every peer.
     */
    void republish(byte[] key) {
        if (!dbExists()) {
            throw new OperatorException(ExitCode.FAILED, "instance '" + id() + "' is a Redis Cluster, which has db 0 only: "
                    + "it cannot republish a key of db " + db);
        }
        List<byte[]> args = RepublishScript.evalArgs(key);
        call("EVAL (republish)", () -> Replies.checked(redis.call(
                new Routed(key, Replies.argv("EVAL", args.get(0), args.get(1), args.get(2))))));
    }

    /** A server call that may fail in any way; {@link #call} classifies the failure. */
    private interface ServerCall<T> {
        T run() throws IOException;
    }

    private <T> T call(String what, ServerCall<T> action) {
        try {
            return action.run();
        } catch (OperatorException e) {
            throw e;
        } catch (RedisReplyException e) {
            if (e.accessDenied()) {
                throw new OperatorException(ExitCode.ACCESS_DENIED, "Redis of instance '" + id() + "' at " + instance.redis()
                        + ": the ACL user lacks a permission (" + e.getMessage() + "). ferry verify needs INFO, TIME, SELECT, "
                        + "SCAN, EXISTS, TYPE, OBJECT, PEXPIRETIME or PTTL and read access to every key; --repair also EVAL "
                        + "and write access to the keys it repairs"
                        + (redis.cluster() ? "; on a cluster also CLUSTER SHARDS (or CLUSTER SLOTS) on every master." : "."), e);
            }
            throw new OperatorException(ExitCode.FAILED, "Redis of instance '" + id() + "' at " + instance.redis()
                    + " refused " + what + ": " + e.getMessage(), e);
        } catch (IOException | RuntimeException e) {
            throw RedisFailures.classify(instance, e);
        }
    }

    private static String ascii(Object bytes) {
        return new String((byte[]) bytes, StandardCharsets.US_ASCII);
    }

    @Override
    public void close() {
        if (redis != null) {
            redis.close();
        }
    }
}
