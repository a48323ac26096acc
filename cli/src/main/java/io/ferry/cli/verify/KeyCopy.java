package io.ferry.cli.verify;

import io.ferry.cli.inspect.ByteText;
import java.time.Instant;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * One instance's copy of a key as {@code ferry verify} read it: type, size (length or cardinality), a
 * digest of the content, the first bytes for a person to recognise it, the absolute expiry, and how long
 * the key had been idle (OBJECT IDLETIME, read before anything else touched it).
 *
 * @param type           Redis's TYPE answer; {@code none} when the key does not exist
 * @param size           bytes of a string, elements of a collection, entries of a stream
 * @param digest         SHA-256 of the content ({@link ValueDigest}); empty when missing or unreadable
 * @param preview        first bytes of a string, first element of a list, first id of a stream; may be null
 * @param expireAtMillis absolute expiry in Unix milliseconds, -1 when the key does not expire
 * @param idleSeconds    OBJECT IDLETIME, -1 when unknown (missing key, LFU policy, not permitted)
 * @param readAtMillis   when the read started (this machine's clock)
 * @param error          why the copy could not be read (it changed type mid-read, …), null when it was
 */
record KeyCopy(String type, long size, byte[] digest, byte[] preview, long expireAtMillis, long idleSeconds,
               long readAtMillis, String error) {

    static final String MISSING = "none";
    /** Bytes of the preview shown; a longer one ends in an ellipsis. */
    static final int PREVIEW_BYTES = 24;

    static KeyCopy missing(long readAtMillis) {
        return new KeyCopy(MISSING, 0, new byte[0], null, -1, -1, readAtMillis, null);
    }

    static KeyCopy unreadable(String error, long readAtMillis) {
        return new KeyCopy("?", 0, new byte[0], null, -1, -1, readAtMillis, error);
    }

    boolean exists() {
        return error == null && !MISSING.equals(type);
    }

    boolean readable() {
        return error == null;
    }

    /** Same type, size, content and expiry as {@code other}, to the millisecond: the copy has not changed. */
    boolean sameAs(KeyCopy other) {
        return readable() && other.readable() && type.equals(other.type) && size == other.size
                && Arrays.equals(digest, other.digest) && expireAtMillis == other.expireAtMillis;
    }

    /** When the key was last touched on its instance, estimated from the idle time; -1 when unknown. */
    long touchedAtMillis() {
        return exists() && idleSeconds >= 0 ? readAtMillis - idleSeconds * 1000 : -1;
    }

    /** One line for a person: type and size, first bytes, expiry, digest. */
    String describe() {
        if (error != null) {
            return "(unreadable: " + error + ")";
        }
        if (!exists()) {
            return "(missing)";
        }
        StringBuilder line = new StringBuilder(type).append(' ').append(size).append(' ').append(unit());
        if (preview != null) {
            boolean cut = preview.length > PREVIEW_BYTES;
            line.append(' ').append(type.equals("string") ? "" : "first ")
                    .append(ByteText.quote(cut ? Arrays.copyOf(preview, PREVIEW_BYTES) : preview)).append(cut ? "…" : "");
        }
        line.append(", ").append(expireAtMillis < 0 ? "no ttl" : "expires " + Instant.ofEpochMilli(expireAtMillis));
        line.append(", sha256 ").append(HexFormat.of().formatHex(digest, 0, Math.min(6, digest.length)));
        return line.toString();
    }

    private String unit() {
        return switch (type) {
            case "string" -> "bytes";
            case "list" -> "elements";
            case "set", "zset" -> "members";
            case "hash" -> "fields";
            case "stream" -> "entries";
            default -> "bytes (DUMP)";
        };
    }
}
