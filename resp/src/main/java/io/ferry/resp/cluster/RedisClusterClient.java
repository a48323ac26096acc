package io.ferry.resp.cluster;

import io.ferry.resp.RedisConnection;
import io.ferry.resp.RespBuffer;
import io.ferry.resp.RespMessage;
import io.ferry.topology.RedisEndpoint;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.net.ssl.SSLSocketFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A client of one Redis Cluster: discovers the masters from seed nodes, routes each command by its
 * key's slot, and writes a batch pipelined with one write per node. It follows {@code MOVED} (the slot
 * has a new owner: the map is refreshed) and {@code ASK} (a slot being migrated: {@code ASKING} and the
 * command go to the importing node once). A redirected command was not run, so sending it again is
 * safe; a lost connection is not retried here, because a write whose reply was lost may have run: the
 * caller decides (apply resumes from its checkpoint).
 *
 * <p>Not thread-safe: one client per writer thread, like {@link RedisConnection}.
 */
public final class RedisClusterClient implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(RedisClusterClient.class);
    /** Redirects followed for one command before giving up: a migration settles within a few. */
    private static final int MAX_REDIRECTS = 5;
    private static final byte[] ASKING = "ASKING".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    /** One command and the key whose slot decides which master runs it. */
    public record Routed(byte[] key, byte[][] argv) {
        public Routed {
            if (key == null || argv.length == 0) {
                throw new IllegalArgumentException("a routed command needs a key and at least its name");
            }
        }

        public int slot() {
            return HashSlot.of(key);
        }
    }

    private final List<RedisEndpoint> seeds;
    private final int timeoutMillis;
    private final SSLSocketFactory tls;
    private final String clientName;
    private final Map<NodeAddress, RedisConnection> connections = new HashMap<>();
    private final RespBuffer encoded = new RespBuffer();
    private boolean shardsUnsupported;
    private SlotMap slots;

    private RedisClusterClient(List<RedisEndpoint> seeds, int timeoutMillis, SSLSocketFactory tls, String clientName) {
        if (seeds.isEmpty()) {
            throw new IllegalArgumentException("a cluster needs at least one seed node");
        }
        this.seeds = List.copyOf(seeds);
        this.timeoutMillis = timeoutMillis;
        this.tls = tls;
        this.clientName = clientName;
    }

    /** Reads the slot map from the first seed that answers. */
    public static RedisClusterClient connect(List<RedisEndpoint> seeds, int timeoutMillis) throws IOException {
        return connect(seeds, timeoutMillis, null, null);
    }

    /**
     * @param tls        TLS sockets when the seeds use TLS; null for the JVM's default trust store
     * @param clientName CLIENT SETNAME of every node connection; null to leave them unnamed
     */
    public static RedisClusterClient connect(List<RedisEndpoint> seeds, int timeoutMillis, SSLSocketFactory tls, String clientName)
            throws IOException {
        RedisClusterClient client = new RedisClusterClient(seeds, timeoutMillis, tls, clientName);
        try {
            client.refresh();
            return client;
        } catch (IOException | RuntimeException e) {
            client.close();
            throw e;
        }
    }

    /** The slot map as last read or corrected by a MOVED. */
    public SlotMap slots() {
        return slots;
    }

    /**
     * Reads the slot map again, asking the known masters first, then the seeds. CLUSTER SHARDS where the
     * server has it, CLUSTER SLOTS otherwise.
     */
    public SlotMap refresh() throws IOException {
        Set<NodeAddress> candidates = new LinkedHashSet<>();
        if (slots != null) {
            candidates.addAll(slots.masters());
        }
        for (RedisEndpoint seed : seeds) {
            candidates.add(new NodeAddress(seed.host(), seed.port()));
        }
        IOException last = null;
        for (NodeAddress node : candidates) {
            try {
                slots = readSlotMap(node);
                closeConnectionsOutside(slots.masters());
                return slots;
            } catch (IOException e) {
                last = e;
                drop(node);
                log.debug("cluster node {} did not give the slot map: {}", node, e.getMessage());
            }
        }
        throw new IOException("no cluster node among " + candidates + " gave its slot map", last);
    }

    private SlotMap readSlotMap(NodeAddress node) throws IOException {
        RedisConnection connection = connection(node);
        boolean tlsOn = seeds.get(0).tls();
        if (!shardsUnsupported) {
            RespMessage shards = connection.call("CLUSTER", "SHARDS");
            if (!(shards instanceof RespMessage.Error error)) {
                return checked(SlotMap.fromShards(shards, node.host(), tlsOn), node);
            }
            if (!isUnknownCommand(error.text())) {
                throw new IOException("CLUSTER SHARDS refused by " + node + ": " + error.text());
            }
            shardsUnsupported = true; // before Redis 7.0
        }
        RespMessage ranges = connection.call("CLUSTER", "SLOTS");
        if (ranges instanceof RespMessage.Error error) {
            throw new IOException("CLUSTER SLOTS refused by " + node + ": " + error.text());
        }
        return checked(SlotMap.fromSlots(ranges, node.host()), node);
    }

    private static SlotMap checked(SlotMap map, NodeAddress node) throws IOException {
        if (map.masters().isEmpty()) {
            throw new IOException(node + " serves no slots: not a cluster yet, or cluster-enabled is off");
        }
        return map;
    }

    private static boolean isUnknownCommand(String error) {
        String upper = error.toUpperCase(java.util.Locale.ROOT);
        return upper.contains("UNKNOWN SUBCOMMAND") || upper.contains("UNKNOWN COMMAND");
    }

    /** Runs one command on the master of {@code key}'s slot, following redirects. */
    public RespMessage call(byte[] key, byte[]... argv) throws IOException {
        return execute(List.of(new Routed(key, argv))).get(0);
    }

    /**
     * Runs every command on the master of its key's slot: one pipelined write per master, replies
     * returned in the order of {@code commands}. Commands on one key keep their order: a command
     * redirected by MOVED or ASK is sent again to the node named, in order with the other redirected
     * ones, and Redis redirects every later command on that key too (while a slot migrates, commands on
     * different keys of it may run in a different order, as with any cluster client). Any other error
     * reply is returned as it is.
     */
    public List<RespMessage> execute(List<Routed> commands) throws IOException {
        try {
            return executeRounds(commands);
        } catch (IOException | RuntimeException e) {
            close(); // other nodes may still owe replies to this batch: start clean
            throw e;
        }
    }

    private List<RespMessage> executeRounds(List<Routed> commands) throws IOException {
        RespMessage[] replies = new RespMessage[commands.size()];
        NodeAddress[] askedTo = new NodeAddress[commands.size()];
        List<Integer> due = new ArrayList<>(commands.size());
        for (int i = 0; i < commands.size(); i++) {
            due.add(i);
        }
        for (int round = 0; round <= MAX_REDIRECTS && !due.isEmpty(); round++) {
            Map<NodeAddress, List<Integer>> byNode = groupByNode(commands, due, askedTo);
            for (Map.Entry<NodeAddress, List<Integer>> group : byNode.entrySet()) {
                send(group.getKey(), group.getValue(), commands, askedTo);
            }
            List<Integer> redirected = new ArrayList<>();
            Map<Integer, NodeAddress> movedTo = new LinkedHashMap<>();
            for (Map.Entry<NodeAddress, List<Integer>> group : byNode.entrySet()) {
                NodeAddress node = group.getKey();
                RedisConnection connection = connections.get(node);
                try {
                    for (int i : group.getValue()) {
                        if (askedTo[i] != null) {
                            connection.readReply(); // ASKING's +OK
                        }
                        RespMessage reply = connection.readReply();
                        Redirect redirect = reply instanceof RespMessage.Error error ? Redirect.parse(error.text()) : null;
                        askedTo[i] = null;
                        if (redirect == null) {
                            replies[i] = reply;
                            continue;
                        }
                        NodeAddress target = redirect.target().host().isEmpty()
                                ? new NodeAddress(node.host(), redirect.target().port()) : redirect.target();
                        if (redirect.ask()) {
                            askedTo[i] = target;
                        } else {
                            movedTo.put(redirect.slot(), target);
                        }
                        redirected.add(i);
                    }
                } catch (IOException e) {
                    throw new IOException("lost cluster node " + node + " before its replies were read: " + e.getMessage(), e);
                }
            }
            if (!movedTo.isEmpty()) {
                refreshAfterMove();
                // a node's MOVED is the latest word on its slot: a map read from a node that has not heard yet is corrected
                movedTo.forEach((slot, owner) -> slots = slots.withOwner(slot, owner));
            }
            if (round > 0 && !redirected.isEmpty()) {
                pause(Math.min(200, 10L << round)); // a slot still moving: let the nodes agree before trying again
            }
            redirected.sort(null); // keep the commands' own order when they are sent again
            due = redirected;
        }
        if (!due.isEmpty()) {
            throw new IOException(due.size() + " command(s) still redirected after " + MAX_REDIRECTS
                    + " tries (slot " + commands.get(due.get(0)).slot() + "): the cluster's topology keeps changing");
        }
        return List.of(replies);
    }

    private static void pause(long millis) throws IOException {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while the cluster's topology settles");
        }
    }

    /** A MOVED means the topology changed: read the whole map, since more slots than this one may have moved. */
    private void refreshAfterMove() {
        try {
            refresh();
        } catch (IOException e) {
            // the MOVED targets already corrected the map for the slots at hand
            log.warn("cluster topology changed but the slot map could not be re-read: {}", e.getMessage());
        }
    }

    private Map<NodeAddress, List<Integer>> groupByNode(List<Routed> commands, List<Integer> due, NodeAddress[] askedTo)
            throws IOException {
        Map<NodeAddress, List<Integer>> byNode = new LinkedHashMap<>();
        for (int i : due) {
            NodeAddress node = askedTo[i] != null ? askedTo[i] : slots.owner(commands.get(i).slot());
            if (node == null) {
                refresh();
                node = slots.owner(commands.get(i).slot());
                if (node == null) {
                    throw new IOException("no master serves slot " + commands.get(i).slot() + " (cluster down or being repaired)");
                }
            }
            byNode.computeIfAbsent(node, n -> new ArrayList<>()).add(i);
        }
        return byNode;
    }

    private void send(NodeAddress node, List<Integer> indices, List<Routed> commands, NodeAddress[] askedTo) throws IOException {
        encoded.clear();
        for (int i : indices) {
            if (askedTo[i] != null) {
                encoded.command(ASKING);
            }
            encoded.command(commands.get(i).argv());
        }
        RedisConnection connection = connection(node);
        try {
            connection.write(encoded);
        } catch (IOException e) {
            throw new IOException("cannot write to cluster node " + node + ": " + e.getMessage(), e);
        }
    }

    /** The open connection to {@code node}, opened on first use. */
    public RedisConnection connection(NodeAddress node) throws IOException {
        RedisConnection connection = connections.get(node);
        if (connection == null || connection.isClosed()) {
            connection = RedisConnection.open(node.endpoint(seeds.get(0)), timeoutMillis, tls, clientName);
            connections.put(node, connection);
        }
        return connection;
    }

    /**
     * A new connection to {@code node}, apart from the one {@link #connection} shares: for state that must hold
     * on one connection until its transaction runs (a WATCH), while other transactions go to the same node.
     * The caller closes it.
     */
    public RedisConnection openConnection(NodeAddress node) throws IOException {
        return RedisConnection.open(node.endpoint(seeds.get(0)), timeoutMillis, tls, clientName);
    }

    private void drop(NodeAddress node) {
        RedisConnection connection = connections.remove(node);
        if (connection != null) {
            connection.close();
        }
    }

    private void closeConnectionsOutside(Set<NodeAddress> masters) {
        for (NodeAddress node : List.copyOf(connections.keySet())) {
            if (!masters.contains(node)) {
                drop(node);
            }
        }
    }

    @Override
    public void close() {
        for (NodeAddress node : List.copyOf(connections.keySet())) {
            drop(node);
        }
    }
}
