package io.ferry.bench;

import io.ferry.resp.RespBuffer;
import java.nio.charset.StandardCharsets;

/**
 * {@code SET <prefix><seq> <value>}: every key is new, so the target's key count proves every write
 * arrived. The latency runs use prefix {@code lat:} so the target's keyspace events name the sequence.
 */
final class SetWorkload implements Workload {

    private static final byte[] SET = "SET".getBytes(StandardCharsets.US_ASCII);

    /**
     * Values are slices of 1 MiB of random bytes at pseudo-random offsets: every value differs and none
     * repeats within a compression window, so bytes on Kafka per op are not flattered by compression.
     */
    private static final byte[] RANDOM = randomBytes(1 << 20);

    private final String name;
    private final byte[] prefix;
    private final int valueBytes;

    SetWorkload(String name, String prefix, int valueBytes) {
        this.name = name;
        this.prefix = prefix.getBytes(StandardCharsets.US_ASCII);
        this.valueBytes = valueBytes;
    }

    private static byte[] randomBytes(int size) {
        byte[] bytes = new byte[size];
        new java.util.Random(42).nextBytes(bytes);
        return bytes;
    }

    private int valueOffset(long seq) {
        return (int) Long.remainderUnsigned(seq * 0x9E3779B97F4A7C15L, RANDOM.length - valueBytes);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public Shape encode(long seq, RespBuffer out) {
        out.command(3).bulk(SET).bulk(prefix, seq).bulk(RANDOM, valueOffset(seq), valueBytes);
        return Shape.SINGLE;
    }

    @Override
    public byte[] routingKey(long seq) {
        byte[] digits = Long.toString(seq).getBytes(StandardCharsets.US_ASCII);
        byte[] key = java.util.Arrays.copyOf(prefix, prefix.length + digits.length);
        System.arraycopy(digits, 0, key, prefix.length, digits.length);
        return key;
    }

    /** Bytes of one command on the wire (RESP), for a key of {@code seqDigits} digits. */
    int respBytes(int seqDigits) {
        RespBuffer one = new RespBuffer();
        one.command(3).bulk(SET).bulk(prefix, (long) Math.pow(10, seqDigits - 1)).bulk(RANDOM, 0, valueBytes);
        return one.size();
    }
}
