package io.ferry.apply.redis;

import io.ferry.topology.RedisEndpoint;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.protocol.AsyncCommand;
import io.lettuce.core.protocol.Command;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.ProtocolVersion;
import io.lettuce.core.protocol.RedisCommand;
import io.lettuce.core.resource.ClientResources;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The apply agent's one connection to its own Redis. Sends raw argv through Lettuce's
 * {@code dispatch} with {@link ByteArrayCodec}, pipelining whole MULTI/EXEC transactions in one write.
 *
 * <p>Lettuce's auto-reconnect is off on purpose: it would replay commands written before a disconnect,
 * which could run the tail of a MULTI block outside its transaction. On any failure this client drops
 * the connection and the caller resumes from the checkpoint stored in Redis.
 */
public final class RedisTargetClient implements AutoCloseable {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(RedisTargetClient.class);

    private static final RawKeyword MULTI = new RawKeyword("MULTI");
    private static final RawKeyword EXEC = new RawKeyword("EXEC");

    private final RedisEndpoint endpoint;
    private final String clientName;
    private boolean fenceUnsupported;
    private final Duration timeout;
    private final ClientResources resources;
    private final RedisClient client;
    private final ConcurrentHashMap<String, RawKeyword> keywords = new ConcurrentHashMap<>();
    private StatefulRedisConnection<byte[], byte[]> connection;

    /** @param clientName CLIENT SETNAME of the connection; every replica of one applier uses the same name */
    public RedisTargetClient(RedisEndpoint endpoint, Duration timeout, String clientName) {
        this.endpoint = endpoint;
        this.clientName = clientName;
        this.timeout = timeout;
        this.resources = ClientResources.builder().ioThreadPoolSize(2).computationThreadPoolSize(2).build();
        RedisURI uri = RedisURI.create(endpoint.uriWithCredentials());
        uri.setTimeout(timeout);
        this.client = RedisClient.create(resources, uri);
        client.setOptions(ClientOptions.builder()
                .autoReconnect(false)
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                .protocolVersion(ProtocolVersion.RESP2)
                .build());
    }

    /** Opens the connection if it is not open; throws {@link RedisUnavailableException} when it cannot. */
    public synchronized void connect() {
        if (isConnected()) {
            return;
        }
        disconnect();
        try {
            connection = client.connect(ByteArrayCodec.INSTANCE);
        } catch (RuntimeException e) {
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
                if (Reply.isInteger(call(RawCommand.of("CLIENT", "KILL", "ID", id)), 1)) {
                    killed++;
                }
            }
        }
        return killed;
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
        return connection != null && connection.isOpen();
    }

    /** Closes the connection; whatever was in flight is abandoned (the caller re-reads its checkpoints). */
    public synchronized void disconnect() {
        if (connection != null) {
            try {
                connection.close();
            } catch (RuntimeException ignored) {
                // closing a broken connection may fail; it is gone either way
            }
            connection = null;
        }
    }

    /** Runs one command and returns its reply (errors as {@link RedisError} values). */
    public Object call(RawCommand command) {
        return await(List.of(async(command))).get(0);
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

    /** Transactions written to Redis whose replies have not been read yet. */
    public static final class Pending {
        private final List<List<RawCommand>> transactions;
        private final List<AsyncCommand<byte[], byte[], Object>> commands;
        private final StatefulRedisConnection<byte[], byte[]> connection;
        private final long deadline;

        private Pending(List<List<RawCommand>> transactions, List<AsyncCommand<byte[], byte[], Object>> commands,
                        StatefulRedisConnection<byte[], byte[]> connection, long deadline) {
            this.transactions = transactions;
            this.commands = commands;
            this.connection = connection;
            this.deadline = deadline;
        }
    }

    /**
     * Sends every transaction as {@code MULTI; body…; EXEC} and waits for all replies.
     * Transactions are independent: the caller never pipelines two for the same source partition.
     */
    public List<TransactionReply> execute(List<List<RawCommand>> transactions) {
        return await(submit(transactions));
    }

    /** Writes the transactions in one pipelined write without waiting; {@link #await(Pending)} reads the replies. */
    public Pending submit(List<List<RawCommand>> transactions) {
        List<AsyncCommand<byte[], byte[], Object>> commands = new ArrayList<>();
        for (List<RawCommand> body : transactions) {
            commands.add(async(MULTI, new CommandArgs<>(ByteArrayCodec.INSTANCE)));
            for (RawCommand command : body) {
                commands.add(async(command));
            }
            commands.add(async(EXEC, new CommandArgs<>(ByteArrayCodec.INSTANCE)));
        }
        return new Pending(transactions, commands, dispatch(commands), System.nanoTime() + timeout.toNanos());
    }

    public List<TransactionReply> await(Pending pending) {
        List<Object> replies = replies(pending.connection, pending.commands, pending.deadline);
        List<TransactionReply> result = new ArrayList<>(pending.transactions.size());
        int at = 0;
        for (List<RawCommand> body : pending.transactions) {
            Object multi = replies.get(at++);
            if (Reply.isError(multi)) {
                throw new RedisUnavailableException("MULTI refused: " + multi, null);
            }
            List<Object> queued = new ArrayList<>(replies.subList(at, at + body.size()));
            at += body.size();
            result.add(new TransactionReply(queued, replies.get(at++)));
        }
        return result;
    }

    private AsyncCommand<byte[], byte[], Object> async(RawCommand command) {
        CommandArgs<byte[], byte[]> args = new CommandArgs<>(ByteArrayCodec.INSTANCE);
        for (byte[] arg : command.args()) {
            args.add(arg);
        }
        return async(keywords.computeIfAbsent(command.name(), RawKeyword::new), args);
    }

    private static AsyncCommand<byte[], byte[], Object> async(RawKeyword keyword, CommandArgs<byte[], byte[]> args) {
        return new AsyncCommand<>(new Command<>(keyword, new ReplyOutput(), args));
    }

    private List<Object> await(List<AsyncCommand<byte[], byte[], Object>> commands) {
        return replies(dispatch(commands), commands, System.nanoTime() + timeout.toNanos());
    }

    private StatefulRedisConnection<byte[], byte[]> dispatch(List<AsyncCommand<byte[], byte[], Object>> commands) {
        StatefulRedisConnection<byte[], byte[]> current;
        synchronized (this) {
            current = connection;
        }
        if (current == null || !current.isOpen()) {
            disconnect();
            throw new RedisUnavailableException("not connected to " + endpoint, null);
        }
        try {
            current.dispatch(new ArrayList<RedisCommand<byte[], byte[], ?>>(commands));
            return current;
        } catch (RuntimeException e) {
            disconnect();
            throw new RedisUnavailableException("cannot send to " + endpoint + ": " + rootMessage(e), e);
        }
    }

    private List<Object> replies(StatefulRedisConnection<byte[], byte[]> sentOn, List<AsyncCommand<byte[], byte[], Object>> commands,
                                 long deadline) {
        try {
            List<Object> replies = new ArrayList<>(commands.size());
            for (AsyncCommand<byte[], byte[], Object> command : commands) {
                long left = Math.max(1, deadline - System.nanoTime());
                replies.add(command.get(left, TimeUnit.NANOSECONDS));
            }
            return replies;
        } catch (ExecutionException e) {
            disconnect();
            throw new RedisUnavailableException("lost " + endpoint + ": " + rootMessage(e), e);
        } catch (TimeoutException e) {
            disconnect();
            throw new RedisUnavailableException(endpoint + " did not answer within " + timeout, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            disconnect();
            throw new RedisUnavailableException("interrupted while waiting for " + endpoint, e);
        } catch (RuntimeException e) {
            disconnect();
            throw new RedisUnavailableException("lost " + endpoint + ": " + rootMessage(e), e);
        } finally {
            if (sentOn != null && !sentOn.isOpen()) {
                disconnect();
            }
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
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        resources.shutdown(0, 2, TimeUnit.SECONDS);
    }
}
