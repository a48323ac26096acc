package io.ferry.capture.psync;

import io.ferry.capture.stream.KeyExtractor;
import io.ferry.resp.RedisConnection;
import io.ferry.resp.RedisReplyException;
import io.ferry.resp.RespMessage;
import io.ferry.resp.RespProtocolException;
import io.ferry.resp.RespReader;
import io.ferry.resp.SpilledBulk;
import io.ferry.topology.RedisEndpoint;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ferry's replica side of the Redis replication protocol: handshake, {@code PSYNC replid offset+1}
 * (or {@code PSYNC ? -1}), the RDB transfer (sized or EOF-marked, spooled to a file) and then the
 * command stream, decoded as raw argv with every byte counted so offsets are exact. Acknowledges its
 * offset every second and whenever the master asks (REPLCONF GETACK). One instance per connection.
 */
public final class PsyncClient implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(PsyncClient.class);

    public enum SyncMode { CONTINUE, FULLRESYNC }

    /** What the stream delivers; called on the reading thread, in stream order. */
    public interface Listener {
        /** The master continues from the requested offset; {@code replid} may be new (failover). */
        void onContinue(String replid, long offset) throws Exception;

        /** The master sent a full copy, spooled to {@code rdb}; the stream continues from {@code offset}. */
        void onFullResync(String replid, long offset, Path rdb) throws Exception;

        /**
         * One propagated command; {@code endOffset} is the replication offset of its last byte. Arguments
         * above the spill threshold ({@link #spillValuesAbove}) are in {@code spilled}, keyed by their empty
         * placeholders in {@code argv}; the listener owns (deletes) their files.
         */
        void onCommand(byte[][] argv, Map<byte[], SpilledBulk> spilled, long endOffset) throws Exception;
    }

    private final RedisEndpoint endpoint;
    private final Path spoolDir;
    private final int timeoutMillis;
    private volatile RedisConnection connection;
    private volatile long offset = -1;
    private volatile boolean closed;
    private KeyExtractor keyExtractor = KeyExtractor.withoutMetadata();
    private long lastReadNanos;
    private ScheduledExecutorService acks;
    private long spillAbove = Long.MAX_VALUE;
    private Path spillDir;

    /** The node this client replicates from. */
    public RedisEndpoint endpoint() {
        return endpoint;
    }

    public PsyncClient(RedisEndpoint endpoint, Path spoolDir, int timeoutMillis) {
        this.endpoint = endpoint;
        this.spoolDir = spoolDir;
        this.timeoutMillis = timeoutMillis;
    }

    /**
     * Arguments of propagated commands longer than {@code threshold} bytes are written to files in {@code dir}
     * as they arrive instead of being held in memory (a 512 MB SET must not need 512 MB of heap). The directory
     * is this source's own: spill files a killed reader left there are deleted when the stream starts.
     */
    /** Where big values (and big blocks) are spilled; null when nothing is. */
    public Path spillDirectory() {
        return spillDir;
    }

    public PsyncClient spillValuesAbove(long threshold, Path dir) {
        this.spillAbove = threshold;
        this.spillDir = dir;
        return this;
    }

    /**
     * {@link System#nanoTime()} just after the latest read from the replication socket: every command
     * handed to the listener so far had been propagated by then.
     */
    public long lastReadNanos() {
        return lastReadNanos;
    }

    /** Key positions from the source's COMMAND table, read during the handshake. */
    public KeyExtractor keyExtractor() {
        return keyExtractor;
    }

    /** Offset of the last byte read from the stream. */
    public long offset() {
        return offset;
    }

    /**
     * Connects, synchronises and reads the stream until the connection fails or {@link #close()}.
     *
     * @param replid    replication id to resume, null for a first start
     * @param lastOffset offset of the last byte already captured (ignored when replid is null)
     */
    public void run(String replid, long lastOffset, Listener listener) throws Exception {
        RedisConnection conn = RedisConnection.open(endpoint, timeoutMillis);
        connection = conn;
        if (closed) {
            conn.close();
            throw new InterruptedIOException("closed");
        }
        try {
            readCommandTable(conn);
            expectOk(conn.call("REPLCONF", "listening-port", String.valueOf(conn.localPort())), "REPLCONF listening-port");
            expectOk(conn.call("REPLCONF", "capa", "eof", "capa", "psync2"), "REPLCONF capa");
            String[] request = replid == null ? new String[] {"PSYNC", "?", "-1"}
                    : new String[] {"PSYNC", replid, Long.toString(lastOffset + 1)};
            conn.setReadTimeout(Math.max(timeoutMillis, 60_000));
            RespMessage reply = conn.call(request);
            if (!(reply instanceof RespMessage.Simple simple)) {
                throw new RedisReplyException(endpoint + " refused " + String.join(" ", request) + ": "
                        + (reply instanceof RespMessage.Error e ? e.text() : reply));
            }
            String[] words = simple.text().split(" ");
            if (words[0].equals("CONTINUE")) {
                String newReplid = words.length > 1 ? words[1] : replid;
                offset = lastOffset;
                startAcks(conn);
                listener.onContinue(newReplid, lastOffset);
            } else if (words[0].equals("FULLRESYNC") && words.length == 3) {
                long start = Long.parseLong(words[2]);
                Path rdb = receiveRdb(conn);
                try {
                    offset = start;
                    startAcks(conn);
                    sendAck(conn); // a diskless master puts the replica online on its first ACK
                    listener.onFullResync(words[1], start, rdb);
                } finally {
                    Files.deleteIfExists(rdb);
                }
            } else {
                throw new RedisReplyException("unexpected PSYNC reply from " + endpoint + ": +" + simple.text());
            }
            stream(conn, listener);
        } finally {
            close();
        }
    }

    private void readCommandTable(RedisConnection conn) throws IOException {
        RespMessage reply = conn.call("COMMAND");
        if (reply instanceof RespMessage.Array table) {
            keyExtractor = KeyExtractor.fromCommandReply(table.items());
        } else {
            log.warn("COMMAND not allowed on {} ({}); taking the first argument of each command as its key",
                    endpoint, reply instanceof RespMessage.Error e ? e.text() : reply);
        }
    }

    private Path receiveRdb(RedisConnection conn) throws IOException {
        RespReader reader = conn.reader();
        String header;
        while (true) {
            header = reader.nextLine();
            if (header != null && !header.isEmpty()) {
                break;
            }
            if (header == null && conn.fill() < 0) {
                throw new IOException(endpoint + " closed the connection before sending the RDB");
            }
        }
        if (!header.startsWith("$")) {
            throw new RespProtocolException("expected the RDB bulk header, got '" + header + "'");
        }
        Files.createDirectories(spoolDir);
        Path file = Files.createTempFile(spoolDir, "ferry-sync-", ".rdb");
        long bytes = 0;
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16)) {
            if (header.startsWith("$EOF:")) {
                byte[] mark = header.substring(5).getBytes(StandardCharsets.ISO_8859_1);
                while (!reader.drainUntilMark(out, mark)) {
                    if (conn.fill() < 0) {
                        throw new IOException(endpoint + " closed the connection during the RDB transfer");
                    }
                }
            } else {
                long remaining = Long.parseLong(header.substring(1));
                while (remaining > 0) {
                    if (reader.buffered() == 0 && conn.fill() < 0) {
                        throw new IOException(endpoint + " closed the connection during the RDB transfer");
                    }
                    remaining -= reader.drainTo(out, remaining);
                }
            }
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(file);
            throw e;
        }
        bytes = Files.size(file);
        log.info("received a {} byte RDB from {}", bytes, endpoint);
        return file;
    }

    private void stream(RedisConnection conn, Listener listener) throws Exception {
        RespReader reader = conn.reader();
        if (spillDir != null) {
            removeSpillFiles(spillDir);
            reader.spillBulkAbove(spillAbove, spillDir);
        }
        long position = offset;
        lastReadNanos = System.nanoTime();
        while (!closed) {
            RespMessage message = reader.next();
            if (message == null) {
                if (conn.fill() < 0) {
                    throw new IOException(endpoint + " closed the replication connection");
                }
                lastReadNanos = System.nanoTime();
                continue;
            }
            if (message instanceof RespMessage.Command command) {
                position += command.wireBytes();
                offset = position;
                byte[][] argv = command.argv();
                if (argv.length >= 2 && isReplconf(argv[0]) && isGetack(argv[1])) {
                    sendAck(conn);
                }
                listener.onCommand(argv, command.spilled(), position);
            } else if (!(message instanceof RespMessage.Newline)) {
                throw new RespProtocolException("unexpected " + message.getClass().getSimpleName() + " in the replication stream");
            }
        }
    }

    /** Spill files a killed reader left behind (each stream's are deleted once published). */
    private static void removeSpillFiles(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return;
        }
        try (var files = Files.newDirectoryStream(dir, RespReader.SPILL_PREFIX + "*")) {
            for (Path file : files) {
                Files.deleteIfExists(file);
            }
        }
    }

    private static boolean isReplconf(byte[] name) {
        return name.length == 8 && new String(name, StandardCharsets.ISO_8859_1).equalsIgnoreCase("REPLCONF");
    }

    private static boolean isGetack(byte[] arg) {
        return arg.length == 6 && new String(arg, StandardCharsets.ISO_8859_1).equalsIgnoreCase("GETACK");
    }

    private void startAcks(RedisConnection conn) {
        acks = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "ferry-capture-ack");
            t.setDaemon(true);
            return t;
        });
        acks.scheduleAtFixedRate(() -> {
            try {
                sendAck(conn);
            } catch (IOException e) {
                log.debug("ACK to {} failed: {}", endpoint, e.getMessage());
            }
        }, 1, 1, TimeUnit.SECONDS);
    }

    private void sendAck(RedisConnection conn) throws IOException {
        conn.send("REPLCONF", "ACK", Long.toString(offset));
    }

    private static void expectOk(RespMessage reply, String step) throws RedisReplyException {
        if (reply instanceof RespMessage.Error error) {
            throw new RedisReplyException(step + " refused: " + error.text());
        }
    }

    /** Stops reading: closes the socket, so a blocked read returns at once. */
    @Override
    public void close() {
        closed = true;
        if (acks != null) {
            acks.shutdownNow();
        }
        RedisConnection conn = connection;
        if (conn != null) {
            conn.close();
        }
    }

    public boolean isClosed() {
        return closed;
    }

}
