package io.ferry.capture.stream;

import io.ferry.schemas.ReplicationPolicy;
import java.util.List;
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

    /** Not published; counted under {@code command}. */
    public record Filter(String command, String reason) implements Decision {
    }

    /** Writes the local apply agent's checkpoint for {@code origin}: the whole block is an echo. */
    public record Echo(String origin) implements Decision {
    }

    private CommandPolicy() {
    }

    /**
     * @param argv    command with absolute TTLs
     * @param keys    its keys
     * @param expired whether a single-key DEL/UNLINK hits a key whose tracked TTL has run out
     */
    public static Decision decide(String name, byte[][] argv, List<byte[]> keys, boolean expired) {
        for (byte[] key : keys) {
            Optional<String> origin = ReplicationPolicy.checkpointOrigin(key);
            if (origin.isPresent()) {
                return new Echo(origin.get());
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
        if (expired) {
            return new Filter(name, "expired on the source");
        }
        return new Publish(argv, keys);
    }
}
