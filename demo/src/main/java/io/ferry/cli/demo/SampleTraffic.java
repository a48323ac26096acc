package io.ferry.cli.demo;

import io.lettuce.core.SetArgs;
import io.lettuce.core.api.sync.RedisCommands;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A little traffic per instance, of several types, so the demo shows something replicating: a string,
 * a hash, a list, a set, a sorted set, a counter, a key with a TTL, a binary value and a MULTI/EXEC
 * block. Each instance writes its own keys ({@code demo:<id>:…}) so nothing conflicts.
 */
final class SampleTraffic {

    private SampleTraffic() {
    }

    /** Writes the sample keys on {@code redis}; returns the keys written, and describes them on one line. */
    static List<byte[]> write(String id, RedisCommands<byte[], byte[]> redis) {
        String p = "demo:" + id + ":";
        redis.set(b(p + "greeting"), b("hello from " + id));
        redis.hset(b(p + "user"), java.util.Map.of(b("name"), b("user-" + id), b("visits"), b("1")));
        redis.rpush(b(p + "list"), b("one"), b("two"), b("three"));
        redis.sadd(b(p + "colours"), b("red"), b("green"), b("blue"));
        redis.zadd(b(p + "scores"), 1.0, b("alice"));
        redis.zadd(b(p + "scores"), 2.5, b("bob"));
        redis.incrby(b(p + "counter"), 41);
        redis.set(b(p + "session"), b("token-" + id), SetArgs.Builder.ex(3600));
        redis.set(b(p + "bytes"), new byte[] {0, 1, 'f', 'e', 'r', 'r', 'y', (byte) 0xff});
        redis.multi();
        redis.incr(b(p + "counter"));
        redis.lpush(b(p + "list"), b("zero"));
        redis.exec();
        List<byte[]> keys = new ArrayList<>();
        for (String name : List.of("greeting", "user", "list", "colours", "scores", "counter", "session", "bytes")) {
            keys.add(b(p + name));
        }
        return keys;
    }

    static String describe(String id) {
        String p = "demo:" + id + ":";
        return "SET " + p + "greeting, HSET " + p + "user, RPUSH " + p + "list, SADD " + p + "colours, ZADD " + p
                + "scores, INCRBY " + p + "counter, SET " + p + "session EX 3600, SET " + p + "bytes (binary), "
                + "MULTI INCR " + p + "counter LPUSH " + p + "list EXEC";
    }

    private static byte[] b(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
