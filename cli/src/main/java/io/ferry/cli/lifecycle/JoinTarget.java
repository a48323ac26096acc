package io.ferry.cli.lifecycle;

import io.ferry.apply.redis.RawCommand;
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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The joining instance's Redis during a join: emptied, given a replication backlog, marked as joining
 * (the {@link ReplicationPolicy#JOIN_KEY} key, which {@code ferry status} reads), and finally given its checkpoints in one
 * MULTI/EXEC, after which its replication offset is where its capture starts. Every step goes through the
 * one {@link RestoreWriter} connection, after the copy's blocks sent before it.
 */
final class JoinTarget {

    private final InstanceConfig instance;
    private final RestoreWriter writer;

    JoinTarget(InstanceConfig instance, RestoreWriter writer) {
        this.instance = instance;
        this.writer = writer;
    }

    SourceInfo info() {
        return SourceInfo.parse(text(writer.call(RawCommand.of("INFO", "replication"))),
                text(writer.call(RawCommand.of("INFO", "keyspace"))));
    }

    /** A running apply agent (its connection carries the apply group's name) would write checkpoints of its own. */
    void refuseRunningApply() {
        String name = ReplicationPolicy.applyGroup(instance.id());
        String clients = text(writer.call(RawCommand.of("CLIENT", "LIST", "TYPE", "normal")));
        for (String line : clients.split("\n")) {
            if (java.util.Arrays.asList(line.trim().split(" ")).contains("name=" + name)) {
                throw new OperatorException(ExitCode.NOT_READY, instance.id() + "'s apply agent is connected to its Redis (client "
                        + name + "): stop it before the join and start it after");
            }
        }
    }

    /** Empties the instance, refusing unless it is empty or {@code replace} was given. */
    void empty(boolean replace) {
        String role = field(text(writer.call(RawCommand.of("INFO", "replication"))), "role");
        if (!"master".equals(role)) {
            throw new OperatorException(ExitCode.NOT_READY, instance.id() + "'s Redis (" + instance.redis() + ") is a " + role
                    + ": join into a primary (REPLICAOF NO ONE first)");
        }
        long keys = info().keys();
        if (keys > 0 && !replace) {
            throw new OperatorException(ExitCode.BAD_CONFIG, instance.id() + "'s Redis (" + instance.redis() + ") holds " + keys + " key(s); a join"
                    + " replaces its whole content with the peer's copy. Pass --replace-data to flush it first (what it holds now"
                    + " is lost; a wiped instance's writes since the wipe were never published either)");
        }
        if (keys > 0) {
            expectOk(writer.call(new RawCommand("FLUSHALL", List.of())), "FLUSHALL");
        }
    }

    /**
     * Makes sure the instance keeps a replication backlog, which it creates (under a new replication id) only
     * when a first replica connects: without one its capture's {@code PSYNC replid offset+1} would get a full
     * resync and publish the copy. Connects as a replica once if there is none.
     */
    void ensureBacklog(Path spool) throws Exception {
        if ("1".equals(field(text(writer.call(RawCommand.of("INFO", "replication"))), "repl_backlog_active"))) {
            return;
        }
        PsyncClient psync = new PsyncClient(instance.redis(), spool, 10_000);
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
        if (!"1".equals(field(text(writer.call(RawCommand.of("INFO", "replication"))), "repl_backlog_active"))) {
            throw new IllegalStateException(instance.id() + "'s Redis has no replication backlog after a replica connected");
        }
    }

    void progress(String text) {
        writer.call(RawCommand.of("SET", ReplicationPolicy.JOIN_KEY, text));
    }

    /**
     * Writes every checkpoint and removes the join marker in one MULTI/EXEC in db 0, then reads the
     * replication position right after it: the capture's starting point (db 0, the db of that last write).
     */
    SourcePosition finish(Map<String, Long> checkpoints) {
        List<RawCommand> body = new ArrayList<>();
        body.add(RawCommand.of("SELECT", "0"));
        checkpoints.forEach((entry, offset) -> {
            int colon = entry.lastIndexOf(':');
            body.add(RawCommand.of("SET", ReplicationPolicy.checkpointKey(entry.substring(0, colon),
                    Integer.parseInt(entry.substring(colon + 1))), Long.toString(offset).getBytes(StandardCharsets.US_ASCII)));
        });
        body.add(RawCommand.of("DEL", ReplicationPolicy.JOIN_KEY));
        writer.transaction(body);
        SourceInfo after = info();
        if (after.replid() == null || after.offset() < 0) {
            throw new IllegalStateException(instance.id() + "'s Redis does not report master_replid/master_repl_offset");
        }
        return new SourcePosition(after.replid(), after.offset(), 0);
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

    private void expectOk(Object reply, String what) {
        if (Reply.isError(reply)) {
            throw new IllegalStateException(instance.id() + "'s Redis refused " + what + ": " + Reply.describe(reply));
        }
    }
}
