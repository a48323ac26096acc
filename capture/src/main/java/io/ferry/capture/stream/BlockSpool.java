package io.ferry.capture.stream;

import io.ferry.resp.SpilledBulk;
import io.ferry.schemas.StagedBlock;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * The commands of a MULTI/EXEC block (or of one command) too big for one record, written to a file as they arrive
 * instead of held in memory, to be published as a {@link StagedBlock}. Knows what the block's script cannot run:
 * a command Redis refuses in scripts, or one with more arguments than a script can pass on and that cannot be split
 * into equivalent smaller ones; such a block is refused (its {@link #refusal()}), never applied in part.
 *
 * <p>File layout per command: argc, then per argument its length and bytes, or {@code -1 - i} for the i-th big
 * argument (a {@link SpilledBulk} the reader spilled).
 */
public final class BlockSpool implements Closeable {

    /** Commands whose arguments after {@code prefix} are independent items of {@code stride}: split into equivalent parts. */
    private record Split(int prefix, int stride) {
    }

    private static final Map<String, Split> SPLITTABLE = Map.ofEntries(
            Map.entry("RPUSH", new Split(2, 1)), Map.entry("LPUSH", new Split(2, 1)), Map.entry("RPUSHX", new Split(2, 1)),
            Map.entry("LPUSHX", new Split(2, 1)), Map.entry("SADD", new Split(2, 1)), Map.entry("SREM", new Split(2, 1)),
            Map.entry("ZREM", new Split(2, 1)), Map.entry("HDEL", new Split(2, 1)), Map.entry("PFADD", new Split(2, 1)),
            Map.entry("DEL", new Split(1, 1)), Map.entry("UNLINK", new Split(1, 1)), Map.entry("HSET", new Split(2, 2)),
            Map.entry("HMSET", new Split(2, 2)), Map.entry("MSET", new Split(1, 2)));

    private final Path file;
    private final DataOutputStream out;
    private final List<SpilledBulk> bulks = new ArrayList<>();
    private final Map<byte[], Integer> bulkIndex = new IdentityHashMap<>();
    private long commands;
    private long bytes;
    private String refusal;

    private BlockSpool(Path file) throws IOException {
        this.file = file;
        this.out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(file), 1 << 16));
    }

    public static BlockSpool create(Path dir) {
        try {
            Files.createDirectories(dir);
            // the reader's prefix: what a killed capture left behind is removed on its next connection, like spilled values
            return new BlockSpool(Files.createTempFile(dir, io.ferry.resp.RespReader.SPILL_PREFIX + "block-", ".spool"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a spool file for a big block in " + dir, e);
        }
    }

    /** Appends one command; {@code spilled} maps its big arguments' placeholders (by identity) to their files. */
    public void write(byte[][] argv, Map<byte[], SpilledBulk> spilled) {
        String name = Argv.name(argv);
        if (StagedBlock.NOT_IN_SCRIPTS.contains(name)) {
            refuse(name + " cannot run inside a script");
        }
        if (argv.length <= StagedBlock.MAX_ARGS) {
            append(argv, spilled);
            return;
        }
        Split split = SPLITTABLE.get(name);
        if (split == null && name.equals("ZADD") && argv.length > 2 && isNumber(argv[2])) {
            split = new Split(2, 2); // no flags: score member pairs
        }
        if (split == null || (argv.length - split.prefix()) % split.stride() != 0) {
            refuse("a " + name + " of " + argv.length + " arguments is more than a script can run (at most " + StagedBlock.MAX_ARGS + ")");
            append(new byte[][] {argv[0]}, Map.of()); // counted, never run
            return;
        }
        int per = (StagedBlock.MAX_ARGS - split.prefix()) / split.stride() * split.stride();
        for (int from = split.prefix(); from < argv.length; from += per) {
            int to = Math.min(argv.length, from + per);
            byte[][] part = new byte[split.prefix() + to - from][];
            System.arraycopy(argv, 0, part, 0, split.prefix());
            System.arraycopy(argv, from, part, split.prefix(), to - from);
            append(part, spilled);
        }
    }

    private void append(byte[][] argv, Map<byte[], SpilledBulk> spilled) {
        try {
            out.writeInt(argv.length);
            for (byte[] arg : argv) {
                SpilledBulk bulk = spilled.isEmpty() ? null : spilled.get(arg);
                if (bulk != null) {
                    Integer index = bulkIndex.get(arg);
                    if (index == null) {
                        index = bulks.size();
                        bulks.add(bulk);
                        bulkIndex.put(arg, index);
                    }
                    out.writeInt(-1 - index);
                } else {
                    out.writeInt(arg.length);
                    out.write(arg);
                    bytes += arg.length;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the big block's spool file " + file, e);
        }
        commands++;
    }

    private void refuse(String reason) {
        if (refusal == null) {
            refusal = reason;
        }
    }

    /** Why the block cannot be staged, or null. */
    public String refusal() {
        return refusal;
    }

    /** Commands written so far (a split command counts its parts) and the bytes of their arguments (big ones not counted). */
    public record Totals(long commands, long bytes) {
    }

    public Totals totals() {
        return new Totals(commands, bytes);
    }

    private static boolean isNumber(byte[] arg) {
        try {
            Double.parseDouble(new String(arg, java.nio.charset.StandardCharsets.US_ASCII));
            return true;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    /** One command read back: its argv, where {@code bulks[i] >= 0} marks argument i as the big value of that index in {@link #bulks()}. */
    public record Command(byte[][] argv, int[] bulks) {
    }

    /** The big arguments, by the index {@link Command#bulks()} refers to. */
    public List<SpilledBulk> bulks() {
        return bulks;
    }

    /** Reads the commands back in order (after the last {@link #write}); the consumer gets each one. */
    public void forEach(CommandConsumer consumer) throws InterruptedException {
        try {
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the big block's spool file " + file, e);
        }
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(file), 1 << 16))) {
            for (long c = 0; c < commands; c++) {
                int argc = in.readInt();
                byte[][] argv = new byte[argc][];
                int[] big = null;
                for (int i = 0; i < argc; i++) {
                    int len = in.readInt();
                    if (len < 0) {
                        if (big == null) {
                            big = new int[argc];
                            Arrays.fill(big, -1);
                        }
                        big[i] = -1 - len;
                        argv[i] = new byte[0];
                    } else {
                        argv[i] = in.readNBytes(len);
                        if (argv[i].length != len) {
                            throw new EOFException(file + " ends early");
                        }
                    }
                }
                consumer.accept(new Command(argv, big));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read back the big block spooled to " + file, e);
        }
    }

    @FunctionalInterface
    public interface CommandConsumer {
        void accept(Command command) throws InterruptedException;
    }

    /** Deletes the file (the big arguments' files are the mapper's). */
    @Override
    public void close() {
        try {
            out.close();
        } catch (IOException ignored) {
            // deleting it anyway
        }
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            throw new UncheckedIOException("could not delete the spool file " + file, e);
        }
    }
}
