package io.ferry.apply.redis;

import io.ferry.resp.RedisConnection;
import io.ferry.resp.RespBuffer;
import io.ferry.resp.RespMessage;
import io.ferry.resp.cluster.NodeAddress;
import io.ferry.resp.cluster.RedisClusterClient;
import io.ferry.topology.RedisEndpoint;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Function;
import javax.net.ssl.SSLSocketFactory;

/**
 * The apply agent's one connection to its own Redis. Encodes raw argv itself and writes a whole round
 * of pipelined MULTI/EXEC transactions as one pre-encoded buffer: a client library's per-command
 * objects, futures and hand-offs between threads cost more than Redis spends running the commands.
 *
 * <p>There is no automatic reconnect on purpose: replaying commands written before a disconnect could
 * run the tail of a MULTI block outside its transaction. On any failure this client drops the
 * connection and the caller resumes from the checkpoint stored in Redis.
 *
 * <p>When the endpoint is a Redis Cluster, it talks to every master through the cluster routing instead:
 * each transaction must be single-slot and goes whole to its slot's owner ({@link ClusterTransactions});
 * a single command goes to the owner of its first argument's slot.
 */
public final class RedisTargetClient implements AutoCloseable {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(RedisTargetClient.class);

    private final RedisEndpoint endpoint;
    private final String clientName;
    private boolean fenceUnsupported;
    private final Duration timeout;
    private final SSLSocketFactory tls;
    private static final String MULTI = "MULTI";
    private static final String EXEC = "EXEC";
    private final RespBuffer buffer = new RespBuffer();
    private RedisConnection connection;
    private RedisClusterClient cluster;
    private ClusterTransactions clusterTransactions;
    /** Commands with no key (or needing one node's view) that a cluster target cannot route. */
    private static final Set<String> UNROUTABLE = Set.of("SELECT", "SCAN", "INFO", "MULTI", "EXEC", "KEYS", "DBSIZE",
            "FLUSHALL", "FLUSHDB", "CLIENT");
    /** Replies written for but not read yet: at most one {@link Pending} round may be outstanding. */
    private Pending unread;
    /** A standalone target's connection holds a WATCH for the next transaction. */
    private boolean watching;

    /** @param clientName CLIENT SETNAME of the connection; every replica of one applier uses the same name */
    public RedisTargetClient(RedisEndpoint endpoint, Duration timeout, String clientName) {
        this(endpoint, timeout, clientName, null);
    }

    /** @param tls TLS sockets for a rediss endpoint; null for the JVM's default trust store */
    RedisTargetClient(RedisEndpoint endpoint, Duration timeout, String clientName, SSLSocketFactory tls) {
        this.endpoint = endpoint;
        this.clientName = clientName;
        this.timeout = timeout;
        this.tls = tls;
    }

    /** Opens the connection if it is not open; throws {@link RedisUnavailableException} when it cannot. */
    public synchronized void connect() {
        if (isConnected()) {
            return;
        }
        disconnect();
        if (endpoint.cluster()) {
            try {
                cluster = RedisClusterClient.connect(List.of(endpoint), timeoutMillis(), tls, clientName);
                clusterTransactions = new ClusterTransactions(cluster);
            } catch (IOException | RuntimeException e) {
                throw new RedisUnavailableException("cannot read the slot map of cluster " + endpoint + ": " + rootMessage(e), e);
            }
            return;
        }
        try {
            connection = RedisConnection.open(endpoint, timeoutMillis(), tls, null);
        } catch (IOException | RuntimeException e) {
            throw new RedisUnavailableException("cannot connect to " + endpoint + ": " + rootMessage(e), e);
        }
        Object named = call(RawCommand.of("CLIENT", "SETNAME", clientName));
        if (Reply.isError(named)) {
            LOG.warn("CLIENT SETNAME refused by {} ({}); stale replicas cannot be fenced", endpoint, named);
        }
    }

    private int timeoutMillis() {
        return (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
    }

    /** True when this is a Redis Cluster target: transactions must be single-slot. */
    public boolean isCluster() {
        return endpoint.cluster();
    }

    /**
     * Disconnects every other connection carrying this applier's client name. Called when Kafka hands
     * this replica partitions: a replica that lost them without knowing (a long GC pause, cut off from
     * Kafka) could otherwise still write a batch it had built; cut off, it must reconnect and re-read
     * the checkpoints first. Healthy replicas simply reconnect. Returns how many were disconnected.
     */
    public int fenceOthers() {
        if (fenceUnsupported) {
            return 0;
        }
        if (!endpoint.cluster()) {
            return fenceOthers(this::call);
        }
        int killed = 0;
        for (NodeAddress master : requireCluster().slots().masters()) {
            killed += fenceOthers(command -> callOn(master, command));
        }
        return killed;
    }

    private Object callOn(NodeAddress node, RawCommand command) {
        try {
            byte[][] argv = argv(command);
            return Reply.of(requireCluster().connection(node).call(argv));
        } catch (IOException | RuntimeException e) {
            disconnect();
            throw new RedisUnavailableException("lost cluster node " + node + ": " + rootMessage(e), e);
        }
    }

    private static byte[][] argv(RawCommand command) {
        byte[][] argv = new byte[command.args().size() + 1][];
        argv[0] = command.name().getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < command.args().size(); i++) {
            argv[i + 1] = command.args().get(i);
        }
        return argv;
    }

    private int fenceOthers(Function<RawCommand, Object> call) {
        Object me = call.apply(RawCommand.of("CLIENT", "ID"));
        Object list = call.apply(RawCommand.of("CLIENT", "LIST", "TYPE", "normal"));
        refuseWithoutPermission("CLIENT ID", me);
        refuseWithoutPermission("CLIENT LIST", list);
        if (!(me instanceof Long myId) || !(list instanceof byte[] text)) {
            fenceUnsupported = true;
            LOG.warn("CLIENT ID/LIST refused by {} ({} / {}); stale replicas cannot be fenced", endpoint,
                    Reply.describe(me), Reply.describe(list));
            return 0;
        }
        int killed = 0;
        for (String line : new String(text, StandardCharsets.UTF_8).split("\n")) {
            String id = field(line, "id");
            if (clientName.equals(field(line, "name")) && id != null && !id.equals(Long.toString(myId))) {
                Object reply = call.apply(RawCommand.of("CLIENT", "KILL", "ID", id));
                refuseWithoutPermission("CLIENT KILL", reply);
                if (Reply.isInteger(reply, 1)) {
                    killed++;
                }
            }
        }
        return killed;
    }

    /**
     * A NOPERM here is the ACL user's, not the server's limit (unlike a renamed command): fencing would
     * silently stop working, so the agent stops and says what to grant.
     */
    private void refuseWithoutPermission(String command, Object reply) {
        if (reply instanceof RedisError error && "NOPERM".equals(error.code())) {
            throw new IllegalStateException("Redis user of " + endpoint + " may not run " + command + " (" + error.message()
                    + "); without CLIENT ID, LIST and KILL stale apply replicas cannot be fenced: grant +client|id +client|list"
                    + " +client|kill (the README's 'Redis users' has the ACL SETUSER line)");
        }
    }

    private static String field(String clientLine, String name) {
        for (String part : clientLine.trim().split(" ")) {
            if (part.startsWith(name + "=")) {
                return part.substring(name.length() + 1);
            }
        }
        return null;
    }

    public synchronized boolean isConnected() {
        if (endpoint.cluster()) {
            return cluster != null;
        }
        return connection != null && !connection.isClosed();
    }

    /** Closes the connection; whatever was in flight is abandoned (the caller re-reads its checkpoints). */
    public synchronized void disconnect() {
        if (connection != null) {
            connection.close();
            connection = null;
        }
        if (cluster != null) {
            clusterTransactions.closeLanes();
            cluster.close();
            cluster = null;
            clusterTransactions = null;
        }
        unread = null;
        watching = false;
    }

    /** Runs one command and returns its reply (errors as {@link RedisError} values). */
    public Object call(RawCommand command) {
        if (endpoint.cluster()) {
            return callOnCluster(command);
        }
        buffer.clear();
        encode(command);
        return readReplies(send(List.of(), 1)).get(0);
    }

    private Object callOnCluster(RawCommand command) {
        if (UNROUTABLE.contains(command.name().toUpperCase(java.util.Locale.ROOT)) || command.args().isEmpty()) {
            throw new IllegalStateException(command.name() + " cannot be routed on Redis Cluster target " + endpoint
                    + " (it has no key): this part of Ferry does not support cluster targets yet");
        }
        RedisClusterClient current = requireCluster();
        try {
            RespMessage reply = current.call(command.firstArg(), argv(command));
            return Reply.of(reply);
        } catch (IOException | RuntimeException e) {
            disconnect();
            throw new RedisUnavailableException("lost cluster " + endpoint + ": " + rootMessage(e), e);
        }
    }

    private synchronized RedisClusterClient requireCluster() {
        if (cluster == null) {
            throw new RedisUnavailableException("not connected to " + endpoint, null);
        }
        return cluster;
    }

    /** The checkpoint stored under {@code key} (last applied Kafka offset), or null when there is none. */
    public Long readCheckpoint(byte[] key) {
        return checkpointValue(key, call(new RawCommand("GET", List.of(key))));
    }

    private static Long checkpointValue(byte[] key, Object reply) {
        if (Reply.isNil(reply)) {
            return null;
        }
        if (reply instanceof byte[] bytes) {
            String text = new String(bytes, StandardCharsets.US_ASCII);
            try {
                return Long.parseLong(text);
            } catch (NumberFormatException e) {
                throw new IllegalStateException("checkpoint " + new String(key, StandardCharsets.UTF_8)
                        + " holds '" + text + "', not a Kafka offset; delete it only if you mean to re-apply the peer's whole topic");
            }
        }
        throw new RedisUnavailableException("reading checkpoint " + new String(key, StandardCharsets.UTF_8)
                + " answered " + Reply.describe(reply), null);
    }

    /**
     * The checkpoints stored under {@code keys} (null where there is none), read pipelined: on a cluster
     * target, one write per master.
     */
    public List<Long> readCheckpoints(List<byte[]> keys) {
        if (!endpoint.cluster()) {
            List<Long> values = new ArrayList<>(keys.size());
            for (int from = 0; from < keys.size(); from += 1024) { // MGET in chunks: one round trip each
                List<byte[]> chunk = keys.subList(from, Math.min(keys.size(), from + 1024));
                Object reply = call(new RawCommand("MGET", chunk));
                if (!(reply instanceof List<?> items) || items.size() != chunk.size()) {
                    throw new RedisUnavailableException("reading checkpoints answered " + Reply.describe(reply), null);
                }
                for (int i = 0; i < chunk.size(); i++) {
                    values.add(checkpointValue(chunk.get(i), items.get(i)));
                }
            }
            return values;
        }
        List<RedisClusterClient.Routed> gets = new ArrayList<>(keys.size());
        for (byte[] key : keys) {
            gets.add(new RedisClusterClient.Routed(key, new byte[][] {GET, key}));
        }
        List<RespMessage> replies;
        try {
            replies = requireCluster().execute(gets);
        } catch (IOException | RuntimeException e) {
            disconnect();
            throw new RedisUnavailableException("lost cluster " + endpoint + " reading checkpoints: " + rootMessage(e), e);
        }
        List<Long> values = new ArrayList<>(keys.size());
        for (int i = 0; i < keys.size(); i++) {
            values.add(checkpointValue(keys.get(i), Reply.of(replies.get(i))));
        }
        return values;
    }

    private static final byte[] GET = "GET".getBytes(StandardCharsets.US_ASCII);

    private void encode(RawCommand command) {
        buffer.command(command.name(), command.args());
    }

    /** Transactions written to Redis whose replies have not been read yet. */
    public static final class Pending {
        private final List<List<RawCommand>> transactions;
        private final int replyCount;
        private final RedisConnection connection;
        private final ClusterTransactions.Round round;
        private List<Object> replies;

        private Pending(List<List<RawCommand>> transactions, int replyCount, RedisConnection connection) {
            this.transactions = transactions;
            this.replyCount = replyCount;
            this.connection = connection;
            this.round = null;
        }

        private Pending(ClusterTransactions.Round round) {
            this.transactions = List.of();
            this.replyCount = 0;
            this.connection = null;
            this.round = round;
        }
    }

    /**
     * Sends every transaction as {@code MULTI; body…; EXEC} and waits for all replies.
     * Transactions are independent: the caller never pipelines two for the same source partition.
     */
    public List<TransactionReply> execute(List<List<RawCommand>> transactions) {
        return await(submit(transactions));
    }

    /** Writes the transactions in one write without waiting; {@link #await(Pending)} reads the replies. */
    public Pending submit(List<List<RawCommand>> transactions) {
        if (endpoint.cluster()) {
            return submitToCluster(transactions);
        }
        buffer.clear();
        int replyCount = 0;
        for (List<RawCommand> body : transactions) {
            buffer.command(MULTI, List.of());
            for (RawCommand command : body) {
                encode(command);
            }
            buffer.command(EXEC, List.of());
            replyCount += body.size() + 2;
        }
        return send(transactions, replyCount);
    }

    public List<TransactionReply> await(Pending pending) {
        if (pending.round != null) {
            return awaitCluster(pending);
        }
        List<Object> replies = readReplies(pending);
        List<TransactionReply> result = new ArrayList<>(pending.transactions.size());
        int at = 0;
        for (List<RawCommand> body : pending.transactions) {
            Object multi = replies.get(at++);
            if (Reply.isError(multi)) {
                throw new RedisUnavailableException("MULTI refused: " + multi, null);
            }
            List<Object> queued = replies.subList(at, at + body.size());
            at += body.size();
            result.add(new TransactionReply(queued, replies.get(at++)));
        }
        return result;
    }

    private Pending submitToCluster(List<List<RawCommand>> transactions) {
        ClusterTransactions writer;
        synchronized (this) {
            writer = clusterTransactions;
        }
        if (writer == null) {
            throw new RedisUnavailableException("not connected to " + endpoint, null);
        }
        if (unread != null) {
            disconnect();
            throw new RedisUnavailableException("replies of an earlier round on " + endpoint + " were never read", null);
        }
        try {
            unread = new Pending(writer.submit(transactions));
            return unread;
        } catch (IOException | RuntimeException e) {
            disconnect();
            if (e instanceof IllegalArgumentException bug) {
                throw bug;
            }
            throw new RedisUnavailableException("cannot send to cluster " + endpoint + ": " + rootMessage(e), e);
        }
    }

    private List<TransactionReply> awaitCluster(Pending pending) {
        ClusterTransactions writer;
        synchronized (this) {
            writer = clusterTransactions;
        }
        if (writer == null || unread != pending) {
            throw new RedisUnavailableException("lost cluster " + endpoint + " before its replies were read", null);
        }
        try {
            List<TransactionReply> replies = writer.await(pending.round);
            unread = null;
            return replies;
        } catch (IllegalStateException refused) {
            disconnect(); // retrying cannot help: the agent stops with what to grant
            throw refused;
        } catch (IOException | RuntimeException e) {
            throw dropped(e);
        }
    }

    /** Writes what {@link #buffer} holds on the current connection; {@code replyCount} replies are due. */
    private Pending send(List<List<RawCommand>> transactions, int replyCount) {
        RedisConnection current;
        synchronized (this) {
            current = connection;
        }
        if (current == null || current.isClosed()) {
            disconnect();
            throw new RedisUnavailableException("not connected to " + endpoint, null);
        }
        if (unread != null) {
            // a round was abandoned unsettled (an error between send and await): its outcome is
            // unknown here, so start over from the checkpoints as after any lost connection
            disconnect();
            throw new RedisUnavailableException("replies of an earlier round on " + endpoint + " were never read", null);
        }
        try {
            current.write(buffer);
            unread = new Pending(transactions, replyCount, current);
            return unread;
        } catch (IOException | RuntimeException e) {
            disconnect();
            throw new RedisUnavailableException("cannot send to " + endpoint + ": " + rootMessage(e), e);
        }
    }

    private List<Object> readReplies(Pending pending) {
        if (pending.replies != null) {
            return pending.replies;
        }
        synchronized (this) {
            if (pending.connection != connection) {
                throw new RedisUnavailableException("lost " + endpoint + " before its replies were read", null);
            }
        }
        try {
            List<Object> replies = new ArrayList<>(pending.replyCount);
            for (int i = 0; i < pending.replyCount; i++) {
                replies.add(Reply.of(pending.connection.readReply()));
            }
            pending.replies = replies;
            unread = null;
            return replies;
        } catch (IOException | RuntimeException e) {
            throw dropped(e);
        }
    }

    /** Drops the connection after a failure while reading replies: the caller resumes from the checkpoints. */
    private RedisUnavailableException dropped(Exception e) {
        disconnect();
        return e instanceof SocketTimeoutException
                ? new RedisUnavailableException(endpoint + " did not answer within " + timeout, e)
                : new RedisUnavailableException("lost " + endpoint + ": " + rootMessage(e), e);
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getClass().getSimpleName() + (t.getMessage() != null ? ": " + t.getMessage() : "");
    }

    /** The replies of every master to {@code command} (the one Redis of a standalone target). */
    public List<Object> callOnEveryMaster(RawCommand command) {
        if (!endpoint.cluster()) {
            return List.of(call(command));
        }
        List<Object> replies = new ArrayList<>();
        for (NodeAddress master : requireCluster().slots().masters()) {
            replies.add(callOn(master, command));
        }
        return replies;
    }

    /**
     * Every key of db {@code db}, page by page: SCAN of each master in turn ({@code reversed}: in the opposite order).
     * Masters that appear meanwhile (slots moved to a new one) are scanned too. A key whose slot moves during the
     * scan to a master scanned earlier can be missed: a caller that needs every key scans again in the other order.
     */
    public void scanEveryMaster(int db, boolean reversed, Consumer<List<byte[]>> pages) {
        if (!endpoint.cluster()) {
            scan(command -> { // pages are handed over in db 0, where Ferry's own keys are
                selectDb(db);
                try {
                    return call(command);
                } finally {
                    selectDb(0);
                }
            }, pages);
            return;
        }
        if (db != 0) {
            throw new IllegalArgumentException("a Redis Cluster has only db 0");
        }
        Set<NodeAddress> scanned = new LinkedHashSet<>();
        while (true) {
            List<NodeAddress> due = new ArrayList<>(requireCluster().slots().masters());
            due.removeAll(scanned);
            if (due.isEmpty()) {
                return;
            }
            due.sort(Comparator.comparing(NodeAddress::toString));
            if (reversed) {
                Collections.reverse(due);
            }
            for (NodeAddress master : due) {
                scan(command -> callOn(master, command), pages);
                scanned.add(master);
            }
            refreshSlots();
        }
    }

    private static void scan(Function<RawCommand, Object> call, Consumer<List<byte[]>> pages) {
        byte[] cursor = ZERO;
        do {
            Object reply = call.apply(new RawCommand("SCAN", List.of(cursor, COUNT, SCAN_COUNT)));
            if (!(reply instanceof List<?> page) || page.size() != 2 || !(page.get(0) instanceof byte[] next)
                    || !(page.get(1) instanceof List<?> found)) {
                throw new IllegalStateException("SCAN answered " + Reply.describe(reply));
            }
            cursor = next;
            List<byte[]> keys = new ArrayList<>(found.size());
            for (Object key : found) {
                if (key instanceof byte[] bytes) {
                    keys.add(bytes);
                }
            }
            if (!keys.isEmpty()) {
                pages.accept(keys);
            }
        } while (!java.util.Arrays.equals(cursor, ZERO));
    }

    private static final byte[] ZERO = "0".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] COUNT = "COUNT".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] SCAN_COUNT = "1000".getBytes(StandardCharsets.US_ASCII);

    private void selectDb(int db) {
        Object reply = call(new RawCommand("SELECT", List.of(Integer.toString(db).getBytes(StandardCharsets.US_ASCII))));
        if (Reply.isError(reply)) {
            throw new RedisUnavailableException("SELECT " + db + " answered " + reply, null);
        }
    }

    private void refreshSlots() {
        try {
            requireCluster().refresh();
        } catch (IOException | RuntimeException e) {
            disconnect();
            throw new RedisUnavailableException("cannot read the slot map of cluster " + endpoint + ": " + rootMessage(e), e);
        }
    }

    /** Each command run on its first key's master (pipelined per master on a cluster), replies in order. */
    public List<Object> callEach(List<RawCommand> commands) {
        if (!endpoint.cluster()) {
            return commands.stream().map(this::call).toList();
        }
        List<RedisClusterClient.Routed> routed = new ArrayList<>(commands.size());
        for (RawCommand command : commands) {
            routed.add(new RedisClusterClient.Routed(command.firstArg(), argv(command)));
        }
        try {
            return requireCluster().execute(routed).stream().map(Reply::of).toList();
        } catch (IOException | RuntimeException e) {
            disconnect();
            throw new RedisUnavailableException("lost cluster " + endpoint + ": " + rootMessage(e), e);
        }
    }

    /**
     * A WATCH taken for one transaction of {@link #executeWatched}, or why none was taken now: the keys' slot is
     * moving (take it again shortly), or every connection that can hold one is taken (take it after the others ran).
     */
    public static final class Watch {
        private static final Watch STANDALONE = new Watch(null, false);
        private static final Watch BUSY = new Watch(null, false);
        private static final Watch MOVING = new Watch(null, true);
        private final ClusterTransactions.Lane lane;
        private final boolean moving;

        private Watch(ClusterTransactions.Lane lane, boolean moving) {
            this.lane = lane;
            this.moving = moving;
        }

        public boolean held() {
            return this == STANDALONE || lane != null;
        }

        /** Not held because the keys' slot has moved or is moving. */
        public boolean slotMoving() {
            return moving;
        }
    }

    /**
     * WATCHes {@code keys} (by db) for one transaction: on a standalone target on this client's connection (one
     * transaction at a time), on a cluster target on a connection of its own to the master of the keys' one slot,
     * so that several watched transactions can run at once. A refused WATCH (NOPERM) stops the agent with what to grant.
     */
    public Watch watch(Map<Integer, List<byte[]>> keysByDb) {
        if (endpoint.cluster()) {
            if (keysByDb.keySet().stream().anyMatch(db -> db != 0)) {
                throw new IllegalArgumentException("a Redis Cluster has only db 0");
            }
            try {
                ClusterTransactions.Lane lane = requireClusterTransactions().watch(keysByDb.getOrDefault(0, List.of()));
                return lane == ClusterTransactions.Lane.MOVING ? Watch.MOVING : lane == ClusterTransactions.Lane.BUSY ? Watch.BUSY
                        : new Watch(lane, false);
            } catch (IOException | RuntimeException e) {
                throw clusterFailure(e);
            }
        }
        if (watching) {
            release(List.of()); // left by a round that never ran
        }
        try {
            keysByDb.forEach((db, keys) -> {
                selectDb(db);
                Object reply = call(new RawCommand("WATCH", keys));
                if (Reply.isError(reply)) {
                    throw new IllegalStateException("Redis " + endpoint + " refuses WATCH (" + reply + "); grant the apply user"
                            + " +watch (the README's 'Redis users')");
                }
            });
        } finally {
            selectDb(0);
        }
        watching = true;
        return Watch.STANDALONE;
    }

    /**
     * Runs the transactions, each one whose {@code watches} entry is held (null: none) under its WATCH: one a watched key's change
     * aborted answers nil, and so does, on a cluster, one its slot's move refused (it ran nowhere and is not sent on).
     * The others are sent as by {@link #execute}. Every watch is used up.
     */
    public List<TransactionReply> executeWatched(List<List<RawCommand>> transactions, List<Watch> watches) {
        if (!endpoint.cluster()) {
            if (watching && transactions.size() != 1) {
                release(watches);
                throw new IllegalArgumentException("a standalone target runs one watched transaction at a time");
            }
            watching = false;
            return execute(transactions);
        }
        List<List<RawCommand>> watched = new ArrayList<>();
        List<ClusterTransactions.Lane> lanes = new ArrayList<>();
        List<List<RawCommand>> plain = new ArrayList<>();
        for (int i = 0; i < transactions.size(); i++) {
            if (isLane(watches.get(i))) {
                watched.add(transactions.get(i));
                lanes.add(watches.get(i).lane);
            } else {
                plain.add(transactions.get(i));
            }
        }
        List<TransactionReply> watchedReplies;
        try {
            watchedReplies = requireClusterTransactions().executeWatched(watched, lanes);
        } catch (IOException | RuntimeException e) {
            throw clusterFailure(e);
        }
        List<TransactionReply> plainReplies = plain.isEmpty() ? List.of() : execute(plain);
        List<TransactionReply> replies = new ArrayList<>(transactions.size());
        int w = 0;
        int p = 0;
        for (Watch watch : watches) {
            replies.add(isLane(watch) ? watchedReplies.get(w++) : plainReplies.get(p++));
        }
        return replies;
    }

    private static boolean isLane(Watch watch) {
        return watch != null && watch.lane != null;
    }

    /**
     * Drops the WATCHes of transactions that will not run (those that ran already are left alone). Never throws: a
     * WATCH that cannot be dropped goes with its connection (this client disconnects, and the caller's next call says so).
     */
    public void release(List<Watch> watches) {
        try {
            if (!endpoint.cluster()) {
                if (watching && isConnected()) {
                    watching = false;
                    call(new RawCommand("UNWATCH", List.of()));
                }
                return;
            }
            ClusterTransactions writer;
            synchronized (this) {
                writer = clusterTransactions;
            }
            List<ClusterTransactions.Lane> lanes = watches.stream().filter(RedisTargetClient::isLane).map(w -> w.lane).toList();
            if (writer != null && !lanes.isEmpty()) {
                writer.release(lanes);
            }
        } catch (IOException | RuntimeException e) {
            LOG.debug("dropping WATCHes on {} failed ({}); disconnecting", endpoint, e.toString());
            disconnect();
        }
    }

    private synchronized ClusterTransactions requireClusterTransactions() {
        if (clusterTransactions == null) {
            throw new RedisUnavailableException("not connected to " + endpoint, null);
        }
        return clusterTransactions;
    }

    private RuntimeException clusterFailure(Exception e) {
        if (e instanceof IllegalArgumentException bug) {
            return bug;
        }
        if (e instanceof IllegalStateException refused) {
            disconnect(); // retrying cannot help: the agent stops with what to grant
            return refused;
        }
        if (e instanceof RedisUnavailableException unavailable) {
            return unavailable;
        }
        disconnect();
        return new RedisUnavailableException("lost cluster " + endpoint + ": " + rootMessage(e), e);
    }

    @Override
    public void close() {
        disconnect();
    }
}
