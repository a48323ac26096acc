package io.ferry.cli.demo;

import io.ferry.cli.inspect.ByteText;
import io.lettuce.core.ScoredValue;
import io.lettuce.core.api.sync.RedisCommands;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * One key's value as text that is equal on two instances exactly when their values are: type plus
 * content, with collections in a canonical order (hash fields and set members sorted). Binary bytes
 * are escaped as by {@link ByteText}.
 */
final class KeyspaceView {

    private static final int MAX = 60;

    private KeyspaceView() {
    }

    static String render(RedisCommands<byte[], byte[]> redis, byte[] key) {
        String type = redis.type(key);
        return switch (type) {
            case "none" -> "(missing)";
            case "string" -> "string " + ByteText.quote(redis.get(key), MAX);
            case "hash" -> "hash {" + sortedEntries(redis.hgetall(key)) + "}";
            case "list" -> "list [" + redis.lrange(key, 0, -1).stream().map(v -> ByteText.quote(v, MAX)).collect(Collectors.joining(", ")) + "]";
            case "set" -> "set {" + redis.smembers(key).stream().map(v -> ByteText.quote(v, MAX)).sorted().collect(Collectors.joining(", ")) + "}";
            case "zset" -> "zset [" + scored(redis.zrangeWithScores(key, 0, -1)) + "]";
            case "stream" -> "stream (" + redis.xlen(key) + " entries)";
            default -> type;
        };
    }

    private static String sortedEntries(Map<byte[], byte[]> map) {
        List<Map.Entry<byte[], byte[]>> entries = new ArrayList<>(map.entrySet());
        entries.sort(Comparator.comparing(e -> ByteText.quote(e.getKey())));
        return entries.stream().map(e -> ByteText.quote(e.getKey(), MAX) + ": " + ByteText.quote(e.getValue(), MAX))
                .collect(Collectors.joining(", "));
    }

    private static String scored(List<ScoredValue<byte[]>> values) {
        return values.stream().map(v -> ByteText.quote(v.getValue(), MAX) + " " + trim(v.getScore()))
                .collect(Collectors.joining(", "));
    }

    private static String trim(double score) {
        return score == Math.rint(score) ? String.valueOf((long) score) : String.valueOf(score);
    }

    static boolean sameEverywhere(Map<String, String> byInstance) {
        return byInstance.values().stream().distinct().count() == 1 && !byInstance.containsValue("(missing)");
    }
}
