package io.ferry.capture.stream;

import io.ferry.resp.SpilledBulk;
import io.ferry.schemas.EventKind;
import java.io.IOException;
import java.nio.file.Files;
import io.ferry.schemas.KeyExpiries;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns the replication stream (raw argv, in order, with end offsets) into change events: tracks the
 * selected db, groups MULTI … EXEC into one TRANSACTION, rewrites TTLs to absolute times, tells
 * expiries and evictions from user DELs, and drops what must not travel (see {@link CommandPolicy}).
 * A block that writes an apply checkpoint is dropped entirely: all of its commands came from a peer;
 * what its checkpoint says moves the applied vector every later local write carries.
 *
 * <p>Single-threaded: called by the stream reader only.
 */
public final class StreamMapper {

    private static final Logger LOG = LoggerFactory.getLogger(StreamMapper.class);

    private final StreamSink sink;
    private final KeyExtractor keyExtractor;
    private final ExpiryTracker expiries;
    private final EvictionCheck evictions;
    private final LongSupplier clock;
    private final long toleranceMillis;

    private int db;
    private long lastEndOffset;
    private Block block;
    /** A block (or command) above this many bytes is spooled to {@link #spoolDir} and published as a staged block. */
    private long spoolAbove = Long.MAX_VALUE;
    private java.nio.file.Path spoolDir;

    private static final class Block {
        final int db;
        final List<byte[][]> commands = new ArrayList<>();
        final List<byte[]> keys = new ArrayList<>();
        final List<CommandPolicy.Filter> filtered = new ArrayList<>();
        final List<CommandPolicy.Echo> checkpoints = new ArrayList<>();
        final Map<byte[], SpilledBulk> spilled = new IdentityHashMap<>();
        final long beforeOffset;
        long bytes;
        long keyBytes;
        long droppedKeys;
        BlockSpool spool;
        String echoOrigin;
        boolean hasWrite;
        long sourceTime;
        boolean republished;

        Block(int db, long beforeOffset) {
            this.db = db;
            this.beforeOffset = beforeOffset;
        }
    }

    /**
     * @param offset replication offset the stream continues after
     * @param db     db selected at that offset
     */
    public StreamMapper(StreamSink sink, KeyExtractor keyExtractor, ExpiryTracker expiries, EvictionCheck evictions,
                        LongSupplier clock, long toleranceMillis, long offset, int db) {
        this.sink = sink;
        this.keyExtractor = keyExtractor;
        this.expiries = expiries;
        this.evictions = evictions;
        this.clock = clock;
        this.toleranceMillis = toleranceMillis;
        this.lastEndOffset = offset;
        this.db = db;
    }

    public int db() {
        return db;
    }

    /**
     * Blocks (and single commands) whose arguments add up to more than {@code bytes} are written to a file in
     * {@code dir} as they arrive and published through {@link StreamSink#publishStaged}, not held in memory.
     */
    public StreamMapper spoolBlocksAbove(long bytes, java.nio.file.Path dir) {
        this.spoolAbove = bytes;
        this.spoolDir = dir;
        return this;
    }

    /** Rough bytes a command takes in a change event. */
    static long approxBytes(byte[][] argv) {
        long size = 16;
        for (byte[] arg : argv) {
            size += arg.length + 8;
        }
        return size;
    }

    private void addToBlock(byte[][] argv) {
        Block b = block;
        if (b.spool != null) {
            b.spool.write(argv, b.spilled);
            return;
        }
        b.commands.add(argv);
        b.bytes += approxBytes(argv);
        if (b.bytes > spoolAbove && spoolDir != null) {
            b.spool = BlockSpool.create(spoolDir);
            for (byte[][] command : b.commands) {
                b.spool.write(command, b.spilled);
            }
            b.commands.clear();
        }
    }

    private void addKeys(List<byte[]> keys) {
        Block b = block;
        for (byte[] key : keys) {
            // the keys an event carries must fit in it: a staged block carries the first ones only
            if (b.keyBytes + key.length + 8 > spoolAbove / 2) {
                b.droppedKeys++;
                continue;
            }
            b.keyBytes += key.length + 8;
            b.keys.add(key);
        }
    }

    /** True between MULTI and EXEC: the position must not move past the MULTI yet. */
    public boolean inBlock() {
        return block != null;
    }

    public ExpiryTracker expiries() {
        return expiries;
    }

    /** One propagated command; {@code endOffset} is the offset of its last byte. */
    public void accept(byte[][] argv, long endOffset) throws InterruptedException {
        accept(argv, Map.of(), endOffset);
    }

    /**
     * One propagated command with arguments too big to hold in {@code spilled} (see
     * {@link io.ferry.resp.RespMessage.Command#spilled()}). Their files are deleted once the command (or its
     * block) is published or dropped.
     */
    public void accept(byte[][] argv, Map<byte[], SpilledBulk> spilled, long endOffset) throws InterruptedException {
        if (block != null) {
            block.spilled.putAll(spilled);
            acceptInBlock(Argv.name(argv), argv, endOffset);
            return;
        }
        try {
            acceptAlone(argv, spilled, endOffset);
        } finally {
            if (block == null) {
                discard(spilled);
            }
        }
    }

    private void acceptAlone(byte[][] argv, Map<byte[], SpilledBulk> spilled, long endOffset) throws InterruptedException {
        String name = Argv.name(argv);
        long startOffset = lastEndOffset + 1;
        lastEndOffset = endOffset;
        switch (name) {
            case "MULTI" -> block = new Block(db, startOffset - 1);
            case "EXEC" -> sink.advance(endOffset, db); // stray EXEC: nothing open
            case "SELECT" -> {
                select(argv);
                sink.advance(endOffset, db);
            }
            default -> {
                CommandPolicy.Decision decision = decide(name, argv, startOffset, endOffset);
                if (decision instanceof CommandPolicy.Publish publish) {
                    sink.keyExpiries(liveExpiries(db, publish.keys()));
                    if (spoolDir != null && approxBytes(publish.argv()) > spoolAbove) {
                        try (BlockSpool spool = BlockSpool.create(spoolDir)) {
                            spool.write(publish.argv(), spilled);
                            sink.publishStaged(db, spool, publish.keys(), 0, startOffset - 1, endOffset, db);
                        }
                        return;
                    }
                    if (!spilled.isEmpty()) {
                        sink.spilledValues(spilled, startOffset - 1, db);
                    }
                    sink.publish(EventKind.COMMAND, db, List.<byte[][]>of(publish.argv()), publish.keys(), endOffset, db);
                    return;
                }
                if (decision instanceof CommandPolicy.Echo echo) {
                    checkpointed(echo);
                    sink.echo(echo.origin());
                } else if (decision instanceof CommandPolicy.Filter filter) {
                    sink.filtered(filter.command(), filter.reason());
                }
                sink.advance(endOffset, db);
            }
        }
    }

    private void acceptInBlock(String name, byte[][] argv, long endOffset) throws InterruptedException {
        lastEndOffset = endOffset;
        switch (name) {
            case "EXEC" -> finishBlock(endOffset);
            case "MULTI" -> {
                // not produced by Redis; keep the open block
            }
            case "SELECT" -> {
                select(argv);
                // a block spanning dbs keeps its SELECTs so the body applies where it did on the source
                addToBlock(new byte[][] {Argv.ascii("SELECT"), Argv.ascii(db)});
            }
            default -> {
                CommandPolicy.Decision decision = decide(name, argv, -1, -1);
                if (decision instanceof CommandPolicy.Publish publish) {
                    addToBlock(publish.argv());
                    addKeys(publish.keys());
                    block.hasWrite = true;
                } else if (decision instanceof CommandPolicy.Echo echo) {
                    block.echoOrigin = echo.origin();
                    block.checkpoints.add(echo);
                } else if (decision instanceof CommandPolicy.SourceTime time) {
                    block.sourceTime = time.millis();
                    block.republished = time.republished();
                } else if (decision instanceof CommandPolicy.Filter filter) {
                    block.filtered.add(filter);
                }
            }
        }
    }

    private void finishBlock(long endOffset) throws InterruptedException {
        Block done = block;
        block = null;
        try {
            finishBlock(done, endOffset);
        } finally {
            if (done.spool != null) {
                done.spool.close();
            }
            discard(done.spilled);
        }
    }

    private void finishBlock(Block done, long endOffset) throws InterruptedException {
        if (done.echoOrigin != null) {
            // EXEC is atomic: every local write before it saw none of the block, every one after sees all of it
            done.checkpoints.forEach(this::checkpointed);
            sink.echo(done.echoOrigin);
            sink.advance(endOffset, db);
            return;
        }
        for (CommandPolicy.Filter filter : done.filtered) {
            sink.filtered(filter.command(), filter.reason());
        }
        if (!done.hasWrite) {
            sink.advance(endOffset, db);
            return;
        }
        EventKind kind = done.commands.size() == 1 ? EventKind.COMMAND : EventKind.TRANSACTION;
        if (done.sourceTime > 0) {
            sink.sourceTime(done.sourceTime, done.republished);
        }
        sink.keyExpiries(liveExpiries(done.db, done.keys));
        if (done.spool != null) {
            sink.publishStaged(done.db, done.spool, done.keys, done.droppedKeys, done.beforeOffset, endOffset, db);
            return;
        }
        if (!done.spilled.isEmpty()) {
            sink.spilledValues(done.spilled, done.beforeOffset, done.db);
        }
        sink.publish(kind, done.db, done.commands, done.keys, endOffset, db);
    }

    /** Deletes the spill files of a command that is not published. */
    public static void discard(Map<byte[], SpilledBulk> spilled) {
        for (SpilledBulk value : spilled.values()) {
            try {
                Files.deleteIfExists(value.file());
            } catch (IOException e) {
                LOG.warn("could not delete the spill file {}: {}", value.file(), e.getMessage());
            }
        }
    }

    /** The TTLs the source's copies of {@code keys} surely have after the event (none for a block that changed db). */
    private KeyExpiries liveExpiries(int eventDb, List<byte[]> keys) {
        if (eventDb != db || expiries.size() == 0) {
            return KeyExpiries.NONE;
        }
        long now = clock.getAsLong();
        Map<Integer, Long> byIndex = null;
        for (int i = 0; i < keys.size(); i++) {
            Long at = expiries.liveExpiry(eventDb, keys.get(i), now);
            if (at != null) {
                if (byIndex == null) {
                    byIndex = new HashMap<>();
                }
                byIndex.put(i, at);
            }
        }
        return byIndex == null ? KeyExpiries.NONE : KeyExpiries.of(byIndex);
    }

    /**
     * Decides one command and records its effect on TTLs (whether published or not). Offsets are -1
     * inside a block: Redis propagates expiries and evictions as standalone DELs.
     */
    private CommandPolicy.Decision decide(String name, byte[][] argv, long startOffset, long endOffset)
            throws InterruptedException {
        byte[][] absolute = TtlMapper.toAbsolute(argv, clock.getAsLong());
        List<byte[]> keys = keyExtractor.keys(absolute);
        CommandPolicy.SourceDeletion deletion = null;
        if ((name.equals("DEL") || name.equals("UNLINK")) && !keys.isEmpty()) {
            long now = clock.getAsLong();
            boolean expired = true;
            for (byte[] key : keys) {
                expired &= expiries.hasExpired(db, key, now, toleranceMillis);
            }
            if (expired) {
                deletion = CommandPolicy.SourceDeletion.EXPIRED;
            } else if (argv.length == 2 && startOffset >= 0 && evictions.evicted(db, keys.get(0), startOffset, endOffset)) {
                deletion = CommandPolicy.SourceDeletion.EVICTED;
            }
        }
        expiries.observe(db, absolute);
        return CommandPolicy.decide(Argv.name(absolute), absolute, keys, deletion);
    }

    private void checkpointed(CommandPolicy.Echo echo) {
        if (echo.offset() >= 0) {
            sink.applied(echo.origin(), echo.partition(), echo.offset());
        }
    }

    private void select(byte[][] argv) {
        Long n = argv.length > 1 ? Argv.number(argv[1]) : null;
        if (n != null) {
            db = n.intValue();
        }
    }
}
