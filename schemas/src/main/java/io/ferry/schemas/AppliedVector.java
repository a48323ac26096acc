package io.ferry.schemas;

import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * What an instance had applied of every peer partition when one of its writes happened: for each
 * {@code origin:partition}, the last Kafka offset of that peer partition its apply agent had checkpointed.
 * The capture reads this from the apply agent's checkpoint writes in its own replication stream. Two
 * writes to a key are concurrent iff neither origin had applied the other: that is all conflict
 * detection needs, and no clock is involved.
 *
 * <p>It travels as the record header {@link ReplicationPolicy#APPLIED_HEADER} in readable text
 * ({@code a:0=812,c:0=77}), so the change event's Avro schema is unchanged (an apply agent of the
 * previous release reads the records as before) and {@code kcat -J} shows it. Immutable.
 */
public final class AppliedVector {

    public static final AppliedVector EMPTY = new AppliedVector(new TreeMap<>());

    private final TreeMap<String, Long> offsets;
    /** The entries split once, for lookups that build no strings (the apply agent asks for every record). */
    private final String[] origins;
    private final int[] partitions;
    private final long[] values;
    private byte[] encoded;

    private AppliedVector(TreeMap<String, Long> offsets) {
        this.offsets = offsets;
        int n = offsets.size();
        this.origins = new String[n];
        this.partitions = new int[n];
        this.values = new long[n];
        int i = 0;
        for (Map.Entry<String, Long> entry : offsets.entrySet()) {
            int colon = entry.getKey().lastIndexOf(':');
            origins[i] = entry.getKey().substring(0, colon);
            partitions[i] = Integer.parseInt(entry.getKey().substring(colon + 1));
            values[i] = entry.getValue();
            i++;
        }
    }

    public static AppliedVector of(Map<String, Long> offsets) {
        return offsets.isEmpty() ? EMPTY : new AppliedVector(new TreeMap<>(offsets));
    }

    /** The map key of one peer partition. */
    public static String entry(String origin, int partition) {
        return origin + ":" + partition;
    }

    /** Last offset of {@code origin}'s partition applied, -1 when nothing was. */
    public long applied(String origin, int partition) {
        for (int i = 0; i < origins.length; i++) {
            if (partitions[i] == partition && origins[i].equals(origin)) {
                return values[i];
            }
        }
        return -1;
    }

    /** This vector with {@code origin:partition} moved to {@code offset} (never backwards); itself when nothing changes. */
    public AppliedVector with(String origin, int partition, long offset) {
        String key = entry(origin, partition);
        Long current = offsets.get(key);
        if (current != null && current >= offset) {
            return this;
        }
        TreeMap<String, Long> copy = new TreeMap<>(offsets);
        copy.put(key, offset);
        return new AppliedVector(copy);
    }

    /** This vector with every entry of {@code other} merged in (each entry the higher of the two); itself when nothing changes. */
    public AppliedVector withAll(AppliedVector other) {
        AppliedVector merged = this;
        for (int i = 0; i < other.origins.length; i++) {
            merged = merged.with(other.origins[i], other.partitions[i], other.values[i]);
        }
        return merged;
    }

    /**
     * Whether this vector has applied at least what {@code required} names, entry by entry: every write up to
     * those offsets is applied (an entry missing here is nothing applied).
     */
    public boolean covers(AppliedVector required) {
        for (int i = 0; i < required.origins.length; i++) {
            if (applied(required.origins[i], required.partitions[i]) < required.values[i]) {
                return false;
            }
        }
        return true;
    }

    public Map<String, Long> asMap() {
        return Collections.unmodifiableMap(offsets);
    }

    public boolean isEmpty() {
        return offsets.isEmpty();
    }

    /** The header value; cached, vectors are shared by many events. */
    public byte[] encode() {
        byte[] bytes = encoded;
        if (bytes == null) {
            StringBuilder text = new StringBuilder();
            offsets.forEach((key, offset) -> text.append(text.length() == 0 ? "" : ",").append(key).append('=').append(offset));
            bytes = text.toString().getBytes(StandardCharsets.UTF_8);
            encoded = bytes;
        }
        return bytes;
    }

    /**
     * Reads a header value; null or empty is the empty vector (records of the previous release).
     *
     * @throws IllegalArgumentException naming what is wrong with a malformed value
     */
    public static AppliedVector decode(byte[] header) {
        if (header == null || header.length == 0) {
            return EMPTY;
        }
        String text = new String(header, StandardCharsets.UTF_8);
        TreeMap<String, Long> offsets = new TreeMap<>();
        for (String part : text.split(",")) {
            int eq = part.lastIndexOf('=');
            int colon = part.lastIndexOf(':', eq);
            if (eq <= 0 || colon <= 0) {
                throw new IllegalArgumentException("malformed " + ReplicationPolicy.APPLIED_HEADER + " entry '" + part
                        + "': expected origin:partition=offset");
            }
            try {
                int partition = Integer.parseInt(part.substring(colon + 1, eq));
                long offset = Long.parseLong(part.substring(eq + 1));
                if (partition < 0 || offset < 0) {
                    throw new IllegalArgumentException("malformed " + ReplicationPolicy.APPLIED_HEADER + " entry '" + part
                            + "': partition and offset cannot be negative");
                }
                offsets.merge(entry(part.substring(0, colon), partition), offset, Math::max);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("malformed " + ReplicationPolicy.APPLIED_HEADER + " entry '" + part
                        + "': partition and offset must be numbers");
            }
        }
        return new AppliedVector(offsets);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AppliedVector other && offsets.equals(other.offsets);
    }

    @Override
    public int hashCode() {
        return offsets.hashCode();
    }

    @Override
    public String toString() {
        return new String(encode(), StandardCharsets.UTF_8);
    }
}
