package io.ferry.resp.cluster;

/**
 * Which of Redis Cluster's 16384 hash slots a key belongs to: CRC16 (XMODEM) of the key, or of its
 * hash tag, modulo 16384. A hash tag is the part between the first '{' and the next '}' when that part
 * is not empty; keys sharing a tag share a slot, which is what lets one MULTI block touch them all.
 */
public final class HashSlot {

    public static final int COUNT = 16384;

    private static final int[] TABLE = new int[256];

    static {
        for (int i = 0; i < 256; i++) {
            int crc = i << 8;
            for (int bit = 0; bit < 8; bit++) {
                crc = (crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1;
            }
            TABLE[i] = crc & 0xffff;
        }
    }

    private HashSlot() {
    }

    /** Holder: the table is computed on first use only (a few milliseconds). */
    private static final class Tags {
        static final String[] BY_SLOT = shortestTags();
    }

    /**
     * A short hash tag (letters and digits) whose slot is {@code slot}: a key containing {@code {tag}}
     * lands in that slot, so Ferry can put its own per-slot keys beside the keys they describe.
     */
    public static String tag(int slot) {
        return Tags.BY_SLOT[slot];
    }

    private static String[] shortestTags() {
        String[] tags = new String[COUNT];
        int found = 0;
        for (int n = 0; found < COUNT; n++) {
            String tag = Integer.toString(n, 36);
            byte[] bytes = tag.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            int slot = crc16(bytes, 0, bytes.length) & (COUNT - 1);
            if (tags[slot] == null) {
                tags[slot] = tag;
                found++;
            }
        }
        return tags;
    }

    public static int of(byte[] key) {
        int from = 0;
        int to = key.length;
        int open = indexOf(key, (byte) '{', 0);
        if (open >= 0) {
            int close = indexOf(key, (byte) '}', open + 1);
            if (close > open + 1) {
                from = open + 1;
                to = close;
            }
        }
        return crc16(key, from, to) & (COUNT - 1);
    }

    static int crc16(byte[] bytes, int from, int to) {
        int crc = 0;
        for (int i = from; i < to; i++) {
            crc = ((crc << 8) ^ TABLE[((crc >>> 8) ^ bytes[i]) & 0xff]) & 0xffff;
        }
        return crc;
    }

    private static int indexOf(byte[] bytes, byte wanted, int from) {
        for (int i = from; i < bytes.length; i++) {
            if (bytes[i] == wanted) {
                return i;
            }
        }
        return -1;
    }
}
