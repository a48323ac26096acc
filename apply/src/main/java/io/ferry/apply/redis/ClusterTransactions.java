package io.ferry.apply.redis;

import io.ferry.resp.RedisConnection;
import io.ferry.resp.RespBuffer;
import io.ferry.resp.RespMessage;
import io.ferry.resp.cluster.HashSlot;
import io.ferry.resp.cluster.NodeAddress;
import io.ferry.resp.cluster.RedisClusterClient;
import io.ferry.resp.cluster.Redirect;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs single-slot MULTI/EXEC transactions on a Redis Cluster: every transaction goes whole to its slot's
 * master, all of one master's in one pipelined write. A transaction Redis redirects ({@code MOVED},
 * {@code ASK}, or {@code TRYAGAIN} while its slot migrates) was discarded without running (EXECABORT or
 * the EXEC refused), so it is sent again whole: to the new owner, or after {@code ASKING} (which holds
 * for the whole MULTI) to the importing node. Its commands are never re-sent on their own, outside the
 * transaction, as a plain cluster client would.
 */
final class ClusterTransactions {

    /**
     * Rounds of redirects before giving up (then the agent reconnects and resumes from its checkpoints): a
     * MOVED or ASK settles in one or two, a slot's keys half migrated (TRYAGAIN) for up to about 5 s.
     */
    private static final int MAX_ROUNDS = 250;
    private static final long TRYAGAIN_PAUSE_MILLIS = 20;
    private static final byte[] ASKING = "ASKING".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    /**
     * Connections of their own per master for watched transactions: one EXEC ends every WATCH of its connection,
     * so each watched transaction needs one, and this many per master run at once.
     */
    static final int LANES_PER_MASTER = 32;
    private static final byte[] WATCH = "WATCH".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    private static final byte[] UNWATCH = "UNWATCH".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    private final RedisClusterClient cluster;
    private final RespBuffer buffer = new RespBuffer();
    private final Map<NodeAddress, Deque<RedisConnection>> idleLanes = new HashMap<>();
    private final Map<NodeAddress, Integer> openLanes = new HashMap<>();
    private final List<RedisConnection> everyLane = new ArrayList<>();

    ClusterTransactions(RedisClusterClient cluster) {
        this.cluster = cluster;
    }

    /**
     * A connection of its own to one master holding a WATCH for one single-slot transaction ({@link #executeWatched}).
     * {@link #MOVING} and {@link #BUSY} hold none: the slot is moving, or every lane of its master is taken.
     */
    static final class Lane {
        static final Lane MOVING = new Lane(-1, null, null);
        static final Lane BUSY = new Lane(-1, null, null);
        private final int slot;
        private final NodeAddress node;
        private final RedisConnection connection;
        /** Holds its connection (and WATCH): not yet run, given back or lost. */
        private boolean inUse;

        private Lane(int slot, NodeAddress node, RedisConnection connection) {
            this.slot = slot;
            this.node = node;
            this.connection = connection;
        }

        boolean held() {
            return connection != null;
        }
    }

    /**
     * WATCHes {@code keys} (all in one slot) on a lane of the slot's master. A WATCH answered with a redirect (the slot
     * has moved or is moving) sets nothing: {@link Lane#MOVING}, after reading the slot map again for a MOVED.
     */
    Lane watch(List<byte[]> keys) throws IOException {
        int slot = slotOf(List.of(new RawCommand("WATCH", keys)));
        NodeAddress node = cluster.slots().owner(slot);
        if (node == null) {
            cluster.refresh();
            return Lane.MOVING;
        }
        Deque<RedisConnection> idle = idleLanes.computeIfAbsent(node, n -> new ArrayDeque<>());
        RedisConnection connection = idle.poll();
        boolean reused = connection != null;
        if (connection == null) {
            if (openLanes.getOrDefault(node, 0) >= LANES_PER_MASTER) {
                return Lane.BUSY;
            }
            connection = cluster.openConnection(node);
            openLanes.merge(node, 1, Integer::sum);
            everyLane.add(connection);
        }
        Lane lane = new Lane(slot, node, connection);
        lane.inUse = true;
        byte[][] argv = new byte[keys.size() + 1][];
        argv[0] = WATCH;
        for (int i = 0; i < keys.size(); i++) {
            argv[i + 1] = keys.get(i);
        }
        RespMessage reply;
        try {
            reply = connection.call(argv);
        } catch (IOException e) {
            lost(lane);
            if (reused) {
                return watch(keys); // an idle lane closed meanwhile (fenced, or Redis's idle timeout): take another
            }
            throw e;
        }
        if (!(reply instanceof RespMessage.Error error)) {
            return lane;
        }
        idle(lane); // a refused WATCH set nothing
        if (error.text().startsWith("MOVED ")) {
            cluster.refresh();
        }
        if (isRedirect(error.text())) {
            return Lane.MOVING;
        }
        throw new IllegalStateException("cluster node " + node + " refuses WATCH (" + error.text() + "); grant the apply user"
                + " +watch (the README's 'Redis users')");
    }

    /**
     * Runs each transaction on the lane holding its WATCH and gives the lanes back. A transaction a watched key's
     * change aborted answers nil; so does one refused with MOVED, ASK or TRYAGAIN, which ran nowhere and is not
     * sent on: its keys must be watched and judged again where its slot now is.
     */
    List<TransactionReply> executeWatched(List<List<RawCommand>> transactions, List<Lane> lanes) throws IOException {
        List<TransactionReply> replies = new ArrayList<>(transactions.size());
        boolean moved = false;
        try {
            for (int i = 0; i < transactions.size(); i++) {
                if (slotOf(transactions.get(i)) != lanes.get(i).slot) {
                    throw new IllegalArgumentException("a watched transaction must run in the slot of its watched keys");
                }
                buffer.clear();
                buffer.command("MULTI", List.of());
                for (RawCommand command : transactions.get(i)) {
                    buffer.command(command.name(), command.args());
                }
                buffer.command("EXEC", List.of());
                lanes.get(i).connection.write(buffer);
            }
            for (int i = 0; i < transactions.size(); i++) {
                RedisConnection connection = lanes.get(i).connection;
                RespMessage multi = connection.readReply();
                if (multi instanceof RespMessage.Error error) {
                    throw new IOException("MULTI refused by " + lanes.get(i).node + ": " + error.text());
                }
                List<RespMessage> queued = new ArrayList<>();
                for (int q = 0; q < transactions.get(i).size(); q++) {
                    queued.add(connection.readReply());
                }
                RespMessage exec = connection.readReply();
                String redirect = redirectText(queued, exec);
                List<Object> plain = new ArrayList<>(queued.size());
                queued.forEach(reply -> plain.add(Reply.of(reply)));
                // Redis discarded a redirected transaction (and its WATCH) without running it
                replies.add(new TransactionReply(plain, redirect == null ? Reply.of(exec) : Reply.NIL));
                moved |= redirect != null && redirect.startsWith("MOVED ");
            }
        } catch (IOException | RuntimeException e) {
            lanes.forEach(this::lost);
            throw e;
        }
        lanes.forEach(this::idle);
        if (moved) {
            cluster.refresh();
        }
        return replies;
    }

    /** Gives back lanes whose transactions will not run (lanes already given back are left alone): their WATCH is dropped. */
    void release(List<Lane> lanes) throws IOException {
        for (Lane lane : lanes) {
            if (!lane.inUse) {
                continue;
            }
            try {
                lane.connection.call(UNWATCH);
            } catch (IOException e) {
                lost(lane);
                throw e;
            }
            idle(lane);
        }
    }

    private void idle(Lane lane) {
        if (lane.inUse) {
            lane.inUse = false;
            idleLanes.computeIfAbsent(lane.node, n -> new ArrayDeque<>()).push(lane.connection);
        }
    }

    private void lost(Lane lane) {
        lane.connection.close();
        everyLane.remove(lane.connection);
        if (lane.inUse) {
            lane.inUse = false;
            openLanes.merge(lane.node, -1, Integer::sum);
        }
    }

    /** Closes every lane (the client disconnects). */
    void closeLanes() {
        everyLane.forEach(RedisConnection::close);
        everyLane.clear();
        idleLanes.clear();
        openLanes.clear();
    }

    /** Transactions written but not all settled. */
    final class Round {
        private final List<List<RawCommand>> transactions;
        private final int[] slots;
        private final NodeAddress[] askTo;
        private final TransactionReply[] replies;
        private Map<NodeAddress, List<Integer>> sent = Map.of();

        private Round(List<List<RawCommand>> transactions) {
            this.transactions = transactions;
            this.slots = new int[transactions.size()];
            this.askTo = new NodeAddress[transactions.size()];
            this.replies = new TransactionReply[transactions.size()];
            for (int i = 0; i < slots.length; i++) {
                slots[i] = slotOf(transactions.get(i));
            }
        }
    }

    /** The one slot every key of {@code body} is in; a body spanning slots is a bug of the caller. */
    static int slotOf(List<RawCommand> body) {
        int slot = -1;
        for (RawCommand command : body) {
            for (byte[] key : CommandKeys.of(command)) {
                int s = HashSlot.of(key);
                if (slot >= 0 && s != slot) {
                    throw new IllegalArgumentException("a transaction for a cluster target spans slots " + slot + " and " + s
                            + " (" + command.name() + "): it must be split per slot first");
                }
                slot = s;
            }
        }
        if (slot < 0) {
            throw new IllegalArgumentException("a transaction for a cluster target has no key to route it by");
        }
        return slot;
    }

    Round submit(List<List<RawCommand>> transactions) throws IOException {
        Round round = new Round(transactions);
        List<Integer> all = new ArrayList<>(transactions.size());
        for (int i = 0; i < transactions.size(); i++) {
            all.add(i);
        }
        send(round, all);
        return round;
    }

    List<TransactionReply> await(Round round) throws IOException {
        for (int attempt = 1; ; attempt++) {
            List<Integer> again = new ArrayList<>();
            boolean moved = false;
            boolean tryAgain = false;
            for (Map.Entry<NodeAddress, List<Integer>> group : round.sent.entrySet()) {
                NodeAddress node = group.getKey();
                RedisConnection connection = cluster.connection(node);
                for (int i : group.getValue()) {
                    if (round.askTo[i] != null) {
                        RespMessage asking = connection.readReply();
                        round.askTo[i] = null;
                        if (asking instanceof RespMessage.Error refused) {
                            // the ACL user's, not a passing state: following ASK would loop
                            throw new IllegalStateException("cluster node " + node + " refuses ASKING (" + refused.text()
                                    + "); grant the apply user +asking (the README's 'A Redis Cluster as apply target')");
                        }
                    }
                    RespMessage multi = connection.readReply();
                    if (multi instanceof RespMessage.Error error) {
                        throw new IOException("MULTI refused by " + node + ": " + error.text());
                    }
                    int size = round.transactions.get(i).size();
                    List<RespMessage> queued = new ArrayList<>(size);
                    for (int q = 0; q < size; q++) {
                        queued.add(connection.readReply());
                    }
                    RespMessage exec = connection.readReply();
                    String redirectText = redirectText(queued, exec);
                    Redirect redirect = redirectText == null ? null : Redirect.parse(redirectText);
                    if (redirect != null && redirect.slot() != round.slots[i]) {
                        // a command whose key Ferry read at the wrong place: following it would loop, so its
                        // error stays in the reply and the transaction is narrowed down without it
                        redirectText = null;
                    }
                    if (redirectText == null) {
                        List<Object> plain = new ArrayList<>(size);
                        queued.forEach(reply -> plain.add(Reply.of(reply)));
                        round.replies[i] = new TransactionReply(plain, Reply.of(exec));
                        continue;
                    }
                    again.add(i);
                    if (redirect == null) {
                        tryAgain = true; // TRYAGAIN: the slot's keys are half moved; ask its owner again shortly
                    } else if (redirect.ask()) {
                        round.askTo[i] = redirect.target().host().isEmpty()
                                ? new NodeAddress(node.host(), redirect.target().port()) : redirect.target();
                    } else {
                        moved = true;
                    }
                }
            }
            if (again.isEmpty()) {
                return List.of(round.replies);
            }
            if (attempt >= MAX_ROUNDS) {
                throw new IOException(again.size() + " transaction(s) still redirected after " + attempt
                        + " rounds (slot " + round.slots[again.get(0)] + "): the cluster's topology keeps changing");
            }
            if (moved) {
                cluster.refresh();
            }
            if (tryAgain) {
                pause();
            }
            send(round, again);
        }
    }

    /** The MOVED, ASK or TRYAGAIN that made Redis discard the transaction, or null when it ran (or failed otherwise). */
    private static String redirectText(List<RespMessage> queued, RespMessage exec) {
        for (RespMessage reply : queued) {
            if (reply instanceof RespMessage.Error error && isRedirect(error.text())) {
                return error.text();
            }
        }
        return exec instanceof RespMessage.Error error && isRedirect(error.text()) ? error.text() : null;
    }

    private static boolean isRedirect(String error) {
        return error.startsWith("MOVED ") || error.startsWith("ASK ") || error.startsWith("TRYAGAIN");
    }

    private void send(Round round, List<Integer> due) throws IOException {
        Map<NodeAddress, List<Integer>> byNode = new LinkedHashMap<>();
        for (int i : due) {
            NodeAddress node = round.askTo[i];
            if (node == null) {
                node = cluster.slots().owner(round.slots[i]);
                if (node == null) {
                    cluster.refresh();
                    node = cluster.slots().owner(round.slots[i]);
                    if (node == null) {
                        throw new IOException("no master serves slot " + round.slots[i] + " (cluster down or being repaired)");
                    }
                }
            }
            byNode.computeIfAbsent(node, n -> new ArrayList<>()).add(i);
        }
        for (Map.Entry<NodeAddress, List<Integer>> group : byNode.entrySet()) {
            buffer.clear();
            for (int i : group.getValue()) {
                if (round.askTo[i] != null) {
                    buffer.command(ASKING);
                }
                buffer.command("MULTI", List.of());
                for (RawCommand command : round.transactions.get(i)) {
                    buffer.command(command.name(), command.args());
                }
                buffer.command("EXEC", List.of());
            }
            try {
                cluster.connection(group.getKey()).write(buffer);
            } catch (IOException e) {
                throw new IOException("cannot write to cluster node " + group.getKey() + ": " + e.getMessage(), e);
            }
        }
        round.sent = byNode;
    }

    private static void pause() throws IOException {
        try {
            Thread.sleep(TRYAGAIN_PAUSE_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while a slot migrates");
        }
    }
}
