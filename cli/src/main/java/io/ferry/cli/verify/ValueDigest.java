package io.ferry.cli.verify;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The fingerprint of a collection's content, read element by element: in order for lists and streams,
 * regardless of order for sets, hashes and sorted sets (as Redis itself treats them). An element is one
 * or more byte strings (a hash's field and value, a sorted set's member and score); each part is
 * length-prefixed, so {@code ("ab","c")} and {@code ("a","bc")} differ. Unordered elements are kept by
 * their own digest, so an element that SSCAN/HSCAN/ZSCAN returns twice (during a rehash) counts once.
 */
final class ValueDigest {

    private final boolean ordered;
    private final MessageDigest sequence;
    private final Set<ByteBuffer> members;
    private long count;

    private ValueDigest(boolean ordered) {
        this.ordered = ordered;
        this.sequence = ordered ? sha256() : null;
        this.members = ordered ? null : new HashSet<>();
    }

    /** For lists and streams: the same elements in another order are another value. */
    static ValueDigest ordered() {
        return new ValueDigest(true);
    }

    /** For sets, hashes and sorted sets: order does not matter and repeated elements count once. */
    static ValueDigest unordered() {
        return new ValueDigest(false);
    }

    void add(byte[]... parts) {
        if (ordered) {
            writeElement(sequence, parts);
            count++;
        } else {
            MessageDigest element = sha256();
            writeElement(element, parts);
            if (members.add(ByteBuffer.wrap(element.digest()))) {
                count++;
            }
        }
    }

    /** Elements added (distinct ones when unordered). */
    long count() {
        return count;
    }

    /** The fingerprint; call once, after the last element. */
    byte[] finish() {
        if (ordered) {
            return sequence.digest();
        }
        List<ByteBuffer> sorted = new ArrayList<>(members);
        sorted.sort(null);
        MessageDigest all = sha256();
        sorted.forEach(member -> all.update(member.duplicate()));
        return all.digest();
    }

    /** A sorted-set score as bytes: the double's bits, so "0.1" and "0.10000000000000001" from two Redis versions agree. */
    static byte[] score(double score) {
        double canonical = score == 0.0 ? 0.0 : score; // -0.0 and 0.0 are the same score to Redis
        return ByteBuffer.allocate(Double.BYTES).putLong(Double.doubleToLongBits(canonical)).array();
    }

    static byte[] sha256(byte[] bytes) {
        return sha256().digest(bytes);
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }

    private static void writeElement(MessageDigest digest, byte[][] parts) {
        digest.update(ByteBuffer.allocate(Integer.BYTES).putInt(parts.length).array());
        for (byte[] part : parts) {
            digest.update(ByteBuffer.allocate(Integer.BYTES).putInt(part.length).array());
            digest.update(part);
        }
    }
}
