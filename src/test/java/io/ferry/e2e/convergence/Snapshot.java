package io.ferry.e2e.convergence;

import io.ferry.schemas.ReplicationPolicy;
import io.lettuce.core.KeyScanCursor;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.ScoredValue;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The keys of one instance under a prefix, each with its type, its content as a value that compares
 * the way Redis means it (sets and hashes without order, sorted sets as member to score, lists in
 * order) and its absolute expiry. Keys under {@code __ferry:} are Ferry's own and left out.
 */
record Snapshot(Map<String, Value> keys) {

    /** Scores of one member may differ by this much, relative, when float increments were applied in another order. */
    static final double SCORE_TOLERANCE = 1e-9;
    /** Expiries are absolute (PEXPIRETIME) and may differ by this much. */
    static final long EXPIRY_SLACK_MILLIS = 1000;

    /** One key. {@code expireAtMillis} is -1 when the key does not expire. */
    record Value(String type, Object content, long expireAtMillis) {

        boolean sameAs(Value other) {
            if (other == null || !type.equals(other.type)) {
                return false;
            }
            if ((expireAtMillis < 0) != (other.expireAtMillis < 0)
                    || Math.abs(expireAtMillis - other.expireAtMillis) > EXPIRY_SLACK_MILLIS) {
                return false;
            }
            if (!"zset".equals(type)) {
                return Objects.equals(content, other.content);
            }
            @SuppressWarnings("unchecked")
            Map<String, Double> mine = (Map<String, Double>) content;
            @SuppressWarnings("unchecked")
            Map<String, Double> theirs = (Map<String, Double>) other.content;
            if (!mine.keySet().equals(theirs.keySet())) {
                return false;
            }
            return mine.entrySet().stream().allMatch(e -> closeEnough(e.getValue(), theirs.get(e.getKey())));
        }

        @Override
        public String toString() {
            return type + " " + content + (expireAtMillis < 0 ? "" : " expires at " + expireAtMillis);
        }
    }

    static boolean closeEnough(double a, double b) {
        double diff = Math.abs(a - b);
        // relative, with a floor near zero where a sum of increments may cancel to a few ulps of 0
        return diff <= SCORE_TOLERANCE * Math.max(Math.abs(a), Math.abs(b)) || diff <= 1e-12;
    }

    /**
     * Reads every key under {@code prefix}, pipelined. A key that changes type between the reads is
     * reported as an {@link IllegalStateException}, so a caller polling for a stable state reads again.
     */
    static Snapshot of(StatefulRedisConnection<String, String> connection, String prefix) {
        List<String> keys = new ArrayList<>();
        ScanCursor cursor = ScanCursor.INITIAL;
        do {
            KeyScanCursor<String> page = connection.sync().scan(cursor, ScanArgs.Builder.matches(prefix + "*").limit(1000));
            for (String key : page.getKeys()) {
                if (!ReplicationPolicy.isReservedKey(key.getBytes(StandardCharsets.UTF_8))) {
                    keys.add(key);
                }
            }
            cursor = page;
        } while (!cursor.isFinished());

        RedisAsyncCommands<String, String> async = connection.async();
        List<RedisFuture<String>> types = keys.stream().map(async::type).toList();
        List<RedisFuture<?>> contents = new ArrayList<>();
        List<RedisFuture<Long>> expiries = new ArrayList<>();
        for (int i = 0; i < keys.size(); i++) {
            String key = keys.get(i);
            contents.add(switch (get(types.get(i))) {
                case "string" -> async.get(key);
                case "list" -> async.lrange(key, 0, -1);
                case "hash" -> async.hgetall(key);
                case "set" -> async.smembers(key);
                case "zset" -> async.zrangeWithScores(key, 0, -1);
                case "none" -> null;
                default -> async.dump(key);
            });
            expiries.add(async.pexpiretime(key));
        }
        Map<String, Value> values = new TreeMap<>();
        for (int i = 0; i < keys.size(); i++) {
            String type = get(types.get(i));
            if (contents.get(i) == null) {
                continue; // gone between SCAN and TYPE
            }
            Object raw = get(contents.get(i));
            long expireAt = get(expiries.get(i));
            if (raw == null || expireAt == -2) {
                continue; // gone since
            }
            values.put(keys.get(i), new Value(type, canonical(type, raw), expireAt));
        }
        return new Snapshot(values);
    }

    private static Object canonical(String type, Object raw) {
        return switch (type) {
            case "hash" -> new TreeMap<>((Map<?, ?>) raw);
            case "set" -> new TreeSet<>((Set<?>) raw);
            case "zset" -> {
                Map<String, Double> scores = new TreeMap<>();
                for (Object o : (List<?>) raw) {
                    ScoredValue<?> scored = (ScoredValue<?>) o;
                    scores.put(String.valueOf(scored.getValue()), scored.getScore());
                }
                yield scores;
            }
            case "string", "list" -> raw;
            default -> "dump of " + ((byte[]) raw).length + " bytes";
        };
    }

    private static <T> T get(RedisFuture<T> future) {
        try {
            return future.get(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted reading a snapshot", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("key changed while reading a snapshot: " + e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalStateException("Redis did not answer within 30 s while reading a snapshot", e);
        }
    }

    /**
     * Keys on which the instances disagree (missing somewhere, other type, content or expiry), each with
     * every instance's value ({@code null}: the key is missing there), in key order.
     */
    static Map<String, Map<String, Value>> differences(Map<String, Snapshot> byInstance) {
        Set<String> all = new TreeSet<>();
        byInstance.values().forEach(s -> all.addAll(s.keys.keySet()));
        Map<String, Map<String, Value>> diverged = new LinkedHashMap<>();
        for (String key : all) {
            Map<String, Value> sides = new LinkedHashMap<>();
            byInstance.forEach((name, snapshot) -> sides.put(name, snapshot.keys.get(key)));
            Value first = sides.values().iterator().next();
            boolean same = first != null && sides.values().stream().allMatch(first::sameAs);
            if (!same) {
                diverged.put(key, sides);
            }
        }
        return diverged;
    }

    /** At most {@code limit} diverged keys, one line each side, for a failure message. */
    static String describe(Map<String, Map<String, Value>> diverged, int limit) {
        StringBuilder text = new StringBuilder();
        diverged.entrySet().stream().limit(limit).forEach(e -> {
            text.append("\n  ").append(e.getKey());
            e.getValue().forEach((name, value) -> text.append("\n    ").append(name).append(": ")
                    .append(value == null ? "(missing)" : value));
        });
        if (diverged.size() > limit) {
            text.append("\n  … and ").append(diverged.size() - limit).append(" more");
        }
        return text.toString();
    }
}
