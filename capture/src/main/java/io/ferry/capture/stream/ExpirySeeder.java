package io.ferry.capture.stream;

import io.ferry.resp.RedisConnection;
import io.ferry.resp.RespMessage;
import io.ferry.topology.RedisEndpoint;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fills an empty {@link ExpiryTracker} from the live keyspace before a capture resumes with
 * +CONTINUE: the stream it resumes does not repeat the TTLs set before its position, and without them
 * a later expiry would look like a user's DEL. Only dbs that INFO keyspace reports with volatile keys
 * are scanned; each key's absolute expiry comes from PEXPIRETIME (Redis 7) or now + PTTL (6.2).
 * The resumed stream then replays every later change on top.
 */
public final class ExpirySeeder {

    private static final Logger log = LoggerFactory.getLogger(ExpirySeeder.class);

    private ExpirySeeder() {
    }

    /** Returns how many volatile keys were tracked. */
    public static long seed(RedisEndpoint endpoint, ExpiryTracker tracker, LongSupplier clock) throws IOException {
        long seeded = 0;
        long started = System.nanoTime();
        try (RedisConnection conn = RedisConnection.open(endpoint, 10_000)) {
            boolean hasExpireTime = conn.call("COMMAND", "INFO", "PEXPIRETIME") instanceof RespMessage.Array info
                    && !info.items().isEmpty() && info.items().get(0) != null;
            for (Map.Entry<Integer, Long> db : volatileDbs(conn).entrySet()) {
                if (!(conn.call("SELECT", Integer.toString(db.getKey())) instanceof RespMessage.Simple)) {
                    continue;
                }
                String cursor = "0";
                do {
                    RespMessage reply = conn.call("SCAN", cursor, "COUNT", "1000");
                    if (!(reply instanceof RespMessage.Array page) || page.items().size() != 2) {
                        throw new IOException("unexpected SCAN reply " + reply);
                    }
                    cursor = new String((byte[]) page.items().get(0), StandardCharsets.US_ASCII);
                    @SuppressWarnings("unchecked")
                    List<Object> keys = (List<Object>) page.items().get(1);
                    List<byte[][]> queries = new ArrayList<>(keys.size());
                    for (Object key : keys) {
                        queries.add(new byte[][] {Argv.ascii(hasExpireTime ? "PEXPIRETIME" : "PTTL"), (byte[]) key});
                    }
                    conn.sendAll(queries);
                    long now = clock.getAsLong();
                    for (Object key : keys) {
                        if (conn.readReply() instanceof RespMessage.Integer value && value.value() >= 0) {
                            tracker.expireAt(db.getKey(), (byte[]) key, hasExpireTime ? value.value() : now + value.value());
                            seeded++;
                        }
                    }
                } while (!cursor.equals("0"));
            }
        }
        log.info("tracked {} volatile keys from {} in {} ms (tells expiries from user DELs after the resume)", seeded, endpoint,
                (System.nanoTime() - started) / 1_000_000);
        return seeded;
    }

    /** db number → volatile keys, from INFO keyspace lines like {@code db0:keys=10,expires=2,avg_ttl=0}. */
    static Map<Integer, Long> volatileDbs(RedisConnection conn) throws IOException {
        Map<Integer, Long> dbs = new TreeMap<>();
        if (!(conn.call("INFO", "keyspace") instanceof RespMessage.BulkString bulk) || bulk.bytes() == null) {
            return dbs;
        }
        for (String line : new String(bulk.bytes(), StandardCharsets.UTF_8).split("\r?\n")) {
            if (!line.startsWith("db")) {
                continue;
            }
            int colon = line.indexOf(':');
            int at = line.indexOf("expires=");
            if (colon < 0 || at < 0) {
                continue;
            }
            int end = line.indexOf(',', at);
            long expires = Long.parseLong(line.substring(at + 8, end < 0 ? line.length() : end));
            if (expires > 0) {
                dbs.put(Integer.parseInt(line.substring(2, colon)), expires);
            }
        }
        return dbs;
    }
}
