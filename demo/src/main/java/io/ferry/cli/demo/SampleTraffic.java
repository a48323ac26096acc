package io.ferry.cli.demo;

import io.lettuce.core.SetArgs;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A little traffic per instance, of several types, so the demo shows something replicating: a string,
 * a hash, a list, a set, a sorted set, a counter, a key with a TTL, a binary value and a MULTI/EXEC
 * block. Each instance writes its own keys ({@code demo:<id>:…}) so nothing conflicts. On a Redis
 * Cluster the keys spread over the shards, and the two keys of the MULTI block share the hash tag
 * {@code {demo:<id>}} so they are in one slot, as a cluster requires.
 */
final class SampleTraffic {

    private SampleTraffic() {
    }

    /** Writes the sample keys through {@code redis}, each command on its key's node; returns the keys written. */
    static List<byte[]> write(String id, InstanceClient redis, boolean cluster) {
        String p = "demo:" + id + ":";
        byte[] counter = b(transactionPrefix(id, cluster) + "counter");
        byte[] list = b(transactionPrefix(id, cluster) + "list");
        set(redis, b(p + "greeting"), b("hello from " + id));
        redis.forKey(b(p + "user")).hset(b(p + "user"), java.util.Map.of(b("name"), b("user-" + id), b("visits"), b("1")));
        redis.forKey(list).rpush(list, b("one"), b("two"), b("three"));
        redis.forKey(b(p + "colours")).sadd(b(p + "colours"), b("red"), b("green"), b("blue"));
        redis.forKey(b(p + "scores")).zadd(b(p + "scores"), 1.0, b("alice"));
        redis.forKey(b(p + "scores")).zadd(b(p + "scores"), 2.5, b("bob"));
        redis.forKey(counter).incrby(counter, 41);
        redis.forKey(b(p + "session")).set(b(p + "session"), b("token-" + id), SetArgs.Builder.ex(3600));
        set(redis, b(p + "bytes"), new byte[] {0, 1, 'f', 'e', 'r', 'r', 'y', (byte) 0xff});
        var tx = redis.forKey(counter); // list is in the same slot
        tx.multi();
        tx.incr(counter);
        tx.lpush(list, b("zero"));
        tx.exec();
        List<byte[]> keys = new ArrayList<>();
        for (String name : List.of("greeting", "user", "list", "colours", "scores", "counter", "session", "bytes")) {
            keys.add(name.equals("list") ? list : name.equals("counter") ? counter : b(p + name));
        }
        return keys;
    }

    private static void set(InstanceClient redis, byte[] key, byte[] value) {
        redis.forKey(key).set(key, value);
    }

    /** The counter's and list's prefix: on a cluster a hash tag, so the MULTI block touching both stays in one slot. */
    private static String transactionPrefix(String id, boolean cluster) {
        return cluster ? "{demo:" + id + "}:" : "demo:" + id + ":";
    }

    static String describe(String id, boolean cluster) {
        String p = "demo:" + id + ":";
        String t = transactionPrefix(id, cluster);
        return "SET " + p + "greeting, HSET " + p + "user, RPUSH " + t + "list, SADD " + p + "colours, ZADD " + p
                + "scores, INCRBY " + t + "counter, SET " + p + "session EX 3600, SET " + p + "bytes (binary), "
                + "MULTI INCR " + t + "counter LPUSH " + t + "list EXEC";
    }

    private static byte[] b(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
