package io.ferry.bench;

import io.ferry.localmesh.RedisBinary;
import io.ferry.localmesh.RedisServer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The anchor: a replica attached with REPLICAOF, as Redis replicates by itself. The source keeps a
 * backlog large enough that a paused replica resumes with a partial resync.
 */
final class NativeReplication implements ReplicationUnderTest {

    private final RedisServer source;
    private final RedisServer replica;
    private final RedisAdmin sourceAdmin;
    private final RedisAdmin replicaAdmin;
    private long fullSyncsBeforePause;

    private NativeReplication(RedisServer source, RedisServer replica) {
        this.source = source;
        this.replica = replica;
        this.sourceAdmin = new RedisAdmin(source.port());
        this.replicaAdmin = new RedisAdmin(replica.port());
    }

    /** Starts the source and an unattached replica; {@link #attach()} connects them. */
    static NativeReplication start(RedisBinary binary, Path dir) {
        // no output-buffer limit for the replica: a paused (SIGSTOP) replica must not be cut off and fully resynced
        RedisServer source = RedisServer.start(binary, dir.resolve("native-source"), "--repl-backlog-size", "1gb",
                "--client-output-buffer-limit", "replica 0 0 0");
        try {
            RedisServer replica = RedisServer.start(binary, dir.resolve("native-replica"));
            return new NativeReplication(source, replica);
        } catch (RuntimeException e) {
            source.stop();
            throw e;
        }
    }

    void attach() {
        replicaAdmin.replicaof("127.0.0.1", source.port());
        awaitLinkUp(Duration.ofSeconds(60));
    }

    private void awaitLinkUp(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!"up".equals(replicaAdmin.info("replication", "master_link_status"))) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("native replica did not connect to its source within " + timeout);
            }
            sleep(20);
        }
    }

    RedisAdmin sourceAdmin() {
        return sourceAdmin;
    }

    @Override
    public String name() {
        return "native";
    }

    @Override
    public RedisServer source() {
        return source;
    }

    @Override
    public RedisServer target() {
        return replica;
    }

    @Override
    public Map<String, Long> processes() {
        Map<String, Long> pids = new LinkedHashMap<>();
        pids.put("source-redis", source.pid());
        pids.put("replica-redis", replica.pid());
        return pids;
    }

    /** The replica process is stopped (SIGSTOP): the source keeps its writes in the replica's output buffer. */
    @Override
    public void pauseDelivery() {
        fullSyncsBeforePause = sourceAdmin.infoLong("stats", "sync_full");
        signal("STOP");
    }

    @Override
    public void resumeDelivery() {
        signal("CONT");
    }

    @Override
    public String resumeMode() {
        return sourceAdmin.infoLong("stats", "sync_full") == fullSyncsBeforePause
                ? "replica process stopped then continued; same link, no resync" : "full resync";
    }

    private void signal(String name) {
        try {
            Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(replica.pid())).inheritIO().start();
            if (kill.waitFor() != 0) {
                throw new IllegalStateException("kill -" + name + " " + replica.pid() + " failed");
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("cannot signal the replica", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Override
    public long streamBytes() {
        return sourceAdmin.infoLong("replication", "master_repl_offset");
    }

    @Override
    public void awaitStored(long itemsWritten, Duration timeout) {
        // the source's backlog holds every write as soon as it is acknowledged
    }

    @Override
    public void close() {
        if (replica.isRunning()) {
            signal("CONT");
        }
        sourceAdmin.close();
        replicaAdmin.close();
        replica.stop();
        source.stop();
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
