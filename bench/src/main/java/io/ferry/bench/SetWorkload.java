package io.ferry.bench;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * {@code SET <prefix><seq> <value>}: every key is new, so the target's key count proves every write
 * arrived. The latency runs use prefix {@code lat:} so the target's keyspace events name the sequence.
 */
final class SetWorkload implements Workload {

    private static final byte[] SET = "SET".getBytes(StandardCharsets.US_ASCII);

    private final String name;
    private final byte[] prefix;
    private final byte[] value;

    SetWorkload(String name, String prefix, int valueBytes) {
        this.name = name;
        this.prefix = prefix.getBytes(StandardCharsets.US_ASCII);
        this.value = new byte[valueBytes];
        Arrays.fill(value, (byte) 'v');
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public Shape encode(long seq, RespBuffer out) {
        out.command(3).bulk(SET).bulk(prefix, seq).bulk(value);
        return Shape.SINGLE;
    }

    /** Bytes of one command on the wire (RESP), for a key of {@code seqDigits} digits. */
    int respBytes(int seqDigits) {
        RespBuffer one = new RespBuffer();
        one.command(3).bulk(SET).bulk(prefix, (long) Math.pow(10, seqDigits - 1)).bulk(value);
        return one.size();
    }
}
