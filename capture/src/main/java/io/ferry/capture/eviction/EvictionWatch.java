package io.ferry.capture.eviction;

import io.ferry.resp.RedisConnection;
import io.ferry.resp.Role;
import io.ferry.resp.RespMessage;
import io.ferry.topology.RedisEndpoint;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells the DELs Redis propagates for keys it evicted (maxmemory) apart from users' DELs: both reach
 * the replication stream as the same {@code DEL key}, but only an eviction raises an {@code evicted}
 * keyspace event. A subscribed connection collects those events in rounds (see {@link EvictionLedger});
 * before a DEL is decided, a round that started after the DEL was read has to complete, so every
 * notification the DEL could belong to has arrived.
 *
 * <p>When the events cannot be had (notifications cannot be switched on, the connection is down, a round
 * takes too long), DELs are published: a peer then drops a key the source evicted, which a cache
 * tolerates, rather than keeping a key a user deleted.
 */
public final class EvictionWatch implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(EvictionWatch.class);
    private static final String PATTERN = "__keyevent@*__:evicted";
    private static final long IDLE_ROUND_MILLIS = 100;
    // how late the watch may learn that the source can now evict: DELs read meanwhile skip the rounds
    private static final long CONFIG_CHECK_MILLIS = 100;
    private static final long ROUND_WAIT_MILLIS = 2_000;
    private static final int TIMEOUT_MILLIS = 5_000;

    private final RedisEndpoint endpoint;
    private final EvictionLedger ledger = new EvictionLedger();
    private final Thread thread;
    private final Object rounds = new Object();
    private volatile boolean closed;
    private volatile boolean active;
    private volatile boolean attempted;
    private volatile boolean evictionPossible = true;
    private boolean possibleAtLastCheck = true;
    private volatile String inactiveReason = "not connected yet";
    // nanoTime instants, compared by difference only; both start at construction: no round is owed yet
    // (extreme sentinels like Long.MIN_VALUE overflow those differences and made the rounds spin)
    private long requestedAfterNanos; // guarded by rounds
    private long completedStartNanos; // guarded by rounds
    private boolean everActive;
    private RedisConnection commands;
    private RedisConnection events;

    public EvictionWatch(RedisEndpoint endpoint) {
        this.endpoint = endpoint;
        this.completedStartNanos = System.nanoTime();
        this.requestedAfterNanos = completedStartNanos - 1;
        this.thread = new Thread(this::run, "ferry-capture-evictions");
        thread.setDaemon(true);
        thread.start();
    }

    /** Whether evictions are being told apart right now. */
    public boolean active() {
        return active;
    }

    /** Why not, when {@link #active()} is false. */
    public String inactiveReason() {
        return inactiveReason;
    }

    /**
     * Waits up to {@code millis} for the first subscription attempt to end, so the first session does
     * not start blind; later sessions do not wait for reconnections.
     */
    public boolean awaitFirstAttempt(long millis) throws InterruptedException {
        long deadline = System.nanoTime() + millis * 1_000_000;
        while (!attempted && !closed && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        return active;
    }

    /**
     * Whether the single-key DEL/UNLINK of {@code key} at replication offsets {@code startOffset..endOffset},
     * read from the socket at {@code readNanos} ({@link System#nanoTime()}), was an eviction.
     */
    public boolean evicted(int db, byte[] key, long startOffset, long endOffset, long readNanos) throws InterruptedException {
        if (!active || (!evictionPossible && ledger.size() == 0)) {
            return false;
        }
        if (!awaitRoundStartedAfter(readNanos)) {
            log.warn("no eviction events from {} within {} ms; publishing this DEL", endpoint, ROUND_WAIT_MILLIS);
            return false;
        }
        return ledger.consume(db, key, startOffset, endOffset);
    }

    private boolean awaitRoundStartedAfter(long readNanos) throws InterruptedException {
        synchronized (rounds) {
            if (completedStartNanos - readNanos > 0) {
                return true;
            }
            requestedAfterNanos = readNanos;
            rounds.notifyAll();
            long deadline = System.nanoTime() + ROUND_WAIT_MILLIS * 1_000_000;
            while (completedStartNanos - readNanos <= 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0 || !active) {
                    return false;
                }
                rounds.wait(Math.max(1, left / 1_000_000));
            }
            return true;
        }
    }

    private void run() {
        long backoff = 500;
        while (!closed) {
            try {
                connect();
                backoff = 500;
                long lastConfigCheck = System.nanoTime();
                while (!closed) {
                    waitForRequest();
                    round();
                    if (System.nanoTime() - lastConfigCheck > CONFIG_CHECK_MILLIS * 1_000_000) {
                        lastConfigCheck = System.nanoTime();
                        if (!checkConfig()) {
                            break;
                        }
                    }
                }
            } catch (IOException | RuntimeException e) {
                if (!closed) {
                    deactivate("eviction events from " + endpoint + " unavailable: " + e.getMessage());
                }
            } catch (InterruptedException e) {
                return;
            } finally {
                attempted = true;
                disconnect();
            }
            try {
                Thread.sleep(backoff);
            } catch (InterruptedException e) {
                return;
            }
            backoff = Math.min(backoff * 2, 10_000);
        }
    }

    private void connect() throws IOException {
        commands = RedisConnection.open(endpoint, TIMEOUT_MILLIS);
        if (!checkConfig()) {
            throw new IOException(inactiveReason);
        }
        ledger.clear();
        ledger.round(roleOffset(), List.of());
        events = RedisConnection.open(endpoint, TIMEOUT_MILLIS);
        RespMessage reply = events.call("PSUBSCRIBE", PATTERN);
        if (reply instanceof RespMessage.Error error) {
            throw new IOException("PSUBSCRIBE refused: " + error.text());
        }
        active = true;
        attempted = true;
        inactiveReason = null;
        if (!everActive) {
            log.info("telling evictions on {} apart from users' DELs (keyspace events {})", endpoint, PATTERN);
        } else {
            log.info("eviction events from {} available again", endpoint);
        }
        everActive = true;
    }

    /**
     * Makes sure the source raises {@code evicted} events and learns whether it can evict at all; false
     * (and inactive) when the events cannot be switched on.
     */
    private boolean checkConfig() throws IOException {
        String flags = configGet("notify-keyspace-events");
        if (flags == null && !everActive) {
            log.warn("cannot read notify-keyspace-events on {} (CONFIG not allowed): evictions are told apart only if "
                    + "the source raises evicted events; make sure its notify-keyspace-events contains 'Ee'", endpoint);
        }
        if (flags != null && !(flags.contains("E") && (flags.contains("e") || flags.contains("A")))) {
            RespMessage set = commands.call("CONFIG", "SET", "notify-keyspace-events", flags + "Ee");
            if (set instanceof RespMessage.Error error) {
                deactivate("cannot switch on eviction events on " + endpoint + " (" + error.text() + "); DELs caused by "
                        + "eviction are published like users' DELs. Add 'Ee' to the source's notify-keyspace-events "
                        + "(now '" + flags + "') or set capture.filterEvictions: false");
                return false;
            }
            log.info("added 'Ee' to notify-keyspace-events on {} (was '{}') to see evictions", endpoint, flags);
        }
        String policy = configGet("maxmemory-policy");
        String maxmemory = configGet("maxmemory");
        // unknown (CONFIG refused): assume the source may evict. Rounds are skipped only after two checks in
        // a row found eviction off: a notification raised before the first has been collected by then.
        boolean possibleNow = policy == null || maxmemory == null || (!policy.equals("noeviction") && !maxmemory.equals("0"));
        evictionPossible = possibleNow || possibleAtLastCheck;
        possibleAtLastCheck = possibleNow;
        return true;
    }

    /** A CONFIG GET value, or null when CONFIG is not allowed. */
    private String configGet(String name) throws IOException {
        RespMessage reply = commands.call("CONFIG", "GET", name);
        // a reply of bulk strings only ([name, value]) decodes as a Command
        if (reply instanceof RespMessage.Command pair && pair.argv().length == 2) {
            return new String(pair.argv()[1], StandardCharsets.UTF_8);
        }
        return null;
    }

    private long roleOffset() throws IOException {
        Role role;
        try {
            role = Role.of(commands);
        } catch (IOException e) {
            throw new IOException(endpoint + " did not answer ROLE as expected (" + e.getMessage() + "); evictions are told apart on masters only", e);
        }
        if (!role.master()) {
            throw new IOException(endpoint + " is not a master (its ROLE is " + role.name() + "); evictions are told apart on masters only");
        }
        return role.masterOffset();
    }

    private void waitForRequest() throws InterruptedException {
        synchronized (rounds) {
            if (requestedAfterNanos - completedStartNanos < 0) {
                rounds.wait(IDLE_ROUND_MILLIS);
            }
        }
    }

    /** ROLE on one connection, then PING on the subscribed one, collecting events until the PONG. */
    private void round() throws IOException {
        long started = System.nanoTime();
        long offset = roleOffset();
        events.send("PING");
        List<EvictionLedger.Notice> notices = new ArrayList<>();
        while (true) {
            RespMessage message = events.readReply();
            if (!(message instanceof RespMessage.Command command)) {
                throw new IOException("unexpected reply on the eviction event connection: " + message);
            }
            byte[][] argv = command.argv();
            String kind = new String(argv[0], StandardCharsets.US_ASCII);
            if (kind.equals("pong")) {
                break;
            }
            if (kind.equals("pmessage") && argv.length == 4) {
                Integer db = dbOf(new String(argv[2], StandardCharsets.UTF_8));
                if (db != null) {
                    notices.add(new EvictionLedger.Notice(db, argv[3]));
                }
            }
        }
        ledger.round(offset, notices);
        synchronized (rounds) {
            completedStartNanos = started;
            rounds.notifyAll();
        }
    }

    /** The db of a {@code __keyevent@<db>__:evicted} channel. */
    static Integer dbOf(String channel) {
        int at = channel.indexOf('@');
        int end = channel.indexOf("__:", at + 1);
        if (at < 0 || end < 0) {
            return null;
        }
        try {
            return Integer.parseInt(channel.substring(at + 1, end));
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private void deactivate(String reason) {
        boolean changed = active || !reason.equals(inactiveReason);
        active = false;
        inactiveReason = reason;
        synchronized (rounds) {
            rounds.notifyAll();
        }
        if (changed) {
            log.warn("{}", reason);
        }
    }

    private void disconnect() {
        if (events != null) {
            events.close();
            events = null;
        }
        if (commands != null) {
            commands.close();
            commands = null;
        }
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        disconnect();
        active = false;
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
