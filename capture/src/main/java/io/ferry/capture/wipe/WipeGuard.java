package io.ferry.capture.wipe;

import io.ferry.schemas.AppliedVector;
import java.util.Optional;
import java.util.Set;

/**
 * Decides whether a source that answered FULLRESYNC under a new replication id lost its data (restarted
 * without persistence, flushed and rebuilt) rather than failed over. Publishing such a source's copy
 * would hand peers RESTOREs of whatever it holds now (peer keys replayed into it, possibly deleted on
 * their origin since) and nothing of what it lost; so a wiped source is not published at all until an
 * operator decides. Two signs, either one is enough:
 * <ul>
 *   <li>its copy holds fewer than {@code percent}% of the keys it had at the previous position (and it
 *       had some), Ferry's own keys left out on both sides;</li>
 *   <li>none of the apply checkpoints it held at the previous position is in its copy: the local apply
 *       agent's state went with its data (a failover keeps them, they are replicated like any key).</li>
 * </ul>
 * A full resync on the same replication id (the capture fell out of the backlog) is never a wipe.
 */
public final class WipeGuard {

    private WipeGuard() {
    }

    /** What a full resync's copy holds: user keys, and the peer partitions it has a checkpoint key for. */
    public record Copy(long keys, Set<String> checkpoints) {
    }

    /**
     * Whether the copy must be read before it is published: a new history after one the capture knew
     * something about, with the guard switched on.
     */
    public static boolean worthChecking(String previousReplid, String replid, long knownKeys, AppliedVector applied,
                                        int percent) {
        return percent > 0 && previousReplid != null && !previousReplid.equals(replid)
                && (knownKeys > 0 || !applied.isEmpty());
    }

    /** Why the source counts as wiped, or empty when its copy may be published. */
    public static Optional<String> check(String previousReplid, String replid, long knownKeys, AppliedVector applied,
                                         int percent, Copy copy) {
        if (!worthChecking(previousReplid, replid, knownKeys, applied, percent)) {
            return Optional.empty();
        }
        if (knownKeys > 0 && copy.keys() * 100 < knownKeys * percent) {
            return Optional.of("it holds " + copy.keys() + " key(s) where it had " + knownKeys + " (fewer than " + percent + "%)");
        }
        if (!applied.isEmpty() && applied.asMap().keySet().stream().noneMatch(copy.checkpoints()::contains)) {
            return Optional.of("none of the apply checkpoints it held (" + new String(applied.encode(),
                    java.nio.charset.StandardCharsets.UTF_8) + ") is in it, so the data they stood for is gone"
                    + " (it holds " + copy.keys() + " key(s), had " + (knownKeys < 0 ? "an unknown number" : knownKeys) + ")");
        }
        return Optional.empty();
    }
}
