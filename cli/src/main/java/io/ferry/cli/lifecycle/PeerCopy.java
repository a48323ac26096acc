package io.ferry.cli.lifecycle;

import io.ferry.capture.psync.PsyncClient;
import io.ferry.capture.wipe.CopyReader;
import io.ferry.resp.SpilledBulk;
import io.ferry.topology.RedisEndpoint;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.LongConsumer;

/**
 * Takes a consistent copy of a peer's keyspace the way a replica does ({@code PSYNC ? -1}): the RDB it
 * sends is its state at replication offset {@code offset} of history {@code replid}. Every user key goes
 * to {@code writer}; the apply checkpoints the copy holds (Ferry's {@code __ferry:ckpt:*} keys, written in
 * the same MULTI/EXEC as what they cover, so consistent with the keys) are returned. The replication
 * connection is closed as soon as the RDB has arrived: the stream after it is read from Kafka.
 */
final class PeerCopy implements PsyncClient.Listener {

    /**
     * The copy's point in the peer's stream, how many user keys it had, its checkpoints (peer partition →
     * offset) and its per-slot checkpoints (peer partition → slot → offset).
     */
    record Result(String replid, long offset, long keys, Map<String, Long> checkpoints, Map<String, Map<Integer, Long>> slotCheckpoints) {
    }

    private final PsyncClient psync;
    private final RestoreWriter writer;
    private final int rdbVersion;
    private final LongConsumer progress;
    private Result result;

    private PeerCopy(RedisEndpoint peer, Path spool, RestoreWriter writer, int rdbVersion, LongConsumer progress) {
        this.psync = new PsyncClient(peer, spool, 10_000);
        this.writer = writer;
        this.rdbVersion = rdbVersion;
        this.progress = progress;
    }

    /**
     * @param rdbVersion RDB version of the RESTORE payloads (0: the peer's own)
     * @param progress   told the number of keys written, every {@code 100_000}
     */
    static Result take(RedisEndpoint peer, Path spool, RestoreWriter writer, int rdbVersion, LongConsumer progress)
            throws Exception {
        PeerCopy copy = new PeerCopy(peer, spool, writer, rdbVersion, progress);
        copy.psync.run(null, -1, copy);
        if (copy.result == null) {
            throw new IllegalStateException(peer + " closed the replication connection before sending a copy");
        }
        return copy.result;
    }

    @Override
    public void onFullResync(String replid, long offset, Path rdb) throws Exception {
        psync.close(); // the RDB is spooled; the stream after it is not needed
        long[] written = {0};
        CopyReader.Contents contents = CopyReader.read(rdb, rdbVersion, null, () -> false, key -> {
            writer.restore(key);
            if (++written[0] % 100_000 == 0) {
                progress.accept(written[0]);
            }
        });
        writer.finish();
        result = new Result(replid, offset, contents.keys(), contents.checkpoints(), contents.slotCheckpoints());
    }

    @Override
    public void onContinue(String replid, long offset) {
        throw new IllegalStateException("PSYNC ? -1 answered +CONTINUE");
    }

    @Override
    public void onCommand(byte[][] argv, Map<byte[], SpilledBulk> spilled, long endOffset) {
        // not reached: the connection is closed once the copy has arrived
    }
}
