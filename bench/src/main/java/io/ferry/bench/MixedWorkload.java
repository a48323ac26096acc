package io.ferry.bench;

import io.ferry.resp.RespBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A mix of data types over a fixed key set: strings (SET, INCR), hashes (HSET), lists (LPUSH, LTRIM),
 * sorted sets (ZADD) and small MULTI/EXEC blocks touching three types at once. Choices are a pure
 * function of the sequence number, so a run is reproducible.
 */
final class MixedWorkload implements Workload {

    private static final byte[] SET = ascii("SET");
    private static final byte[] INCR = ascii("INCR");
    private static final byte[] HSET = ascii("HSET");
    private static final byte[] HINCRBY = ascii("HINCRBY");
    private static final byte[] LPUSH = ascii("LPUSH");
    private static final byte[] LTRIM = ascii("LTRIM");
    private static final byte[] ZADD = ascii("ZADD");
    private static final byte[] ZINCRBY = ascii("ZINCRBY");
    private static final byte[] MULTI = ascii("MULTI");
    private static final byte[] EXEC = ascii("EXEC");
    private static final byte[] STRING = ascii("m:s:");
    private static final byte[] COUNTER = ascii("m:c:");
    private static final byte[] HASH = ascii("m:h:");
    private static final byte[] LIST = ascii("m:l:");
    private static final byte[] ZSET = ascii("m:z:");
    private static final byte[] FIELD = ascii("f");
    private static final byte[] MEMBER = ascii("m");
    private static final byte[] ONE = ascii("1");
    private static final byte[] ZERO = ascii("0");
    private static final byte[] LIST_KEEP = ascii("49");

    private final int keys;
    private final byte[] value;

    MixedWorkload(int keysPerType, int valueBytes) {
        this.keys = keysPerType;
        this.value = new byte[valueBytes];
        Arrays.fill(value, (byte) 'm');
    }

    @Override
    public String name() {
        return "mixed";
    }

    @Override
    public Shape encode(long seq, RespBuffer out) {
        long h = mix(seq);
        int pick = (int) Long.remainderUnsigned(h, 100);
        long key = Long.remainderUnsigned(h >>> 8, keys);
        long sub = Long.remainderUnsigned(h >>> 32, 16);
        if (pick < 30) {
            out.command(3).bulk(SET).bulk(STRING, key).bulk(value);
        } else if (pick < 40) {
            out.command(2).bulk(INCR).bulk(COUNTER, key);
        } else if (pick < 60) {
            out.command(4).bulk(HSET).bulk(HASH, key).bulk(FIELD, sub).bulk(value);
        } else if (pick < 72) {
            out.command(3).bulk(LPUSH).bulk(LIST, key).bulk(value);
        } else if (pick < 75) {
            out.command(4).bulk(LTRIM).bulk(LIST, key).bulk(ZERO).bulk(LIST_KEEP);
        } else if (pick < 95) {
            out.command(4).bulk(ZADD).bulk(ZSET, key).bulk(seq % 1000).bulk(MEMBER, sub);
        } else {
            out.command(1).bulk(MULTI);
            out.command(3).bulk(SET).bulk(STRING, key).bulk(value);
            out.command(4).bulk(HINCRBY).bulk(HASH, key).bulk(FIELD, 99).bulk(ONE);
            out.command(4).bulk(ZINCRBY).bulk(ZSET, key).bulk(ONE).bulk(MEMBER, sub);
            out.command(1).bulk(EXEC);
            return Shape.MULTI_OF_THREE;
        }
        return Shape.SINGLE;
    }

    /** Every key this workload can write, for comparing source and target afterwards. */
    List<String> allKeys() {
        List<String> all = new ArrayList<>();
        for (byte[] prefix : List.of(STRING, COUNTER, HASH, LIST, ZSET)) {
            for (int k = 0; k < keys; k++) {
                all.add(new String(prefix, StandardCharsets.US_ASCII) + k);
            }
        }
        return all;
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }
}
