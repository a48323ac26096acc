package io.ferry.capture.stream;

import io.ferry.schemas.ReplicationPolicy;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Which propagated commands are published. Pure decision on one command: its name, its keys and
 * what the expiry tracker knows; {@link StreamMapper} applies it to blocks.
 */
public final class CommandPolicy {

    /** Propagated by Redis but never replicated to peers (each instance owns these). */
    static final Set<String> NEVER_REPLICATED = Set.of(
            "FLUSHDB", "FLUSHALL", "PUBLISH", "SPUBLISH", "SWAPDB", "SCRIPT", "FUNCTION", "PING", "REPLCONF");

    public sealed interface Decision {
    }

    /** Publish {@code argv} (already rewritten to absolute TTLs). */
    public record Publish(byte[][] argv, List<byte[]> keys) implements Decision {
    }

    /**
     * A repair's marker: the block's event takes {@code millis} as its source time, and is marked a re-publication after a
     * resync when {@code republished}; the marker itself is not published.
     */
    public record SourceTime(long millis, boolean republished) implements Decision {
    }

    /** Not published; counted under {@code command}. */
    public record Filter(String command, String reason) implements Decision {
    }

    /**
     * Writes the local apply agent's checkpoint for {@code origin}'s {@code partition}: the whole block is an
     * echo. {@code offset} is the checkpoint's new value (-1 if it is not a plain SET of a number): from then
     * on this instance has applied that peer partition up to there, which every later local write carries.
     */
    public record Echo(String origin, int partition, long offset) implements Decision {
    }

    private CommandPolicy() {
    }

    /** Why the source itself deleted a key: such DELs are not published, each instance does its own. */
    public enum SourceDeletion {
        EXPIRED("expired on the source"),
        EVICTED("evicted on the source");

        final String reason;

        SourceDeletion(String reason) {
            this.reason = reason;
        }
    }

    /**
     * @param argv           command with absolute TTLs
     * @param keys           its keys
     * @param sourceDeletion for a DEL/UNLINK the source made itself (its keys' TTLs ran out, or it evicted
     *                       them), why; null for any other command
     */
    public static Decision decide(String name, byte[][] argv, List<byte[]> keys, SourceDeletion sourceDeletion) {
        for (byte[] key : keys) {
            Optional<Map.Entry<String, Integer>> partition = ReplicationPolicy.checkpointPartition(key);
            if (partition.isPresent()) {
                Long offset = name.equals("SET") && argv.length >= 3 ? Argv.number(argv[2]) : null;
                return new Echo(partition.get().getKey(), partition.get().getValue(), offset == null ? -1 : offset);
            }
            Optional<String> origin = ReplicationPolicy.checkpointOrigin(key);
            if (origin.isPresent()) {
                return new Echo(origin.get(), 0, -1);
            }
        }
        if (name.equals("SET") && argv.length >= 3 && keys.size() == 1) {
            boolean republished = ReplicationPolicy.isRepublishTimeKey(keys.get(0));
            Long millis = republished || ReplicationPolicy.isRepairTimeKey(keys.get(0)) ? Argv.number(argv[2]) : null;
            if (millis != null) {
                return new SourceTime(millis, republished);
            }
        }
        if (NEVER_REPLICATED.contains(name)) {
            return new Filter(name, "never replicated");
        }
        for (byte[] key : keys) {
            if (ReplicationPolicy.isReservedKey(key)) {
                return new Filter(name, "reserved key");
            }
        }
        if (sourceDeletion != null) {
            return new Filter(name, sourceDeletion.reason);
        }
        return new Publish(argv, keys);
    }
}
