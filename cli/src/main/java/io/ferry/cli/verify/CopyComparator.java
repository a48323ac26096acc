package io.ferry.cli.verify;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Decides whether the copies of one key on several instances are the same: existence, type, content
 * (the digests already ignore order where Redis does, see {@link ValueDigest}) and absolute expiry, which
 * may differ by up to a tolerance (clocks, and Redis 6.2 sources that replicate relative TTLs).
 */
final class CopyComparator {

    private final long ttlToleranceMillis;

    CopyComparator(long ttlToleranceMillis) {
        if (ttlToleranceMillis < 0) {
            throw new IllegalArgumentException("ttl tolerance must be >= 0, got " + ttlToleranceMillis);
        }
        this.ttlToleranceMillis = ttlToleranceMillis;
    }

    /** What differs between the copies (instance id → copy), or empty when they are the same. */
    Optional<String> difference(Map<String, KeyCopy> copies) {
        Set<String> reasons = new LinkedHashSet<>();
        List<String> unreadable = new ArrayList<>();
        List<String> missing = new ArrayList<>();
        KeyCopy reference = null;
        for (Map.Entry<String, KeyCopy> entry : copies.entrySet()) {
            KeyCopy copy = entry.getValue();
            if (!copy.readable()) {
                unreadable.add(entry.getKey());
            } else if (!copy.exists()) {
                missing.add(entry.getKey());
            } else if (reference == null) {
                reference = copy;
            } else {
                compare(reference, copy, reasons);
            }
        }
        List<String> parts = new ArrayList<>();
        if (!unreadable.isEmpty()) {
            parts.add("unreadable on " + String.join(", ", unreadable));
        }
        if (reference != null && !missing.isEmpty()) {
            parts.add("missing on " + String.join(", ", missing));
        }
        parts.addAll(reasons);
        return parts.isEmpty() ? Optional.empty() : Optional.of(String.join("; ", parts));
    }

    private void compare(KeyCopy a, KeyCopy b, Set<String> reasons) {
        if (!a.type().equals(b.type())) {
            reasons.add("type differs");
            return;
        }
        if (a.size() != b.size() || !Arrays.equals(a.digest(), b.digest())) {
            reasons.add("content differs");
        }
        if (!sameExpiry(a.expireAtMillis(), b.expireAtMillis())) {
            reasons.add("ttl differs");
        }
    }

    private boolean sameExpiry(long a, long b) {
        if (a < 0 || b < 0) {
            return a < 0 && b < 0;
        }
        return Math.abs(a - b) <= ttlToleranceMillis;
    }
}
