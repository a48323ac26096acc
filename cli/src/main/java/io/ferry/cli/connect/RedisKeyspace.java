package io.ferry.cli.connect;

import io.ferry.resp.RedisConnection;
import io.ferry.resp.RespMessage;
import io.ferry.resp.cluster.NodeAddress;
import io.ferry.resp.cluster.RedisClusterClient;
import io.ferry.resp.cluster.RedisClusterClient.Routed;
import io.ferry.topology.RedisEndpoint;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * One instance's Redis as the command line reaches it ({@code verify}, {@code status}, {@code join}, {@code leave}), through
 * Ferry's own RESP client: a standalone
 * server (one connection, any db) or a Redis Cluster (its masters, db 0 only). Commands on a key go to
 * the master of the key's slot (following MOVED and ASK, so a slot moved mid-scan is read where it
 * went); commands on the whole keyspace (INFO, SCAN, TIME) go to each of {@link #nodes()}.
 */
public abstract sealed class RedisKeyspace implements AutoCloseable {

    private static final int TIMEOUT_MILLIS = 30_000;
    private static final int CONNECT_TIMEOUT_MILLIS = 5_000;

    /** Connects and authenticates (TLS and AUTH as the endpoint says); a cluster's slot map is read. */
    public static RedisKeyspace open(RedisEndpoint endpoint) throws IOException {
        if (endpoint.cluster()) {
            return new Cluster(RedisClusterClient.connect(List.of(endpoint), TIMEOUT_MILLIS, null, null));
        }
        RedisConnection connection = RedisConnection.open(endpoint, CONNECT_TIMEOUT_MILLIS);
        connection.setReadTimeout(TIMEOUT_MILLIS);
        return new Standalone(connection);
    }

    /** Whether this is a Redis Cluster: db 0 only, keys spread over masters. */
    public abstract boolean cluster();

    /** Runs each command on the node that holds its key, pipelined; replies in the order of {@code commands}. */
    public abstract List<RespMessage> execute(List<Routed> commands) throws IOException;

    /** The nodes holding the keyspace: the server, or every master serving slots (the slot map read again). */
    public abstract List<RedisConnection> nodes() throws IOException;

    /** One command on a key's node. */
    public RespMessage call(Routed command) throws IOException {
        return execute(List.of(command)).get(0);
    }

    @Override
    public abstract void close();

    /** A standalone Redis: everything on its one connection, in the db it has selected. */
    static final class Standalone extends RedisKeyspace {
        private final RedisConnection connection;

        Standalone(RedisConnection connection) {
            this.connection = connection;
        }

        @Override
        public boolean cluster() {
            return false;
        }

        @Override
        public List<RespMessage> execute(List<Routed> commands) throws IOException {
            connection.sendAll(commands.stream().map(Routed::argv).toList());
            List<RespMessage> replies = new ArrayList<>(commands.size());
            for (int i = 0; i < commands.size(); i++) {
                replies.add(connection.readReply());
            }
            return replies;
        }

        @Override
        public List<RedisConnection> nodes() {
            return List.of(connection);
        }

        @Override
        public void close() {
            connection.close();
        }
    }

    /** A Redis Cluster: commands routed by slot, the keyspace spread over the masters. */
    static final class Cluster extends RedisKeyspace {
        private final RedisClusterClient client;

        Cluster(RedisClusterClient client) {
            this.client = client;
        }

        @Override
        public boolean cluster() {
            return true;
        }

        @Override
        public List<RespMessage> execute(List<Routed> commands) throws IOException {
            return client.execute(commands);
        }

        /** Replicas are not read: a master holds every key of its slots, a replica may lag behind it. */
        @Override
        public List<RedisConnection> nodes() throws IOException {
            List<RedisConnection> masters = new ArrayList<>();
            for (NodeAddress master : client.refresh().masters()) {
                masters.add(client.connection(master));
            }
            return masters;
        }

        @Override
        public void close() {
            client.close();
        }
    }
}
