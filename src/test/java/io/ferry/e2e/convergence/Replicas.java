package io.ferry.e2e.convergence;

import io.ferry.e2e.mesh.MeshUnderTest;
import io.ferry.localmesh.RedisClusterServers;
import io.ferry.localmesh.RedisServer;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Every instance's Redis as a test reads it to judge convergence: one connection of its own per
 * instance (writers keep theirs), snapshots under a key prefix, and a poll until they agree. An instance
 * on a Redis Cluster is read from each of its nodes (a key is on the master of its slot).
 */
final class Replicas implements AutoCloseable {

    private final Map<String, RedisClient> clients = new LinkedHashMap<>();
    private final Map<String, StatefulRedisConnection<String, String>> connections = new LinkedHashMap<>();
    private final Map<String, List<StatefulRedisConnection<String, String>>> clusterNodes = new LinkedHashMap<>();

    Replicas(MeshUnderTest mesh) {
        this(mesh, Map.of());
    }

    /** @param clusters the instances whose Redis is a Redis Cluster of masters only (no slot moving while they are read) */
    Replicas(MeshUnderTest mesh, Map<String, RedisClusterServers> clusters) {
        for (String name : mesh.names()) {
            RedisClusterServers cluster = clusters.get(name);
            if (cluster == null) {
                RedisClient client = mesh.newClient(name);
                clients.put(name, client);
                connections.put(name, client.connect());
                continue;
            }
            List<StatefulRedisConnection<String, String>> nodes = new ArrayList<>();
            for (RedisServer node : cluster.nodes()) {
                RedisClient client = RedisClient.create(node.uri());
                clients.put(name + "@" + node.port(), client);
                nodes.add(client.connect());
            }
            clusterNodes.put(name, nodes);
        }
    }

    /** The connection to a standalone instance. */
    StatefulRedisConnection<String, String> connection(String name) {
        return connections.get(name);
    }

    Map<String, Snapshot> snapshots(String prefix) {
        Map<String, Snapshot> snapshots = new LinkedHashMap<>();
        connections.forEach((name, connection) -> snapshots.put(name, Snapshot.of(connection, prefix)));
        clusterNodes.forEach((name, nodes) -> {
            Map<String, Snapshot.Value> keys = new java.util.TreeMap<>();
            nodes.forEach(node -> keys.putAll(Snapshot.of(node, prefix).keys()));
            snapshots.put(name, new Snapshot(keys));
        });
        return snapshots;
    }

    Map<String, Map<String, Snapshot.Value>> differences(String prefix) {
        return Snapshot.differences(snapshots(prefix));
    }

    /**
     * Polls until every instance holds the same keys under {@code prefix} and still does {@code stableFor}
     * later (a repair in flight could otherwise pass for convergence); returns the snapshot they agree on.
     * The failure lists the keys that differ in the last reading, with every instance's value.
     */
    Snapshot awaitIdentical(String prefix, Duration timeout, Duration stableFor, String what) {
        long start = System.nanoTime();
        long deadline = start + timeout.plus(stableFor).toNanos();
        long identicalSince = -1;
        Map<String, Map<String, Snapshot.Value>> diverged = Map.of();
        Map<String, Map<String, Snapshot.Value>> lastDiverged = Map.of(); // the last reading that differed
        long lastDivergedAt = -1;
        RuntimeException lastError = null;
        while (true) {
            Map<String, Snapshot> snapshots = null;
            try {
                snapshots = snapshots(prefix);
                diverged = Snapshot.differences(snapshots);
                if (!diverged.isEmpty()) {
                    lastDiverged = diverged;
                    lastDivergedAt = System.nanoTime();
                }
                lastError = null;
            } catch (IllegalStateException e) {
                lastError = e; // a key changed type under the reader: read again
            }
            long now = System.nanoTime();
            if (snapshots != null && diverged.isEmpty()) {
                if (identicalSince < 0) {
                    identicalSince = now;
                }
                if (now - identicalSince >= stableFor.toNanos()) {
                    System.out.printf("%s: identical %d ms after the last write (%d keys)%n", what,
                            (identicalSince - start) / 1_000_000, snapshots.values().iterator().next().keys().size());
                    return snapshots.values().iterator().next();
                }
            } else {
                identicalSince = -1;
            }
            if (now > deadline) {
                String message = what + ": the instances still differ " + timeout + " after the last write; "
                        + diverged.size() + " keys diverged:" + Snapshot.describe(diverged, 40);
                if (diverged.isEmpty() && !lastDiverged.isEmpty()) {
                    // identical at the last reading, but not for stableFor: a repair kept changing keys until the end
                    message += "\nidentical only since " + (now - lastDivergedAt) / 1_000_000 + " ms (less than " + stableFor
                            + "); the last reading that differed had " + lastDiverged.size() + " keys:" + Snapshot.describe(lastDiverged, 40);
                }
                System.out.println(message);
                throw new AssertionError(message, lastError);
            }
            sleepQuietly(100);
        }
    }

    /** Milliseconds until every instance holds the same keys under {@code prefix}, if they do within {@code timeout}. */
    Optional<Long> awaitIdenticalQuietly(String prefix, Duration timeout) {
        long start = System.nanoTime();
        do {
            try {
                if (differences(prefix).isEmpty()) {
                    return Optional.of((System.nanoTime() - start) / 1_000_000);
                }
            } catch (IllegalStateException e) {
                // a key changed type under the reader: read again
            }
            sleepQuietly(200);
        } while (System.nanoTime() - start < timeout.toNanos());
        return Optional.empty();
    }

    static void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    @Override
    public void close() {
        connections.values().forEach(StatefulRedisConnection::close);
        clusterNodes.values().forEach(nodes -> nodes.forEach(StatefulRedisConnection::close));
        clients.values().forEach(c -> c.shutdown(Duration.ZERO, Duration.ofSeconds(1)));
    }
}
