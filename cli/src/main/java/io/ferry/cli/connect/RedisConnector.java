package io.ferry.cli.connect;

import io.ferry.cli.OperatorException;
import io.ferry.resp.RedisConnection;
import io.ferry.resp.RespMessage;
import io.ferry.resp.cluster.RedisClusterClient.Routed;
import io.ferry.topology.InstanceConfig;
import io.ferry.topology.RedisAccess;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Short-lived access from the command line to an instance's Redis, through Ferry's own RESP client, with
 * every way it can fail turned into an {@link OperatorException} naming the instance, the address (never
 * the password) and what to check. INFO and ACL DRYRUN ask the node the instance's address names (a
 * cluster's seed node); keys are read and deleted where their slot lives.
 */
public final class RedisConnector implements AutoCloseable {

    private static final int CONNECT_TIMEOUT_MILLIS = 5_000;
    private static final int SCAN_COUNT = 1000;

    private final InstanceConfig instance;
    private RedisKeyspace keyspace;
    private RedisConnection seed;

    public RedisConnector(InstanceConfig instance) {
        this.instance = instance;
    }

    /** The INFO replication section as a map of field to value. */
    public Map<String, String> infoReplication() {
        return info("replication");
    }

    /** One INFO section of the addressed node as a map of field to value (reachability, credentials and INFO checked). */
    public Map<String, String> info(String section) {
        String text = call(() -> String.valueOf(Replies.text(seed().call("INFO", section))));
        Map<String, String> fields = new LinkedHashMap<>();
        text.lines().filter(l -> l.contains(":")).forEach(l -> {
            int colon = l.indexOf(':');
            fields.put(l.substring(0, colon).trim(), l.substring(colon + 1).trim());
        });
        return fields;
    }

    /** The value of {@code key} in db 0, or null; on a Redis Cluster read from the master of the key's slot. */
    public byte[] get(byte[] key) {
        return call(() -> Replies.bulk(keyspace().call(Replies.on(key, "GET", key))));
    }

    /** Deletes every key matching {@code pattern} in db 0 (on every master of a cluster); how many were deleted. */
    public long deleteMatching(byte[] pattern) {
        return call(() -> {
            List<Routed> deletes = new ArrayList<>();
            for (RedisConnection node : keyspace().nodes()) {
                Replies.ScanReply page;
                String cursor = "0";
                do {
                    page = Replies.scan(node.call(Replies.argv("SCAN", cursor, "MATCH", pattern, "COUNT", SCAN_COUNT)));
                    page.elements().forEach(key -> deletes.add(Replies.on(key, "DEL", key)));
                    cursor = page.cursor();
                } while (!page.finished());
            }
            long deleted = 0;
            for (RespMessage reply : deletes.isEmpty() ? List.<RespMessage>of() : keyspace().execute(deletes)) {
                deleted += Replies.integer(reply);
            }
            return deleted;
        });
    }

    /**
     * Which of {@code role}'s permissions this instance's user lacks, asked of ACL DRYRUN (Redis 7+). ACL rules
     * are each node's own in a Redis Cluster, so there every master is asked and the note names the nodes that
     * refuse.
     */
    public RedisAccess.Verdict access(RedisAccess.Role role) {
        String user = instance.redis().username() == null ? "default" : instance.redis().username();
        if (!instance.redis().cluster()) {
            return access(role, user, call(this::seed));
        }
        java.util.Set<String> missing = new java.util.LinkedHashSet<>();
        List<String> refusing = new ArrayList<>();
        for (RedisConnection node : call(() -> keyspace().nodes())) {
            RedisAccess.Verdict verdict = access(role, user, node);
            if (!verdict.checked()) {
                return verdict;
            }
            if (!verdict.missing().isEmpty()) {
                missing.addAll(verdict.missing());
                refusing.add(node.endpoint().host() + ":" + node.endpoint().port() + " lacks " + String.join(", ", verdict.missing()));
            }
        }
        return new RedisAccess.Verdict(true, List.copyOf(missing), refusing.isEmpty() ? null
                : "ACL rules are each node's own in a Redis Cluster: grant them on every node, replicas included; "
                + String.join("; ", refusing));
    }

    private RedisAccess.Verdict access(RedisAccess.Role role, String user, RedisConnection node) {
        return RedisAccess.check(role, user, instance.redis().cluster(), args -> {
            List<String> argv = new ArrayList<>(List.of("ACL", "DRYRUN"));
            argv.addAll(args);
            RespMessage reply = call(() -> node.call(argv.toArray(String[]::new)));
            if (reply instanceof RespMessage.Error error) {
                return "-" + error.text();
            }
            String text = call(() -> Replies.text(reply));
            return text == null ? "" : text;
        });
    }

    public OperatorException classify(Throwable e) {
        return RedisFailures.classify(instance, e);
    }

    private interface RedisCall<T> {
        T run() throws IOException;
    }

    /** Runs {@code call}, turning every failure (unreachable, refused credentials, a protocol surprise) into an operator's error. */
    private <T> T call(RedisCall<T> call) {
        try {
            return call.run();
        } catch (OperatorException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw classify(e);
        }
    }

    private RedisKeyspace keyspace() throws IOException {
        if (keyspace == null) {
            keyspace = RedisKeyspace.open(instance.redis());
        }
        return keyspace;
    }

    /** The addressed node: a standalone server's one connection, or a connection of its own to a cluster's seed node. */
    private RedisConnection seed() throws IOException {
        if (seed == null) {
            seed = instance.redis().cluster() ? RedisConnection.open(instance.redis(), CONNECT_TIMEOUT_MILLIS) : keyspace().nodes().get(0);
        }
        return seed;
    }

    @Override
    public void close() {
        if (seed != null && instance.redis().cluster()) {
            seed.close();
        }
        if (keyspace != null) {
            keyspace.close();
        }
    }
}
