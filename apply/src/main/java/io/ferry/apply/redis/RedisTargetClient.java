package io.ferry.apply.redis;

import io.ferry.resp.RedisConnection;
import io.ferry.resp.RespBuffer;
import io.ferry.topology.RedisEndpoint;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLSocketFactory;

/**
 * The apply agent's one connection to its own Redis. Encodes raw argv itself and writes a whole round
 * of pipelined MULTI/EXEC transactions as one pre-encoded buffer: a client library's per-command
 * objects, futures and hand-offs between threads cost more than Redis spends running the commands.
 *
 * <p>There is no automatic reconnect on purpose: replaying commands written before a disconnect could
 * run the tail of a MULTI block outside its transaction. On any failure this client drops the
 * connection and the caller resumes from the checkpoint stored in Redis.
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
    /** Replies written for but not read yet: at most one {@link Pending} round may be outstanding. */
    private Pending unread;

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
        try {
            connection = RedisConnection.open(endpoint, (int) Math.min(Integer.MAX_VALUE, timeout.toMillis()), tls, null);
        } catch (IOException | RuntimeException e) {
            throw new RedisUnavailableException("cannot connect to " + endpoint + ": " + rootMessage(e), e);
        }
        Object named = call(RawCommand.of("CLIENT", "SETNAME", clientName));
        if (Reply.isError(named)) {
            LOG.warn("CLIENT SETNAME refused by {} ({}); stale replicas cannot be fenced", endpoint, named);
        }
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
        Object me = call(RawCommand.of("CLIENT", "ID"));
        Object list = call(RawCommand.of("CLIENT", "LIST", "TYPE", "normal"));
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
                Object reply = call(RawCommand.of("CLIENT", "KILL", "ID", id));
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
        return connection != null && !connection.isClosed();
    }

    /** Closes the connection; whatever was in flight is abandoned (the caller re-reads its checkpoints). */
    public synchronized void disconnect() {
        if (connection != null) {
            connection.close();
            connection = null;
        }
        unread = null;
    }

    /** Runs one command and returns its reply (errors as {@link RedisError} values). */
    public Object call(RawCommand command) {
        buffer.clear();
        encode(command);
        return readReplies(send(List.of(), 1)).get(0);
    }

    /** The checkpoint stored under {@code key} (last applied Kafka offset), or null when there is none. */
    public Long readCheckpoint(byte[] key) {
        Object reply = call(new RawCommand("GET", List.of(key)));
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

    private void encode(RawCommand command) {
        buffer.command(command.name(), command.args());
    }

    /** Transactions written to Redis whose replies have not been read yet. */
    public static final class Pending {
        private final List<List<RawCommand>> transactions;
        private final int replyCount;
        private final RedisConnection connection;
        private List<Object> replies;

        private Pending(List<List<RawCommand>> transactions, int replyCount, RedisConnection connection) {
            this.transactions = transactions;
            this.replyCount = replyCount;
            this.connection = connection;
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
        } catch (SocketTimeoutException e) {
            disconnect();
            throw new RedisUnavailableException(endpoint + " did not answer within " + timeout, e);
        } catch (IOException | RuntimeException e) {
            disconnect();
            throw new RedisUnavailableException("lost " + endpoint + ": " + rootMessage(e), e);
        }
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getClass().getSimpleName() + (t.getMessage() != null ? ": " + t.getMessage() : "");
    }

    @Override
    public void close() {
        disconnect();
    }
}
