package io.ferry.localmesh;

import io.lettuce.core.MigrateArgs;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

/**
 * A real Redis Cluster of redis-server processes on loopback ports: {@code masters} masters, the 16384
 * slots split evenly between them (CLUSTER ADDSLOTS, CLUSTER MEET), started and stopped by this JVM.
 * Also moves a slot between masters the way {@code redis-cli --cluster reshard} does, so tests can
 * change the topology under a client.
 */
public final class RedisClusterServers implements AutoCloseable {

    /** The cluster bus listens on the client port + 10000, so both must be free. */
    private static final int BUS_OFFSET = 10_000;
    private static final int SLOTS = 16384;

    private final List<RedisServer> nodes;
    /** Indexes of nodes removed from the cluster (stopped; indexes are not reused). */
    private final java.util.Set<Integer> removed = new java.util.TreeSet<>();
    private int masters;
    private int replicasPerMaster;
    private RedisBinary binary;
    private Path dir;
    private String[] extraArgs;

    private RedisClusterServers(List<RedisServer> nodes) {
        this.nodes = nodes;
    }

    /** Starts {@code masters} nodes under {@code dir}, assigns the slots and waits until every node reports cluster_state:ok. */
    public static RedisClusterServers start(RedisBinary binary, Path dir, int masters, String... extraArgs) {
        return start(binary, dir, masters, 0, extraArgs);
    }

    /**
     * The same with {@code replicasPerMaster} replicas of each master (CLUSTER REPLICATE), in sync when this
     * returns. Nodes 0..masters-1 are the masters; {@link #replica(int, int)} names the others.
     */
    public static RedisClusterServers start(RedisBinary binary, Path dir, int masters, int replicasPerMaster, String... extraArgs) {
        List<RedisServer> nodes = new ArrayList<>();
        RedisClusterServers cluster = new RedisClusterServers(nodes);
        cluster.masters = masters;
        cluster.replicasPerMaster = replicasPerMaster;
        cluster.binary = binary;
        cluster.dir = dir;
        cluster.extraArgs = extraArgs;
        try {
            for (int i = 0; i < masters * (1 + replicasPerMaster); i++) {
                nodes.add(cluster.startNode(i));
            }
            for (int i = 0; i < masters; i++) {
                int first = i * SLOTS / masters;
                int last = (i + 1) * SLOTS / masters - 1;
                int node = i;
                cluster.admin(node, redis -> redis.clusterAddSlots(IntStream.rangeClosed(first, last).toArray()));
            }
            for (int i = 1; i < nodes.size(); i++) {
                int port = nodes.get(i).port();
                cluster.admin(0, redis -> redis.clusterMeet("127.0.0.1", port));
            }
            cluster.awaitStable(Duration.ofSeconds(30));
            for (int m = 0; m < masters; m++) {
                String masterId = cluster.nodeId(m);
                for (int r = 0; r < replicasPerMaster; r++) {
                    cluster.admin(masters + m * replicasPerMaster + r, redis -> redis.clusterReplicate(masterId));
                }
            }
            for (int i = masters; i < nodes.size(); i++) {
                cluster.awaitReplicaInSync(i, Duration.ofSeconds(30));
            }
            cluster.awaitStable(Duration.ofSeconds(30));
            return cluster;
        } catch (RuntimeException e) {
            cluster.close();
            throw e;
        }
    }

    private static int portWithFreeBus() {
        for (int attempt = 0; attempt < 100; attempt++) {
            int port = FreePorts.next();
            if (port + BUS_OFFSET <= 65535 && isFree(port + BUS_OFFSET)) {
                return port;
            }
        }
        throw new IllegalStateException("no free loopback port whose cluster bus port (+" + BUS_OFFSET + ") is free too");
    }

    private static boolean isFree(int port) {
        try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    public List<RedisServer> nodes() {
        return List.copyOf(nodes);
    }

    public RedisServer node(int index) {
        return nodes.get(index);
    }

    /** Waits until every node reports cluster_state:ok and knows every other node. */
    public void awaitStable(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        String last = "";
        while (System.nanoTime() < deadline) {
            boolean stable = true;
            for (int i = 0; i < nodes.size() && stable; i++) {
                if (removed.contains(i)) {
                    continue;
                }
                String info = admin(i, RedisCommands::clusterInfo);
                last = "node " + i + ": " + info.lines().filter(l -> l.startsWith("cluster_state") || l.startsWith("cluster_known_nodes")).toList();
                stable = info.contains("cluster_state:ok") && info.contains("cluster_known_nodes:" + (nodes.size() - removed.size()));
            }
            if (stable) {
                return;
            }
            RedisServer.sleep(100);
        }
        throw new IllegalStateException("the cluster did not become stable within " + timeout + " (" + last + ")");
    }

    private RedisServer startNode(int index) {
        List<String> args = new ArrayList<>(List.of("--cluster-enabled", "yes",
                "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000"));
        args.addAll(List.of(extraArgs));
        return RedisServer.start(binary, portWithFreeBus(), dir.resolve("node-" + index), args.toArray(String[]::new));
    }

    /** Starts one more node and joins it to the cluster as a master without slots; returns its index. */
    public int addMaster() {
        int index = nodes.size();
        nodes.add(startNode(index));
        int port = nodes.get(index).port();
        admin(0, redis -> redis.clusterMeet("127.0.0.1", port));
        awaitStable(Duration.ofSeconds(30));
        return index;
    }

    /** The node index of replica {@code r} of master {@code master} as started (a failover swaps the roles, not the indexes). */
    public int replica(int master, int r) {
        if (r < 0 || r >= replicasPerMaster || master < 0 || master >= masters) {
            throw new IllegalArgumentException("no replica " + r + " of master " + master);
        }
        return masters + master * replicasPerMaster + r;
    }

    /** Waits until node {@code index} is a replica whose link to its master is up and has the master's offset. */
    public void awaitReplicaInSync(int index, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        String last = "";
        while (System.nanoTime() < deadline) {
            last = admin(index, redis -> redis.info("replication"));
            if (last.contains("role:slave") && last.contains("master_link_status:up") && !last.contains("master_sync_in_progress:1")) {
                return;
            }
            RedisServer.sleep(100);
        }
        throw new IllegalStateException("node " + index + " did not become an in-sync replica within " + timeout + ": " + last);
    }

    /**
     * {@code CLUSTER FAILOVER} on replica {@code index} (graceful: its master stops writes until the replica
     * has everything, then they swap roles); returns when the replica is a master and the cluster is ok.
     */
    public void failover(int index, Duration timeout) {
        admin(index, redis -> redis.clusterFailover(false));
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (admin(index, redis -> redis.info("replication")).contains("role:master")) {
                awaitStable(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
                return;
            }
            RedisServer.sleep(100);
        }
        throw new IllegalStateException("replica " + index + " was not promoted within " + timeout);
    }

    public String nodeId(int index) {
        return admin(index, RedisCommands::clusterMyId);
    }

    /** The index of the node that serves {@code slot} now, as that node's own view says. */
    public int ownerOf(int slot) {
        for (int i = 0; i < nodes.size(); i++) {
            if (removed.contains(i)) {
                continue;
            }
            String myId = nodeId(i);
            boolean owns = admin(i, redis -> redis.clusterSlots()).stream().anyMatch(range -> {
                List<?> r = (List<?>) range;
                List<?> master = (List<?>) r.get(2);
                return ((Number) r.get(0)).intValue() <= slot && slot <= ((Number) r.get(1)).intValue() && myId.equals(master.get(2));
            });
            if (owns) {
                return i;
            }
        }
        throw new IllegalStateException("no node serves slot " + slot);
    }

    /** First step of a slot move: {@code to} imports, {@code from} migrates; keys still live on {@code from}. */
    public void beginSlotMove(int slot, int from, int to) {
        String fromId = nodeId(from);
        String toId = nodeId(to);
        admin(to, redis -> redis.clusterSetSlotImporting(slot, fromId));
        admin(from, redis -> redis.clusterSetSlotMigrating(slot, toId));
    }

    /** Moves these keys of a migrating slot (MIGRATE); clients get ASK for them from now on. */
    public void migrateKeys(int from, int to, List<String> keys) {
        if (keys.isEmpty()) {
            return;
        }
        int port = nodes.get(to).port();
        admin(from, redis -> redis.migrate("127.0.0.1", port, 0, 5000, MigrateArgs.Builder.keys(keys)));
    }

    /** Last step: every node learns that {@code to} owns the slot; clients get MOVED from now on. */
    public void finishSlotMove(int slot, int to) {
        String toId = nodeId(to);
        for (int i = 0; i < nodes.size(); i++) {
            if (removed.contains(i)) {
                continue;
            }
            try {
                admin(i, redis -> redis.clusterSetSlotNode(slot, toId));
            } catch (io.lettuce.core.RedisCommandExecutionException e) {
                // a master that just gave away its last slot becomes a replica of the taker (Redis 7): it learns by gossip
                if (!String.valueOf(e.getMessage()).contains("only with masters")) {
                    throw e;
                }
            }
        }
    }

    /** A whole slot move with its keys, as {@code redis-cli --cluster reshard} does it. */
    public void moveSlot(int slot, int from, int to) {
        beginSlotMove(slot, from, to);
        List<String> keys;
        while (!(keys = admin(from, redis -> redis.clusterGetKeysInSlot(slot, 1000))).isEmpty()) {
            migrateKeys(from, to, keys);
        }
        finishSlotMove(slot, to);
    }

    /**
     * Removes node {@code index}, which serves no slots, as {@code redis-cli --cluster del-node} does: every
     * other node forgets it (CLUSTER FORGET), then it is stopped; returns when the others agree again.
     */
    public void removeNode(int index) {
        String id = nodeId(index);
        removed.add(index);
        for (int i = 0; i < nodes.size(); i++) {
            if (!removed.contains(i)) {
                admin(i, redis -> redis.clusterForget(id));
            }
        }
        nodes.get(index).stop();
        awaitStable(Duration.ofSeconds(30));
    }

    /** Runs {@code call} on node {@code index} over a short-lived connection. */
    public <T> T admin(int index, java.util.function.Function<RedisCommands<String, String>, T> call) {
        RedisClient client = RedisClient.create(RedisURI.builder().withHost("127.0.0.1").withPort(nodes.get(index).port())
                .withTimeout(Duration.ofSeconds(10)).build());
        try (StatefulRedisConnection<String, String> connection = client.connect()) {
            return call.apply(connection.sync());
        } finally {
            client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        }
    }

    @Override
    public void close() {
        for (RedisServer node : nodes) {
            node.stop();
        }
    }
}
