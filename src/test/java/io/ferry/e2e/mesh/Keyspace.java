package io.ferry.e2e.mesh;

import io.ferry.schemas.ReplicationPolicy;
import io.lettuce.core.KeyScanCursor;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.api.sync.RedisCommands;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/** A comparable picture of one db of a Redis: every user key with its type, value and absolute expiry. */
record Keyspace(Map<String, Entry> keys) {

    /** One key: type, a canonical rendering of the value, and PEXPIRETIME (-1 when it does not expire). */
    record Entry(String type, String value, long expireAtMillis) {
    }

    static Keyspace of(RedisCommands<String, String> redis) {
        Map<String, Entry> keys = new TreeMap<>();
        ScanCursor cursor = ScanCursor.INITIAL;
        do {
            KeyScanCursor<String> page = redis.scan(cursor, ScanArgs.Builder.limit(1000));
            for (String key : page.getKeys()) {
                if (ReplicationPolicy.isReservedKey(key.getBytes(StandardCharsets.UTF_8))) {
                    continue;
                }
                String type = redis.type(key);
                String value = switch (type) {
                    case "string" -> redis.get(key);
                    case "list" -> String.valueOf(redis.lrange(key, 0, -1));
                    case "hash" -> String.valueOf(new TreeMap<>(redis.hgetall(key)));
                    case "set" -> String.valueOf(new TreeMap<>(redis.smembers(key).stream()
                            .collect(java.util.stream.Collectors.toMap(m -> m, m -> ""))).keySet());
                    case "zset" -> String.valueOf(redis.zrangeWithScores(key, 0, -1));
                    case "stream" -> String.valueOf(redis.xrange(key, io.lettuce.core.Range.create("-", "+")).stream()
                            .map(m -> m.getId() + "=" + new TreeMap<>(m.getBody())).toList());
                    case "none" -> null;
                    default -> "dump-bytes:" + redis.dump(key).length;
                };
                if (value != null) {
                    keys.put(key, new Entry(type, value, redis.pexpiretime(key)));
                }
            }
            cursor = page;
        } while (!cursor.isFinished());
        return new Keyspace(keys);
    }

    /** The keyspace of a Redis Cluster: every master's own keys (a master holds only the keys of its slots). */
    static Keyspace ofMasters(List<RedisCommands<String, String>> masters) {
        Map<String, Entry> keys = new TreeMap<>();
        masters.forEach(master -> keys.putAll(of(master).keys()));
        return new Keyspace(keys);
    }

    /** Differences to {@code other}: missing keys, other types or values, expiries more than {@code ttlSlackMillis} apart. */
    List<String> differences(Keyspace other, long ttlSlackMillis) {
        List<String> problems = new ArrayList<>();
        for (var e : keys.entrySet()) {
            Entry theirs = other.keys.get(e.getKey());
            Entry mine = e.getValue();
            if (theirs == null) {
                problems.add("missing " + e.getKey());
            } else if (!mine.type.equals(theirs.type) || !Objects.equals(mine.value, theirs.value)) {
                problems.add(e.getKey() + ": " + mine + " vs " + theirs);
            } else if ((mine.expireAtMillis < 0) != (theirs.expireAtMillis < 0)
                    || Math.abs(mine.expireAtMillis - theirs.expireAtMillis) > ttlSlackMillis) {
                problems.add(e.getKey() + " expiry " + mine.expireAtMillis + " vs " + theirs.expireAtMillis);
            }
        }
        for (String key : other.keys.keySet()) {
            if (!keys.containsKey(key)) {
                problems.add("extra " + key);
            }
        }
        return problems;
    }
}
