package io.ferry.capture.cluster;

import io.ferry.capture.stream.Argv;
import io.ferry.resp.RedisConnection;
import io.ferry.resp.RespMessage;
import io.ferry.topology.RedisEndpoint;
import io.ferry.resp.cluster.HashSlot;
import io.ferry.schemas.AppliedVector;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells a slot migration's own commands apart from users' writes, so moving slots between shards
 * publishes nothing: the peers already hold the key from the old owner's stream, and the key's later
 * writes come from the new owner's stream.
 *
 * <p>What a real cluster's replication streams carry while {@code MIGRATE} (as {@code redis-cli --cluster
 * reshard} runs it) moves key {@code k} of a slot from node P to node Q (seen on Redis 7.0 with
 * {@code redis-cli --replica}): Q's stream gets {@code RESTORE-ASKING k <ttl> <payload>} (with
 * {@code REPLACE} if asked), P's stream then gets a plain {@code DEL k} (MIGRATE is propagated as DEL;
 * several keys moved at once give one DEL naming them all), never inside MULTI. CLUSTER SETSLOT
 * (MIGRATING, IMPORTING, NODE) is not propagated at all.
 *
 * <p>RESTORE-ASKING is only ever sent by MIGRATE: it is never published, and it is remembered. P's DEL
 * looks like a user's DEL, so it is told apart by pairing: a DEL on P all of whose keys Q restored is
 * the migration's. Q executed the RESTORE-ASKING before P ran the DEL, but Q's stream may be read later
 * than P's, so a DEL that may be a migration's waits until every other shard's stream has been read up
 * to where that shard's master was after the DEL happened. Only a DEL whose slot P no longer serves
 * plainly (migrating or moved, as P's own CLUSTER NODES says after the DEL) may be a migration's; a DEL
 * in a slot P serves is a user's and is published at once. Checking needs one round trip to P per
 * stretch of the stream (one answer covers every command P had propagated when it answered).
 *
 * <p>Order on peers: a moved key's writes before the move are in the old shard's partition, its writes
 * after it in the new shard's, and peers consume partitions independently. MIGRATE runs on the old owner
 * from before its RESTORE-ASKING reaches the new owner until its DEL, taking no other command meanwhile:
 * everything the old owner wrote to the moved keys (and to keys of the slot it no longer had) is before
 * the DEL in its stream and happened before the RESTORE-ASKING, so before anything the new owner's stream
 * carries after it. The new shard's first write published after a RESTORE-ASKING therefore waits
 * ({@link #movedIn}) until the old shard's partition has committed everything before the DEL, and names
 * that offset in its applied vector ({@code instance:partition}); peers apply it, and so everything after
 * it in its partition, only after applying the old partition up to there. Writes the new owner takes for a
 * slot before its first RESTORE-ASKING (keys the old owner no longer had, an empty slot) are not ordered.
 *
 * <p>A shard that joins the cluster (a master added with {@code add-node}) gets its capture within a second,
 * but slots may be moved into it before that capture's first PSYNC: those keys' RESTORE-ASKING is in the RDB
 * the new shard sends, not in its stream. Each key of a joined shard's first snapshot is therefore remembered
 * like a restore ({@link #snapshotKey}) and its snapshot event waits for the old shard's DEL like a write after
 * a RESTORE-ASKING; that event is a {@code RESTORE ... REPLACE} command, not an add-if-missing snapshot key, since
 * the value also holds writes made on the new shard before its PSYNC, which no stream carried. A DEL that may be
 * a migration's first waits until every master the old shard's node table names has a capture (at most
 * {@link #WAIT_MILLIS}), and for a shard whose capture has read nothing yet up to {@link #FIRST_SYNC_WAIT_MILLIS}. Without this the DEL was published as a user's, and a peer applying it after the
 * snapshot's RESTORE (refused there, the key existing) lost the key's writes from before the move.
 *
 * <p>Not covered: {@code MIGRATE ... COPY} (no DEL follows; its RESTORE-ASKING is remembered until a
 * DEL of that key on another shard, and the new shard's next write waits for it up to
 * {@link io.ferry.capture.publish.ChangePublisher#ORDER_WAIT_MILLIS}), and two shards migrating slots to
 * each other at the same time, where a DEL waits at most {@link #WAIT_MILLIS} for the other shard and is
 * then decided on what was read (with a warning). The pairing lives in memory: a capture restarted in the
 * middle of a move re-reads only what its shards had not committed, so a RESTORE-ASKING read again whose
 * DEL was committed before the restart is never paired; {@link #settleUnpaired} lets its shard's next
 * write go on without an entry once the other shards have been read past that point.
 */
final class SlotMigrations {

    private static final Logger log = LoggerFactory.getLogger(SlotMigrations.class);
    static final long WAIT_MILLIS = 5_000;
    /**
     * How long a DEL that may be a migration's waits for a shard whose capture has read nothing yet (its first
     * sync, of a shard that just joined, is under way): that snapshot may hold the DEL's keys.
     */
    static final long FIRST_SYNC_WAIT_MILLIS = 30_000;
    /** Time the old owner has, after a RESTORE-ASKING was read, to run its DEL (MIGRATE deletes once the new owner answered). */
    static final long PAIRING_MILLIS = 5_000;
    /**
     * How long a settled restore (no DEL paired it) is still kept for a DEL that comes late: after that it is
     * forgotten, so restores that never pair ({@code MIGRATE COPY}) do not pile up.
     */
    static final long FORGET_MILLIS = 10 * 60_000;

    /** One shard as the migration check needs it: its master now, how far its stream has been read, its partition. */
    interface Stream {
        RedisEndpoint master();

        /** End offset of the last command of the shard's stream that was read and handled; -1 when unknown. */
        long readOffset();

        /** The partition of the changes topic the shard's stream is published to. */
        int partition();

        /** Whether the node with this id belongs to the shard (as far as the capture knows). */
        default boolean hasNode(String nodeId) {
            return false;
        }

        /**
         * Marks the point the shard's reader has reached (called on its thread): completes with the offset of
         * the partition's last record before it once committed (-1: none), exceptionally if never committed.
         */
        CompletableFuture<Long> markCommitted() throws InterruptedException;
    }

    /**
     * A key MIGRATE restored on shard {@code to}: {@code after} completes with the old shard's partition and the
     * offset there that holds every write before the move, once the DEL on the old shard is read and committed.
     */
    private record Import(Stream to, long readNanos, CompletableFuture<AppliedVector> after) {
    }

    /** A reading of one master: its replication offset, then (in the same round trip) its view of its slots. */
    record Sample(long nanos, long offset, BitSet served, BitSet migrating, java.util.Set<String> masters) {
        /** Whether this reading was taken after the command ending at {@code endOffset} ran. */
        boolean covers(long endOffset) {
            return offset >= endOffset;
        }
    }

    private final String instance;
    /** Per key, the restores not yet paired with a DEL, in the order they were read. Guards {@link #arrived} too. */
    private final Map<ByteBuffer, List<Import>> restored = new HashMap<>();
    /** Per shard, the restores read since its stream's last published write: that write waits for them. */
    private final Map<Stream, List<Import>> arrived = new HashMap<>();
    private final Supplier<Collection<? extends Stream>> streams;
    private final Map<Stream, RedisConnection> probes = new HashMap<>();
    private final Map<Stream, Sample> latest = new HashMap<>();

    SlotMigrations(String instance, Supplier<Collection<? extends Stream>> streams) {
        this.instance = instance;
        this.streams = streams;
    }

    /**
     * Whether {@code argv}, read from {@code shard}'s stream outside MULTI and ending at {@code endOffset},
     * is a slot migration's own command (not to be published). May wait for the other shards' streams.
     */
    boolean isMigration(Stream shard, byte[][] argv, long endOffset) throws IOException, InterruptedException {
        String name = Argv.name(argv);
        if (name.equals("RESTORE-ASKING") && argv.length > 1) {
            restoredOn(shard, argv[1]);
            return true;
        }
        if (!name.equals("DEL") || argv.length < 2) {
            return false;
        }
        List<byte[]> keys = List.of(argv).subList(1, argv.length);
        if (matched(shard, keys)) {
            return true;
        }
        Sample own = sampleCovering(shard, endOffset);
        boolean maybeMigrated = keys.stream().mapToInt(HashSlot::of)
                .anyMatch(slot -> !own.served().get(slot) || own.migrating().get(slot));
        if (!maybeMigrated) {
            return false;
        }
        long deadline = System.nanoTime() + WAIT_MILLIS * 1_000_000L;
        long firstSyncDeadline = System.nanoTime() + FIRST_SYNC_WAIT_MILLIS * 1_000_000L;
        // the key may have moved to a master that joined the cluster a moment ago and has no capture yet: the
        // supervisor starts one within a second, and its first snapshot names the keys moved in before its PSYNC
        for (String master : own.masters()) {
            while (streams.get().stream().noneMatch(s -> s.hasNode(master))) {
                if (matched(shard, keys)) {
                    return true;
                }
                if (System.nanoTime() > deadline) {
                    log.warn("a DEL in a migrating slot on {} waited {} ms for a capture of master {} (a shard that joined the"
                            + " cluster): deciding on what was read", shard.master(), WAIT_MILLIS, master);
                    break;
                }
                Thread.sleep(10);
            }
        }
        for (Stream other : streams.get()) {
            if (other == shard) {
                continue;
            }
            Sample sample = sampleAfter(other, own.nanos());
            while (other.readOffset() < sample.offset()) {
                if (matched(shard, keys)) {
                    return true;
                }
                boolean firstSync = other.readOffset() < 0;
                if (System.nanoTime() > (firstSync ? firstSyncDeadline : deadline)) {
                    log.warn("a DEL in a migrating slot on {} waited {} ms for the stream of {} (read to {}, its master at {}):"
                            + " deciding on what was read", shard.master(), firstSync ? FIRST_SYNC_WAIT_MILLIS : WAIT_MILLIS,
                            other.master(), other.readOffset(), sample.offset());
                    return matched(shard, keys);
                }
                Thread.sleep(1);
            }
        }
        return matched(shard, keys);
    }

    /**
     * A key of the first snapshot of {@code shard}, a shard that joined the cluster while this capture ran: it
     * holds only keys moved into it, and one in its snapshot was restored by MIGRATE before the shard's first
     * PSYNC, so its RESTORE-ASKING is in the RDB, not the stream. Remembered as a restore (the old shard's DEL
     * pairs with it and is not published), and the key's snapshot event is the shard's next write that waits
     * ({@link #movedIn}) for the old shard's partition: otherwise the old shard's DEL was published as a user's,
     * and a peer applying it after the snapshot's RESTORE lost the key's value from before the move.
     */
    void snapshotKey(Stream shard, byte[] key) {
        restoredOn(shard, key);
    }

    private void restoredOn(Stream shard, byte[] key) {
        Import imported = new Import(shard, System.nanoTime(), new CompletableFuture<>());
        synchronized (restored) {
            restored.computeIfAbsent(ByteBuffer.wrap(key), k -> new ArrayList<>(1)).add(imported);
            arrived.computeIfAbsent(shard, s -> new ArrayList<>()).add(imported);
        }
    }

    /**
     * Whether other shards restored every key of a DEL read on {@code shard}: then one restore of each is
     * consumed and its import completes with the offset of {@code shard}'s partition that holds every record
     * before the DEL. Otherwise nothing changes.
     */
    private boolean matched(Stream shard, List<byte[]> keys) throws InterruptedException {
        List<Import> imports = new ArrayList<>(keys.size());
        synchronized (restored) {
            for (byte[] key : keys) {
                List<Import> candidates = restored.getOrDefault(ByteBuffer.wrap(key), List.of());
                Import first = candidates.stream().filter(i -> i.to() != shard && !imports.contains(i)).findFirst().orElse(null);
                if (first == null) {
                    return false;
                }
                imports.add(first);
            }
            for (int i = 0; i < keys.size(); i++) {
                ByteBuffer key = ByteBuffer.wrap(keys.get(i));
                List<Import> candidates = restored.get(key);
                candidates.remove(imports.get(i));
                if (candidates.isEmpty()) {
                    restored.remove(key);
                }
            }
        }
        int partition = shard.partition();
        shard.markCommitted().whenComplete((offset, failure) -> imports.forEach(imported -> {
            if (failure != null) {
                imported.after().completeExceptionally(failure);
            } else {
                imported.after().complete(offset < 0 ? AppliedVector.EMPTY : AppliedVector.EMPTY.with(instance, partition, offset));
            }
        }));
        return true;
    }

    /**
     * Lets the writes waiting for a restore that no DEL paired go on without an entry, once every other
     * shard's stream has been read past where its master was {@link #PAIRING_MILLIS} after the restore was
     * read: its DEL was read before this capture started (it was restarted in the middle of a move; the
     * old shard's partition already holds the key's earlier writes) or never comes ({@code MIGRATE COPY},
     * a DEL decided as a user's). A DEL read later still pairs with it and is not published. Called every
     * second by the supervisor.
     */
    void settleUnpaired() throws IOException {
        long now = System.nanoTime();
        Map<Stream, Long> sampled = new HashMap<>();
        for (Import waiting : unpaired(now)) {
            for (Stream other : streams.get()) {
                if (other != waiting.to() && !sampled.containsKey(other)) {
                    sampled.put(other, sampleAfter(other, now - 1).offset());
                }
            }
        }
        settleUnpaired(now, sampled);
    }

    /** {@link #settleUnpaired()} with each shard's master offset read after {@code now} (nanos). */
    void settleUnpaired(long now, Map<Stream, Long> masterOffsets) {
        int settled = 0;
        for (Import waiting : unpaired(now)) {
            boolean passed = streams.get().stream().filter(other -> other != waiting.to())
                    .allMatch(other -> masterOffsets.containsKey(other) && other.readOffset() >= masterOffsets.get(other));
            if (passed && waiting.after().complete(AppliedVector.EMPTY)) {
                settled++;
            }
        }
        forgetSettled(now);
        if (settled > 0) {
            log.info("{} key(s) restored by MIGRATE on this instance's shards had no DEL read on their old shard within {} ms (a"
                    + " restart in the middle of a move, or MIGRATE COPY): their new shard's writes are published without"
                    + " waiting for the old shard's partition", settled, PAIRING_MILLIS);
        }
    }

    /** Drops the restores settled without a DEL that were read more than {@link #FORGET_MILLIS} before {@code now}. */
    private void forgetSettled(long now) {
        java.util.function.Predicate<Import> forgotten = i -> i.after().isDone() && now - i.readNanos() > FORGET_MILLIS * 1_000_000L;
        synchronized (restored) {
            restored.values().removeIf(imports -> imports.removeIf(forgotten) && imports.isEmpty());
            arrived.values().removeIf(imports -> imports.removeIf(forgotten) && imports.isEmpty());
        }
    }

    /** How many restores are kept waiting for, or ready to pair with, a DEL (for tests). */
    int keptRestores() {
        synchronized (restored) {
            return restored.values().stream().mapToInt(List::size).sum();
        }
    }

    /** The restores still waiting for their DEL that were read more than {@link #PAIRING_MILLIS} before {@code now}. */
    private List<Import> unpaired(long now) {
        synchronized (restored) {
            return restored.values().stream().flatMap(List::stream)
                    .filter(i -> !i.after().isDone() && now - i.readNanos() > PAIRING_MILLIS * 1_000_000L)
                    .toList();
        }
    }

    /**
     * What the next write published from {@code shard}'s stream must be applied after: every restore read on it
     * since its previous published write (see the class comment); null when none was.
     */
    CompletableFuture<AppliedVector> movedIn(Stream shard) {
        List<Import> imports;
        synchronized (restored) {
            imports = arrived.remove(shard);
        }
        if (imports == null) {
            return null;
        }
        CompletableFuture<AppliedVector> all = CompletableFuture.completedFuture(AppliedVector.EMPTY);
        for (Import imported : imports) {
            all = all.thenCombine(imported.after(), AppliedVector::withAll);
        }
        return all;
    }

    /** A reading of {@code shard}'s master taken after the command ending at {@code endOffset} ran there. */
    private Sample sampleCovering(Stream shard, long endOffset) throws IOException {
        Sample last;
        synchronized (latest) {
            last = latest.get(shard);
        }
        return last != null && last.covers(endOffset) ? last : sample(shard);
    }

    /** A reading of {@code shard}'s master taken after {@code nanos}. */
    private Sample sampleAfter(Stream shard, long nanos) throws IOException {
        Sample last;
        synchronized (latest) {
            last = latest.get(shard);
        }
        return last != null && last.nanos() - nanos > 0 ? last : sample(shard);
    }

    private Sample sample(Stream shard) throws IOException {
        synchronized (shard) {
            long nanos = System.nanoTime();
            RedisConnection connection;
            synchronized (probes) {
                connection = probes.get(shard);
            }
            try {
                if (connection == null || !connection.endpoint().equals(shard.master())) {
                    if (connection != null) {
                        connection.close();
                    }
                    connection = RedisConnection.open(shard.master(), 5_000);
                    synchronized (probes) {
                        probes.put(shard, connection);
                    }
                }
                // one round trip, in this order: every command ending at or before the offset ran before the slot view
                connection.sendAll(List.of(new byte[][] {Argv.ascii("INFO"), Argv.ascii("replication")},
                        new byte[][] {Argv.ascii("CLUSTER"), Argv.ascii("NODES")}));
                long offset = masterOffset(text(connection.readReply()));
                Sample sample = parseMyself(nanos, offset, text(connection.readReply()));
                synchronized (latest) {
                    latest.put(shard, sample);
                }
                return sample;
            } catch (IOException | RuntimeException e) {
                if (connection != null) {
                    connection.close();
                }
                synchronized (probes) {
                    probes.remove(shard);
                }
                throw e instanceof IOException io ? io : new IOException("could not read the slots of " + shard.master() + ": " + e, e);
            }
        }
    }

    private static String text(RespMessage reply) throws IOException {
        if (reply instanceof RespMessage.BulkString bulk && bulk.bytes() != null) {
            return new String(bulk.bytes(), StandardCharsets.UTF_8);
        }
        throw new IOException("unexpected reply " + reply);
    }

    private static long masterOffset(String info) throws IOException {
        for (String line : info.split("\r?\n")) {
            if (line.startsWith("master_repl_offset:")) {
                return Long.parseLong(line.substring("master_repl_offset:".length()).trim());
            }
        }
        throw new IOException("INFO replication has no master_repl_offset");
    }

    /** The slots the answering node ("myself") serves plainly, and those it is migrating away. */
    static Sample parseMyself(long nanos, long offset, String clusterNodes) {
        BitSet served = new BitSet(HashSlot.COUNT);
        BitSet migrating = new BitSet(HashSlot.COUNT);
        java.util.Set<String> masters = new java.util.TreeSet<>();
        for (String line : clusterNodes.split("\r?\n")) {
            String[] fields = line.trim().split(" ");
            if (fields.length < 8) {
                continue;
            }
            List<String> flags = List.of(fields[2].split(","));
            if (flags.contains("master") && !flags.contains("fail") && !flags.contains("noaddr") && !flags.contains("handshake")) {
                masters.add(fields[0]);
            }
            if (!flags.contains("myself")) {
                continue;
            }
            for (int i = 8; i < fields.length; i++) {
                String range = fields[i];
                if (range.startsWith("[")) {
                    int arrow = range.indexOf("->-");
                    if (arrow > 0) {
                        migrating.set(Integer.parseInt(range.substring(1, arrow)));
                    }
                    continue;
                }
                int dash = range.indexOf('-');
                int first = Integer.parseInt(dash < 0 ? range : range.substring(0, dash));
                int last = dash < 0 ? first : Integer.parseInt(range.substring(dash + 1));
                served.set(first, last + 1);
            }
        }
        return new Sample(nanos, offset, served, migrating, masters);
    }

    void close() {
        synchronized (probes) {
            probes.values().forEach(RedisConnection::close);
            probes.clear();
        }
    }
}
