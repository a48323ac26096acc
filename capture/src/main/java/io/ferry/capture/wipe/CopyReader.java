package io.ferry.capture.wipe;

import io.ferry.capture.publish.Outbox;
import io.ferry.capture.snapshot.DumpPayload;
import io.ferry.capture.snapshot.RdbKeyReader;
import io.ferry.capture.stream.ExpiryTracker;
import io.ferry.resp.cluster.HashSlot;
import io.ferry.schemas.AppliedVector;
import io.ferry.schemas.ReplicationPolicy;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.BooleanSupplier;

/**
 * Reads a full resync's RDB for the wipe guard, publishing nothing: counts the user keys, notes the
 * apply checkpoints it holds (and their offsets) and hands volatile keys to the expiry tracker (their
 * expiries must not be published as users' DELs later, whether the copy is published or accepted).
 */
public final class CopyReader {

    private CopyReader() {
    }

    /**
     * The copy's keys plus its checkpoints as peer partition → offset (-1 where the value could not be read),
     * and its per-slot checkpoints (those a Redis Cluster target's apply agent writes) as peer partition →
     * hash slot → offset.
     */
    public record Contents(long keys, Map<String, Long> checkpoints, Map<String, Map<Integer, Long>> slotCheckpoints) {

        public WipeGuard.Copy copy() {
            java.util.Set<String> entries = new java.util.HashSet<>(checkpoints.keySet());
            entries.addAll(slotCheckpoints.keySet());
            return new WipeGuard.Copy(keys, entries);
        }

        /**
         * The applied vector the copy stands at: its readable checkpoints; for a peer partition with per-slot
         * checkpoints only (a shard of a cluster target), the furthest slot's.
         */
        public AppliedVector applied() {
            Map<String, Long> readable = new HashMap<>();
            slotCheckpoints.forEach((entry, slots) -> slots.values().stream().mapToLong(Long::longValue).max()
                    .ifPresent(offset -> readable.put(entry, offset)));
            checkpoints.forEach((entry, offset) -> readable.put(entry, offset));
            readable.values().removeIf(offset -> offset < 0);
            return AppliedVector.of(readable);
        }
    }

    public static Contents read(Path rdb, ExpiryTracker expiries, BooleanSupplier closing) throws IOException, InterruptedException {
        return read(rdb, 0, expiries, closing, key -> { });
    }

    /**
     * The same, handing every user key (not Ferry's own) to {@code userKeys} in RDB order: a join copies
     * them while the checkpoints the copy holds are noted.
     *
     * @param rdbVersion RDB version of the payloads handed on (0: the file's own)
     * @param expiries   tracker for volatile keys, or null
     */
    public static Contents read(Path rdb, int rdbVersion, ExpiryTracker expiries, BooleanSupplier closing,
                                RdbKeyReader.KeyConsumer userKeys) throws IOException, InterruptedException {
        long[] keys = {0};
        Map<String, Long> checkpoints = new HashMap<>();
        Map<String, Map<Integer, Long>> slotCheckpoints = new HashMap<>();
        RdbKeyReader.read(rdb, rdbVersion, key -> {
            if (closing.getAsBoolean()) {
                throw new Outbox.OutboxClosedException();
            }
            if (ReplicationPolicy.isReservedKey(key.key())) {
                Optional<Map.Entry<String, Integer>> partition = ReplicationPolicy.checkpointPartition(key.key());
                partition.ifPresent(p -> {
                    String entry = AppliedVector.entry(p.getKey(), p.getValue());
                    if (ReplicationPolicy.isSlotCheckpointKey(key.key())) {
                        slotCheckpoints.computeIfAbsent(entry, e -> new HashMap<>()).put(HashSlot.of(key.key()), integerValue(key.payload()));
                    } else {
                        checkpoints.put(entry, integerValue(key.payload()));
                    }
                });
                return;
            }
            keys[0]++;
            if (expiries != null && key.expireAtMillis() > 0) {
                expiries.expireAt(key.db(), key.key(), key.expireAtMillis());
            }
            userKeys.accept(key);
        });
        return new Contents(keys[0], checkpoints, slotCheckpoints);
    }

    /** The integer a key's payload holds, as below; -1 for any payload too long to be an offset's. */
    static long integerValue(DumpPayload payload) {
        return payload.length() > 64 ? -1 : integerValue(payload.bytes());
    }

    /**
     * The integer a string key's DUMP payload holds (a checkpoint is a decimal offset, which Redis stores
     * int-encoded), or -1 when the payload is not a plain or int-encoded string holding a number.
     */
    static long integerValue(byte[] dump) {
        if (dump == null || dump.length < 2 || dump[0] != 0) { // RDB_TYPE_STRING
            return -1;
        }
        int first = dump[1] & 0xff;
        int kind = first >> 6;
        try {
            switch (kind) {
                case 3 -> { // special encoding: int8, int16 or int32, little endian; 3 is LZF
                    return switch (first & 0x3f) {
                        case 0 -> dump[2];
                        case 1 -> (short) ((dump[2] & 0xff) | (dump[3] & 0xff) << 8);
                        case 2 -> (dump[2] & 0xff) | (dump[3] & 0xff) << 8 | (dump[4] & 0xff) << 16 | (dump[5] & 0xff) << 24;
                        default -> -1;
                    };
                }
                case 0 -> {
                    return digits(dump, 2, first & 0x3f);
                }
                case 1 -> {
                    return digits(dump, 3, (first & 0x3f) << 8 | dump[2] & 0xff);
                }
                default -> {
                    return -1; // 32/64-bit lengths: no offset is that long
                }
            }
        } catch (ArrayIndexOutOfBoundsException e) {
            return -1;
        }
    }

    private static long digits(byte[] dump, int from, int length) {
        if (length == 0 || length > 19) {
            return -1;
        }
        try {
            return Long.parseLong(new String(dump, from, length, java.nio.charset.StandardCharsets.US_ASCII));
        } catch (NumberFormatException | IndexOutOfBoundsException e) {
            return -1;
        }
    }
}
