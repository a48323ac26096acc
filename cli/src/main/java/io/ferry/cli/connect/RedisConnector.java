package io.ferry.cli.connect;

import io.ferry.cli.OperatorException;
import io.ferry.topology.InstanceConfig;
import io.ferry.topology.RedisAccess;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.output.ValueOutput;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
import io.ferry.resp.RespMessage;
import io.ferry.resp.cluster.RedisClusterClient;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import java.time.Duration;

/**
 * Opens short-lived connections from the command line to an instance's Redis and turns every way that
 * can fail into an {@link OperatorException} naming the instance, the address (never the password) and
 * what to check.
 */
public final class RedisConnector implements AutoCloseable {

    private static final Duration TIMEOUT = Duration.ofSeconds(5);

    private final InstanceConfig instance;
    private final RedisClient client;
    private StatefulRedisConnection<byte[], byte[]> connection;

    public RedisConnector(InstanceConfig instance) {
        this.instance = instance;
        RedisURI uri = RedisURI.create(instance.redis().uriWithCredentials());
        uri.setTimeout(TIMEOUT);
        this.client = RedisClient.create(uri);
        client.setOptions(ClientOptions.builder()
                .autoReconnect(false)
                .socketOptions(SocketOptions.builder().connectTimeout(TIMEOUT).build())
                .build());
    }

    /** A connection that has answered INFO (so reachability, credentials and the INFO permission are checked). */
    public StatefulRedisConnection<byte[], byte[]> connect() {
        if (connection == null) {
            try {
                connection = client.connect(ByteArrayCodec.INSTANCE);
                connection.sync().info("server");
            } catch (RuntimeException e) {
                throw classify(e);
            }
        }
        return connection;
    }

    /** The INFO replication section as a map of field to value. */
    public java.util.Map<String, String> infoReplication() {
        return info("replication");
    }

    /** One INFO section as a map of field to value. */
    public java.util.Map<String, String> info(String section) {
        String text;
        try {
            text = connect().sync().info(section);
        } catch (OperatorException e) {
            throw e;
        } catch (RuntimeException e) {
            throw classify(e);
        }
        java.util.Map<String, String> fields = new java.util.LinkedHashMap<>();
        text.lines().filter(l -> l.contains(":")).forEach(l -> {
            int colon = l.indexOf(':');
            fields.put(l.substring(0, colon).trim(), l.substring(colon + 1).trim());
        });
        return fields;
    }

    /** The value of {@code key}, or null; on a Redis Cluster read from the master of the key's slot. */
    public byte[] get(byte[] key) {
        if (!instance.redis().cluster()) {
            try {
                return connect().sync().get(key);
            } catch (OperatorException e) {
                throw e;
            } catch (RuntimeException e) {
                throw classify(e);
            }
        }
        try (RedisClusterClient cluster = RedisClusterClient.connect(List.of(instance.redis()), (int) TIMEOUT.toMillis())) {
            RespMessage reply = cluster.call(key, "GET".getBytes(StandardCharsets.US_ASCII), key);
            if (reply instanceof RespMessage.Error error) {
                throw classify(new IllegalStateException(error.text()));
            }
            return reply instanceof RespMessage.BulkString bulk ? bulk.bytes() : null;
        } catch (IOException | RuntimeException e) {
            throw e instanceof OperatorException operator ? operator : classify(e instanceof RuntimeException r ? r : new IllegalStateException(e));
        }
    }

    /** Which of {@code role}'s permissions this connection's user lacks, asked of ACL DRYRUN (Redis 7+). */
    public RedisAccess.Verdict access(RedisAccess.Role role) {
        String user = instance.redis().username() == null ? "default" : instance.redis().username();
        StatefulRedisConnection<byte[], byte[]> c = connect();
        return RedisAccess.check(role, user, args -> {
            CommandArgs<byte[], byte[]> dryrun = new CommandArgs<>(ByteArrayCodec.INSTANCE).add("DRYRUN");
            args.forEach(dryrun::add);
            try {
                byte[] reply = c.sync().dispatch(CommandType.ACL, new ValueOutput<>(ByteArrayCodec.INSTANCE), dryrun);
                return reply == null ? "" : new String(reply, StandardCharsets.UTF_8);
            } catch (RedisCommandExecutionException e) {
                return "-" + e.getMessage();
            } catch (RuntimeException e) {
                throw classify(e);
            }
        });
    }

    public OperatorException classify(RuntimeException e) {
        return RedisFailures.classify(instance, e);
    }

    @Override
    public void close() {
        if (connection != null) {
            connection.close();
        }
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
}
