package io.ferry.capture.publish;

import io.ferry.capture.CaptureMetrics;
import io.ferry.capture.stream.Argv;
import io.ferry.capture.stream.BlockSpool;
import io.ferry.capture.stream.StreamSink;
import io.ferry.resp.SpilledBulk;
import io.ferry.schemas.AppliedVector;
import io.ferry.schemas.ChangeEvent;
import io.ferry.schemas.Command;
import io.ferry.schemas.EventKind;
import io.ferry.schemas.KeyExpiries;
import io.ferry.schemas.ReplicationPolicy;
import io.ferry.schemas.SourcePosition;
import io.ferry.schemas.StagedBlock;
import io.ferry.schemas.StagedCommand;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The reader's end of the {@link Outbox}: turns what the stream mapper decided into change events
 * (origin, position with the current replid, capture time) and counts what was filtered.
 */
public final class OutboxSink implements StreamSink {

    private static final Logger log = LoggerFactory.getLogger(OutboxSink.class);
    private static final long FILTER_LOG_INTERVAL_NANOS = 10_000_000_000L;
    private static final int PER_BUFFER = 72;

    private final String origin;
    private final Outbox outbox;
    private final BooleanSupplier stopped;
    private final CaptureMetrics metrics;
    private volatile String replid;
    /** What the local apply agent had checkpointed at the current stream position. */
    private AppliedVector applied = AppliedVector.EMPTY;
    /** Source time of the next published event when it is a repair; 0 otherwise. */
    private long nextSourceTime;
    /** Whether the next published event is a re-publication after a resync. */
    private boolean nextRepublished;
    private KeyExpiries nextExpiries = KeyExpiries.NONE;
    /** What the next published event must be applied after on the instance's other partitions; null for most. */
    private CompletableFuture<AppliedVector> nextOrderAfter;
    /** While a snapshot after a full resync of a running source is put: the position committed before it. */
    private String resyncOf;
    private long lastFilterLog;
    private long filteredSinceLog;
    private final int shard;
    private final int maxRecordBytes;
    /** Big arguments of the next published event (by placeholder) and the position before it. */
    private Map<byte[], SpilledBulk> nextSpilled = Map.of();
    private SourcePosition beforeSpilled;

    /**
     * @param shard          the source shard (partition) this sink publishes for; part of stage key names
     * @param maxRecordBytes what one change event may carry; bigger arguments travel as staged chunks
     */
    public OutboxSink(String origin, int shard, int maxRecordBytes, Outbox outbox, BooleanSupplier stopped, CaptureMetrics metrics) {
        this.origin = origin;
        this.shard = shard;
        this.maxRecordBytes = maxRecordBytes;
        this.outbox = outbox;
        this.stopped = stopped;
        this.metrics = metrics;
    }

    /** Replication id positions are stamped with (changes on full resync and failover). */
    public void replid(String replid) {
        this.replid = replid;
    }

    public String replid() {
        return replid;
    }

    public SourcePosition position(long offset, int db) {
        return new SourcePosition(replid, offset, db);
    }

    /** What the local apply agent had checkpointed at the current stream position. */
    public AppliedVector applied() {
        return applied;
    }

    /** Where the stream starts: the vector stored with the resume position (empty on a first start). */
    public void startApplied(AppliedVector vector) {
        this.applied = vector;
    }

    /**
     * Marks the snapshot events put from now on as the whole state of a running source after a full resync
     * ({@code ferry.resync} header, value {@code previous}'s {@code replid:offset}); null ends the marking.
     */
    public void resyncOf(SourcePosition previous) {
        this.resyncOf = previous == null ? null : previous.getReplid() + ":" + previous.getOffset();
    }

    public void put(ChangeEvent event, boolean resumable) throws InterruptedException {
        CompletableFuture<AppliedVector> orderAfter = nextOrderAfter; // a snapshot key's (see orderNextAfter)
        nextOrderAfter = null;
        put(event, KeyExpiries.NONE, resumable, orderAfter, false);
    }

    private void put(ChangeEvent event, KeyExpiries expiries, boolean resumable, CompletableFuture<AppliedVector> orderAfter,
                     boolean republished) throws InterruptedException {
        outbox.put(new Outbox.Event(event, applied, expiries, resumable, approxBytes(event), resyncOf, orderAfter, republished),
                stopped);
    }

    /**
     * The next published event must be applied after {@code entries} of the instance's other partitions
     * (see {@link Outbox.Event#orderAfter}); null: nothing to wait for.
     */
    public void orderNextAfter(CompletableFuture<AppliedVector> entries) {
        nextOrderAfter = entries;
    }

    /**
     * Marks the current point of the stream (see {@link Outbox.Mark}): the returned offset covers every record
     * put so far. Called on the reader's thread, between the entries it puts.
     */
    public CompletableFuture<Long> mark() throws InterruptedException {
        CompletableFuture<Long> committedOffset = new CompletableFuture<>();
        outbox.put(new Outbox.Mark(committedOffset), stopped);
        return committedOffset;
    }

    /**
     * Heap bytes an event holds (arguments, keys, chunk data) plus a fixed overhead: each argument and key costs its
     * bytes plus {@link #PER_BUFFER} (its ByteBuffer, array header and list slot), which dominates for the many tiny
     * arguments of a staged block's chunks.
     */
    static int approxBytes(ChangeEvent event) {
        long size = 128;
        for (Command command : event.getCommands()) {
            size += 16;
            for (ByteBuffer arg : command.getArgs()) {
                size += arg.remaining() + PER_BUFFER;
            }
        }
        for (ByteBuffer key : event.getKeys()) {
            size += key.remaining() + PER_BUFFER;
        }
        if (event.getChunk() != null) {
            size += event.getChunk().getData().remaining() + event.getChunk().getKey().remaining();
        }
        return (int) Math.min(Integer.MAX_VALUE, size);
    }

    @Override
    public void spilledValues(Map<byte[], SpilledBulk> values, long beforeOffset, int beforeDb) {
        nextSpilled = values;
        beforeSpilled = position(beforeOffset, beforeDb);
    }

    @Override
    public void publish(EventKind kind, int db, List<byte[][]> commands, List<byte[]> keys, long endOffset, int endDb)
            throws InterruptedException {
        if (!nextSpilled.isEmpty()) {
            Map<byte[], SpilledBulk> spilled = nextSpilled;
            nextSpilled = Map.of();
            commands = stage(db, commands, spilled);
        }
        List<Command> body = new ArrayList<>(commands.size());
        for (byte[][] argv : commands) {
            List<ByteBuffer> args = new ArrayList<>(argv.length - 1);
            for (int i = 1; i < argv.length; i++) {
                args.add(ByteBuffer.wrap(argv[i]));
            }
            body.add(new Command(Argv.name(argv), args));
        }
        List<ByteBuffer> keyBuffers = new ArrayList<>(keys.size());
        for (byte[] key : keys) {
            keyBuffers.add(ByteBuffer.wrap(key));
        }
        Instant time = nextSourceTime > 0 ? Instant.ofEpochMilli(nextSourceTime) : Instant.now();
        boolean republished = nextRepublished;
        nextSourceTime = 0;
        nextRepublished = false;
        KeyExpiries expiries = nextExpiries;
        nextExpiries = KeyExpiries.NONE;
        CompletableFuture<AppliedVector> orderAfter = nextOrderAfter;
        nextOrderAfter = null;
        ChangeEvent event = new ChangeEvent(origin, position(endOffset, endDb), kind, db, body, keyBuffers, time, null, null);
        put(event, expiries, true, orderAfter, republished);
    }

    /**
     * Publishes every spilled argument of {@code commands} as chunk events (not resumable: they carry the
     * position before the command, so no commit passes it before the command's own event) and returns the
     * commands with each such one replaced by the EVAL that runs it from its stages.
     */
    private List<byte[][]> stage(int db, List<byte[][]> commands, Map<byte[], SpilledBulk> spilled) throws InterruptedException {
        List<byte[][]> staged = new ArrayList<>(commands.size());
        int n = 0;
        int commandDb = db; // a block that spans dbs keeps its SELECTs: each stage goes where its command runs
        for (byte[][] argv : commands) {
            if (Argv.name(argv).equals("SELECT") && argv.length > 1 && Argv.number(argv[1]) != null) {
                commandDb = Argv.number(argv[1]).intValue();
            }
            List<Integer> positions = StagedCommandMapper.spilledPositions(argv, spilled);
            if (positions.isEmpty()) {
                staged.add(argv);
                continue;
            }
            byte[] key = argv.length > 1 && !spilled.containsKey(argv[1]) ? argv[1] : new byte[0];
            List<StagedCommand.Stage> stages = new ArrayList<>();
            for (int position : positions) {
                SpilledBulk value = spilled.get(argv[position]);
                byte[] stageKey = ReplicationPolicy.stageKey(origin, shard, n++, key);
                putChunks(commandDb, stageKey, value);
                stages.add(new StagedCommand.Stage(position, value.length(), stageKey));
            }
            staged.add(StagedCommand.eval(argv, stages));
        }
        return staged;
    }

    @Override
    public void publishStaged(int db, BlockSpool spool, List<byte[]> keys, long droppedKeys, long beforeOffset, long endOffset,
                              int endDb) throws InterruptedException {
        beforeSpilled = position(beforeOffset, db);
        nextSpilled = Map.of();
        if (spool.refusal() != null) {
            String reason = "a change of " + spool.totals().commands() + " command(s) and " + spool.totals().bytes() + " bytes at " + origin + " "
                    + position(endOffset, endDb) + " is too big for one record and cannot be staged: " + spool.refusal()
                    + "; not applied (raise capture.maxRecordBytes above its size to send it whole)";
            log.warn("not sent, peers dead-letter it: {}", reason);
            metrics.refusedBlock();
            publish(EventKind.COMMAND, db, List.<byte[][]>of(StagedBlock.refusal(reason)), List.of(), endOffset, endDb);
            return;
        }
        byte[] tagKey = keys.isEmpty() ? new byte[0] : keys.get(0);
        int n = spool.bulks().size();
        byte[][] bulkStages = new byte[n][];
        byte[] listKey = ReplicationPolicy.stageKey(origin, shard, n, tagKey);
        int chunkBytes = StagedCommandMapper.chunkBytes(maxRecordBytes, listKey);
        StagedBlock.Packer packer = new StagedBlock.Packer(Math.min(StagedBlock.ELEMENT_BYTES, chunkBytes / 2));
        List<byte[]> elements = new ArrayList<>();
        long[] pending = {0, 0}; // bytes in elements, chunks put
        int[] commandDb = {db};
        spool.forEach(command -> {
            byte[][] argv = command.argv();
            if (Argv.name(argv).equals("SELECT") && argv.length > 1 && Argv.number(argv[1]) != null) {
                commandDb[0] = Argv.number(argv[1]).intValue();
            }
            long[] staged = new long[0];
            if (command.bulks() != null) {
                List<Long> marks = new ArrayList<>();
                for (int i = 0; i < argv.length; i++) {
                    int index = command.bulks()[i];
                    if (index < 0) {
                        continue;
                    }
                    SpilledBulk value = spool.bulks().get(index);
                    if (bulkStages[index] == null) {
                        bulkStages[index] = ReplicationPolicy.stageKey(origin, shard, index, tagKey);
                        putChunks(commandDb[0], bulkStages[index], value);
                    }
                    argv[i] = bulkStages[index];
                    marks.add((long) i + 1);
                    marks.add(value.length());
                }
                staged = marks.stream().mapToLong(Long::longValue).toArray();
            }
            addElement(db, listKey, elements, pending, chunkBytes, packer.add(StagedBlock.header(argv.length, staged)));
            for (byte[] arg : argv) {
                addElement(db, listKey, elements, pending, chunkBytes, packer.add(arg));
            }
        });
        addElement(db, listKey, elements, pending, chunkBytes, packer.finish());
        if (!elements.isEmpty()) {
            putListChunk(db, listKey, elements, pending);
        }
        metrics.stagedBlock();
        if (droppedKeys > 0) {
            log.info("a staged block of {} command(s) at {} touches {} more key(s) than its event carries: conflict detection sees"
                    + " the first {} only", spool.totals().commands(), position(endOffset, endDb), droppedKeys, keys.size());
        }
        publish(EventKind.COMMAND, db, List.<byte[][]>of(StagedBlock.eval(listKey, packer.elements(), spool.totals().commands(), db)), keys,
                endOffset, endDb);
    }

    private void addElement(int db, byte[] listKey, List<byte[]> elements, long[] pending, int chunkBytes, byte[] element)
            throws InterruptedException {
        if (element == null) {
            return;
        }
        if (!elements.isEmpty() && pending[0] + element.length + 8 > chunkBytes) {
            putListChunk(db, listKey, elements, pending);
        }
        elements.add(element);
        pending[0] += element.length + 8;
    }

    /** One chunk of a staged block: the first starts the list over (a block published again from its start), the next ones append. */
    private void putListChunk(int db, byte[] listKey, List<byte[]> elements, long[] pending) throws InterruptedException {
        List<ByteBuffer> args = new ArrayList<>(elements.size() + 1);
        args.add(ByteBuffer.wrap(listKey));
        for (byte[] element : elements) {
            args.add(ByteBuffer.wrap(element));
        }
        List<Command> commands = pending[1] == 0
                ? List.of(new Command("DEL", List.of(ByteBuffer.wrap(listKey))), new Command("RPUSH", args))
                : List.of(new Command("RPUSH", args));
        ChangeEvent event = new ChangeEvent(origin, beforeSpilled, commands.size() == 1 ? EventKind.COMMAND : EventKind.TRANSACTION,
                db, commands, List.of(), Instant.now(), null, null);
        put(event, false);
        elements.clear();
        pending[0] = 0;
        pending[1]++;
    }

    private void putChunks(int db, byte[] stageKey, SpilledBulk value) throws InterruptedException {
        int size = StagedCommandMapper.chunkBytes(maxRecordBytes, stageKey);
        try (InputStream in = Files.newInputStream(value.file())) {
            long left = value.length();
            for (int index = 0; left > 0; index++) {
                byte[] data = in.readNBytes((int) Math.min(size, left));
                if (data.length == 0) {
                    throw new UncheckedIOException(new EOFException(value.file() + " ends " + left + " bytes early"));
                }
                left -= data.length;
                byte[][] argv = StagedCommand.chunk(stageKey, index, data);
                List<ByteBuffer> args = List.of(ByteBuffer.wrap(argv[1]), ByteBuffer.wrap(argv[2]));
                ChangeEvent event = new ChangeEvent(origin, beforeSpilled, EventKind.COMMAND, db,
                        List.of(new Command(Argv.name(argv), args)), List.of(), Instant.now(), null, null);
                put(event, false);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read back the big value spilled to " + value.file(), e);
        }
        metrics.stagedValue(value.length());
    }

    @Override
    public void advance(long endOffset, int endDb) throws InterruptedException {
        outbox.put(new Outbox.Advance(position(endOffset, endDb), applied), stopped);
    }

    @Override
    public void sourceTime(long millis, boolean republished) {
        nextSourceTime = millis;
        nextRepublished = republished;
    }

    @Override
    public void keyExpiries(KeyExpiries expiries) {
        nextExpiries = expiries;
    }

    @Override
    public void applied(String origin, int partition, long offset) {
        applied = applied.with(origin, partition, offset);
    }

    @Override
    public void filtered(String command, String reason) {
        metrics.filtered(command, reason);
        filteredSinceLog++;
        long now = System.nanoTime();
        if (log.isDebugEnabled()) {
            log.debug("not published: {} ({})", command, reason);
        } else if (!command.equals("PING") && !command.equals("REPLCONF") && now - lastFilterLog > FILTER_LOG_INTERVAL_NANOS) {
            log.info("not published: {} ({}); {} commands filtered since the last such line", command, reason, filteredSinceLog);
            lastFilterLog = now;
            filteredSinceLog = 0;
        }
    }

    @Override
    public void echo(String origin) {
        metrics.echo(origin);
    }
}
