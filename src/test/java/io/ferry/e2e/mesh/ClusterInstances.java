package io.ferry.e2e.mesh;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.localmesh.Await;
import io.ferry.localmesh.RedisClusterServers;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.sync.RedisAdvancedClusterCommands;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The instances of a mesh some of whose instances are 3-master Redis Clusters, as clients see them: a cluster through
 * a cluster client (and its masters one by one), the others directly; with the mesh file that names the clusters.
 */
final class ClusterInstances implements AutoCloseable {

    private final MeshUnderTest mesh;
    private final Map<String, RedisClusterServers> clusters;
    private final List<RedisClusterClient> clusterClients = new ArrayList<>();
    private final Map<String, StatefulRedisClusterConnection<String, String>> clusterConnections = new HashMap<>();
    private final List<RedisClient> masterClients = new ArrayList<>();
    private final Map<String, List<RedisCommands<String, String>>> masters = new HashMap<>();

    ClusterInstances(MeshUnderTest mesh, Map<String, RedisClusterServers> clusters) {
        this.mesh = mesh;
        this.clusters = clusters;
        clusters.forEach((name, cluster) -> {
            RedisClusterClient clusterClient = RedisClusterClient.create(RedisURI.create("127.0.0.1", cluster.node(0).port()));
            clusterClients.add(clusterClient);
            clusterConnections.put(name, clusterClient.connect());
            for (int node = 0; node < 3; node++) {
                RedisClient client = RedisClient.create(cluster.node(node).uri());
                masterClients.add(client);
                masters.computeIfAbsent(name, n -> new ArrayList<>()).add(client.connect().sync());
            }
        });
    }

    private boolean isCluster(String name) {
        return clusters.containsKey(name);
    }

    private RedisAdvancedClusterCommands<String, String> clusterSync(String name) {
        return clusterConnections.get(name).sync();
    }

    void mset(String name, Map<String, String> keys) {
        if (isCluster(name)) {
            clusterSync(name).mset(keys);
        } else {
            mesh.redis(name).mset(keys);
        }
    }

    void hset(String name, String key, Map<String, String> fields) {
        if (isCluster(name)) {
            clusterSync(name).hset(key, fields);
        } else {
            mesh.redis(name).hset(key, fields);
        }
    }

    String get(String name, String key) {
        return isCluster(name) ? clusterSync(name).get(key) : mesh.redis(name).get(key);
    }

    String hget(String name, String key, String field) {
        return isCluster(name) ? clusterSync(name).hget(key, field) : mesh.redis(name).hget(key, field);
    }

    CounterLoad load(String name, int ops, int keys, Duration minDuration) {
        return load(name, "load:" + name.toLowerCase(), ops, keys, minDuration);
    }

    CounterLoad load(String name, String prefix, int ops, int keys, Duration minDuration) {
        CounterLoad load = new CounterLoad(mesh, name, prefix, ops, keys, minDuration);
        return isCluster(name) ? load.onCluster(clusters.get(name).node(0).port()) : load;
    }

    boolean applied(CounterLoad load, String on) {
        return isCluster(on) ? load.appliedOn(clusterSync(on)) : load.appliedOn(on);
    }

    void assertExact(CounterLoad load, String on) {
        if (isCluster(on)) {
            load.assertAppliedExactlyOnceOn(on, clusterSync(on));
        } else {
            load.assertAppliedExactlyOnceOn(on);
        }
    }

    Keyspace keyspace(String name) {
        return isCluster(name) ? Keyspace.ofMasters(masters.get(name)) : Keyspace.of(mesh.redis(name));
    }

    boolean identical(List<String> names) {
        Keyspace first = keyspace(names.get(0));
        for (String other : names.subList(1, names.size())) {
            Keyspace theirs = keyspace(other);
            List<String> differences = first.differences(theirs, 1000);
            if (!differences.isEmpty() || !theirs.differences(first, 1000).isEmpty()) {
                System.out.println(names.get(0) + " vs " + other + ": " + differences.stream().limit(5).toList());
                return false;
            }
        }
        return true;
    }

    @Override
    public void close() {
        clusterConnections.values().forEach(StatefulRedisClusterConnection::close);
        clusterClients.forEach(c -> c.shutdown(Duration.ZERO, Duration.ofSeconds(1)));
        masterClients.forEach(c -> c.shutdown(Duration.ZERO, Duration.ofSeconds(1)));
    }

    /** Starts {@code running}'s agents and writes keys on each (on every master of a cluster), applied on the others. */
    static void startAndSeed(MeshUnderTest mesh, ClusterInstances redis, List<String> running) {
        running.forEach(mesh::startCapture);
        running.forEach(mesh::startApply); // the joining instance is in the mesh file: its topic is picked up once it exists
        for (String name : running) {
            mesh.awaitReady(name, "capture");
            mesh.awaitReady(name, "apply");
        }
        for (String name : running) { // keys on every master of the cluster, from every running instance
            Map<String, String> keys = new HashMap<>();
            for (int i = 0; i < 300; i++) {
                keys.put("pre:" + name.toLowerCase() + ":" + i, "v" + i);
            }
            redis.mset(name, keys);
            redis.hset(name, "pre:" + name.toLowerCase() + ":hash", Map.of("f1", "1", "f2", "2"));
        }
        Await.until(MeshUnderTest.CONVERGE, "the running instances applied each other's keys", () -> running.stream()
                .allMatch(on -> running.stream().allMatch(from -> "v299".equals(redis.get(on, "pre:" + from.toLowerCase() + ":299")))));
    }

    /** The mesh file with each of {@code clusters}' instances on its Redis Cluster instead of its standalone server. */
    static Path meshFile(MeshUnderTest mesh, Map<String, RedisClusterServers> clusters, Path dir) throws Exception {
        String yaml = java.nio.file.Files.readString(mesh.local().configFile());
        for (Map.Entry<String, RedisClusterServers> cluster : clusters.entrySet()) {
            String standalone = "{uri: \"" + mesh.local().redis(mesh.id(cluster.getKey())).uri() + "\"}";
            assertTrue(yaml.contains(standalone), yaml);
            yaml = yaml.replace(standalone, "{uri: \"redis://127.0.0.1:" + cluster.getValue().node(0).port() + "\", cluster: true}");
        }
        Path file = dir.resolve("mesh-clusters.yaml");
        java.nio.file.Files.writeString(file, yaml);
        return file;
    }
}
