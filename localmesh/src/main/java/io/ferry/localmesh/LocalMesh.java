package io.ferry.localmesh;

import io.ferry.topology.MeshConfig;
import io.ferry.topology.MeshConfigLoader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The servers of a mesh on one machine: one Kafka broker and one redis-server per instance (or one
 * Redis Cluster per instance, see {@link #startClusters}), plus the mesh file describing them. Agents are started separately (by the demo, a test or the benchmark) from
 * {@link #configFile()}. Closing stops every Redis it started (by PID) and the broker if it owns it.
 */
public final class LocalMesh implements AutoCloseable {

    private final Path dir;
    private final KafkaCluster kafka;
    private final boolean ownsKafka;
    private final Map<String, RedisServer> redis;
    private final Map<String, RedisClusterServers> clusters;
    private final Path configFile;
    private final MeshConfig config;

    private LocalMesh(Path dir, KafkaCluster kafka, boolean ownsKafka, Map<String, RedisServer> redis,
            Map<String, RedisClusterServers> clusters, String extraYaml) {
        this.dir = dir;
        this.kafka = kafka;
        this.ownsKafka = ownsKafka;
        this.redis = redis;
        this.clusters = clusters;
        this.configFile = dir.resolve("mesh.yaml");
        try {
            Files.writeString(configFile, yaml(extraYaml));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + configFile, e);
        }
        this.config = MeshConfigLoader.load(configFile, Map.of());
    }

    /**
     * Starts {@code ids.size()} redis-servers from {@code binary} under {@code dir}. With {@code kafka}
     * null an in-JVM broker is started and owned by the mesh.
     *
     * @param extraYaml appended to the mesh file (for example a {@code capture:} or {@code apply:} section), may be empty
     */
    public static LocalMesh start(Path dir, List<String> ids, RedisBinary binary, KafkaCluster kafka, String extraYaml) {
        return start(dir, ids, binary, kafka, extraYaml, List.of());
    }

    /** The same with redis-server options for every instance (for example {@code --appendonly yes}). */
    public static LocalMesh start(Path dir, List<String> ids, RedisBinary binary, KafkaCluster kafka, String extraYaml,
            List<String> redisArgs) {
        boolean ownsKafka = kafka == null;
        KafkaCluster broker = ownsKafka ? LocalKafka.start(LocalKafka.Mode.IN_PROCESS, dir.resolve("kafka")) : kafka;
        Map<String, RedisServer> servers = new LinkedHashMap<>();
        try {
            for (String id : ids) {
                servers.put(id, RedisServer.start(binary, dir.resolve("redis-" + id), redisArgs.toArray(String[]::new)));
            }
            return new LocalMesh(dir, broker, ownsKafka, servers, Map.of(), extraYaml);
        } catch (RuntimeException e) {
            servers.values().forEach(RedisServer::stop);
            if (ownsKafka) {
                broker.stop();
            }
            throw e;
        }
    }

    /**
     * The same with every instance a Redis Cluster of {@code masters} masters (slots split evenly); the
     * mesh file names each instance's first node with {@code cluster: true}, the others are discovered.
     */
    public static LocalMesh startClusters(Path dir, List<String> ids, RedisBinary binary, KafkaCluster kafka, String extraYaml,
            int masters) {
        boolean ownsKafka = kafka == null;
        KafkaCluster broker = ownsKafka ? LocalKafka.start(LocalKafka.Mode.IN_PROCESS, dir.resolve("kafka")) : kafka;
        Map<String, RedisClusterServers> clusters = new LinkedHashMap<>();
        try {
            Map<String, RedisServer> seeds = new LinkedHashMap<>();
            for (String id : ids) {
                RedisClusterServers cluster = RedisClusterServers.start(binary, dir.resolve("redis-" + id), masters);
                clusters.put(id, cluster);
                seeds.put(id, cluster.node(0));
            }
            return new LocalMesh(dir, broker, ownsKafka, seeds, clusters, extraYaml);
        } catch (RuntimeException e) {
            clusters.values().forEach(RedisClusterServers::close);
            if (ownsKafka) {
                broker.stop();
            }
            throw e;
        }
    }

    private String yaml(String extraYaml) {
        StringBuilder yaml = new StringBuilder("mesh: local\nkafka:\n  bootstrap: \"" + kafka.bootstrap() + "\"\n");
        if (!kafka.meshProperties().isEmpty()) {
            yaml.append("  properties:\n");
            kafka.meshProperties().forEach((key, value) -> yaml.append("    \"").append(key).append("\": \"").append(value).append("\"\n"));
        }
        yaml.append("instances:\n");
        for (Map.Entry<String, RedisServer> entry : redis.entrySet()) {
            yaml.append("  ").append(entry.getKey()).append(":\n")
                    .append("    redis: {uri: \"").append(entry.getValue().uri())
                    .append(clusters.containsKey(entry.getKey()) ? "\", cluster: true}\n" : "\"}\n")
                    .append("    http: {capturePort: ").append(FreePorts.next())
                    .append(", applyPort: ").append(FreePorts.next()).append("}\n");
        }
        if (extraYaml != null && !extraYaml.isBlank()) {
            yaml.append(extraYaml.endsWith("\n") ? extraYaml : extraYaml + "\n");
        }
        return yaml.toString();
    }

    public List<String> ids() {
        return new ArrayList<>(redis.keySet());
    }

    /** The instance's redis-server; for a cluster instance, the node the mesh file names (node 0). */
    public RedisServer redis(String id) {
        RedisServer server = redis.get(id);
        if (server == null) {
            throw new IllegalArgumentException("no instance " + id + " in " + redis.keySet());
        }
        return server;
    }

    /** Whether every instance is a Redis Cluster ({@link #startClusters}). */
    public boolean clustered() {
        return !clusters.isEmpty();
    }

    /** The Redis Cluster of a cluster instance. */
    public RedisClusterServers cluster(String id) {
        RedisClusterServers cluster = clusters.get(id);
        if (cluster == null) {
            throw new IllegalArgumentException("instance " + id + " is not a Redis Cluster (instances: " + redis.keySet() + ")");
        }
        return cluster;
    }

    public KafkaCluster kafka() {
        return kafka;
    }

    public Path dir() {
        return dir;
    }

    public Path configFile() {
        return configFile;
    }

    public MeshConfig config() {
        return config;
    }

    @Override
    public void close() {
        if (clustered()) {
            clusters.values().forEach(RedisClusterServers::close);
        } else {
            redis.values().forEach(RedisServer::stop);
        }
        if (ownsKafka) {
            kafka.stop();
        }
    }
}
