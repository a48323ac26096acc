package io.ferry.apply.redis;

import io.ferry.resp.RedisConnection;
import io.ferry.resp.RespBuffer;
import io.ferry.resp.RespMessage;
import io.ferry.resp.cluster.HashSlot;
import io.ferry.resp.cluster.NodeAddress;
import io.ferry.resp.cluster.RedisClusterClient;
import io.ferry.resp.cluster.Redirect;
import java.io.IOException;
import java.util.ArrayList;
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

    private final RedisClusterClient cluster;
    private final RespBuffer buffer = new RespBuffer();

    ClusterTransactions(RedisClusterClient cluster) {
        this.cluster = cluster;
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
