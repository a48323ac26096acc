package io.ferry.cli.lifecycle;

import io.ferry.apply.redis.RawCommand;
import io.ferry.apply.redis.RedisTargetClient;
import io.ferry.apply.redis.Reply;
import io.ferry.capture.position.SourceInfo;
import io.ferry.capture.psync.PsyncClient;
import io.ferry.cli.ExitCode;
import io.ferry.cli.OperatorException;
import io.ferry.resp.SpilledBulk;
import io.ferry.schemas.ReplicationPolicy;
import io.ferry.schemas.SourcePosition;
import io.ferry.topology.InstanceConfig;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The joining instance's Redis during a join: emptied, given a replication backlog, marked as joining
 * (the {@link ReplicationPolicy#JOIN_KEY} key, which {@code ferry status} reads), and finally given its
 * checkpoints, after which each server's replication offset is where its capture starts. A Redis Cluster
 * is all of that on every master (its shards, {@link RedisShards}); keys and checkpoints go through the one
 * {@link RestoreWriter}, after the copy's blocks sent before them.
 */
final class JoinTarget implements AutoCloseable {

    /** Where one shard's capture starts: its partition, position, node ids (null: standalone) and user keys. */
    record Start(int partition, SourcePosition position, String nodeIds, long keys) {
    }

    private final InstanceConfig instance;
    private final RestoreWriter writer;
    private final RedisShards shards;
    private final List<RedisTargetClient> nodes = new ArrayList<>();

    JoinTarget(InstanceConfig instance, RestoreWriter writer, RedisShards shards) {
        this.instance = instance;
        this.writer = writer;
        this.shards = shards;
        for (RedisShards.Shard shard : shards.shards()) {
            RedisTargetClient node = new RedisTargetClient(shard.node(), Duration.ofSeconds(60), "ferry-join-" + instance.id());
            nodes.add(node);
            node.connect();
        }
    }

    private String where(int i) {
        return instance.id() + "'s Redis (" + shards.shards().get(i).node() + ")";
    }

    private SourceInfo info(int i) {
        RedisTargetClient node = nodes.get(i);
        return SourceInfo.parse(text(node.call(RawCommand.of("INFO", "replication"))), text(node.call(RawCommand.of("INFO", "keyspace"))));
    }

    /** A running apply agent (its connection carries the apply group's name) would write checkpoints of its own. */
    void refuseRunningApply() {
        String name = ReplicationPolicy.applyGroup(instance.id());
        for (RedisTargetClient node : nodes) {
            String clients = text(node.call(RawCommand.of("CLIENT", "LIST", "TYPE", "normal")));
            for (String line : clients.split("\n")) {
                if (java.util.Arrays.asList(line.trim().split(" ")).contains("name=" + name)) {
                    throw new OperatorException(ExitCode.NOT_READY, instance.id() + "'s apply agent is connected to its Redis (client "
                            + name + "): stop it before the join and start it after");
                }
            }
        }
    }

    /** Empties the instance (every master of a cluster), refusing unless it is empty or {@code replace} was given. */
    void empty(boolean replace) {
        long keys = 0;
        for (int i = 0; i < nodes.size(); i++) {
            String role = field(text(nodes.get(i).call(RawCommand.of("INFO", "replication"))), "role");
            if (!"master".equals(role)) {
                throw new OperatorException(ExitCode.NOT_READY, where(i) + " is a " + role
                        + ": join into a primary (REPLICAOF NO ONE first)");
            }
            keys += info(i).keys();
        }
        if (keys > 0 && !replace) {
            throw new OperatorException(ExitCode.BAD_CONFIG, instance.id() + "'s Redis (" + instance.redis() + ") holds " + keys + " key(s); a join"
                    + " replaces its whole content with the peer's copy. Pass --replace-data to flush it first (what it holds now"
                    + " is lost; a wiped instance's writes since the wipe were never published either)");
        }
        for (int i = 0; keys > 0 && i < nodes.size(); i++) {
            expectOk(nodes.get(i).call(new RawCommand("FLUSHALL", List.of())), where(i), "FLUSHALL");
        }
    }

    /**
     * Makes sure every server keeps a replication backlog, which it creates (under a new replication id) only
     * when a first replica connects: without one its capture's {@code PSYNC replid offset+1} would get a full
     * resync and publish the copy. Connects as a replica once if there is none.
     */
    void ensureBacklog(Path spool) throws Exception {
        for (int i = 0; i < nodes.size(); i++) {
            if ("1".equals(field(text(nodes.get(i).call(RawCommand.of("INFO", "replication"))), "repl_backlog_active"))) {
                continue;
            }
            PsyncClient psync = new PsyncClient(shards.shards().get(i).node(), spool, 10_000);
            psync.run(null, -1, new PsyncClient.Listener() {
                @Override
                public void onContinue(String replid, long offset) {
                    psync.close();
                }

                @Override
                public void onFullResync(String replid, long offset, Path rdb) {
                    psync.close();
                }

                @Override
                public void onCommand(byte[][] argv, Map<byte[], SpilledBulk> spilled, long endOffset) {
                }
            });
            if (!"1".equals(field(text(nodes.get(i).call(RawCommand.of("INFO", "replication"))), "repl_backlog_active"))) {
                throw new IllegalStateException(where(i) + " has no replication backlog after a replica connected");
            }
        }
    }

    void progress(String text) {
        writer.call(RawCommand.of("SET", ReplicationPolicy.JOIN_KEY, text));
    }

    /**
     * Writes every checkpoint (in one MULTI/EXEC on a standalone Redis, one per slot on a cluster), then
     * removes the join marker, then reads each server's replication position: its capture's starting point
     * (db 0, the db of those last writes).
     */
    List<Start> finish(SlotCheckpoints checkpoints) {
        writer.commit(checkpoints.writes(shards.cluster()));
        writer.commit(List.of(RawCommand.of("DEL", ReplicationPolicy.JOIN_KEY)));
        List<Start> starts = new ArrayList<>();
        for (int i = 0; i < nodes.size(); i++) {
            SourceInfo after = info(i);
            if (after.replid() == null || after.offset() < 0) {
                throw new IllegalStateException(where(i) + " does not report master_replid/master_repl_offset");
            }
            RedisShards.Shard shard = shards.shards().get(i);
            starts.add(new Start(shard.partition(), new SourcePosition(after.replid(), after.offset(), 0), shard.nodeIds(),
                    writer.keysIn(shard.slots())));
        }
        return starts;
    }

    private static String text(Object reply) {
        if (reply instanceof byte[] bytes) {
            return new String(bytes, StandardCharsets.UTF_8);
        }
        throw new IllegalStateException("unexpected reply " + Reply.describe(reply));
    }

    static String field(String info, String name) {
        for (String line : info.split("\r?\n")) {
            if (line.startsWith(name + ":")) {
                return line.substring(name.length() + 1).trim();
            }
        }
        return null;
    }

    private static void expectOk(Object reply, String where, String what) {
        if (Reply.isError(reply)) {
            throw new IllegalStateException(where + " refused " + what + ": " + Reply.describe(reply));
        }
    }

    @Override
    public void close() {
        nodes.forEach(RedisTargetClient::close);
    }
}
