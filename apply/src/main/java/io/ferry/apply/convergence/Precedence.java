package io.ferry.apply.convergence;

import io.ferry.topology.conflict.ConflictPolicy;

/**
 * Pure: which write of a concurrent pair that does not commute wins, decided alike on both instances of the pair.
 * The key's policy decides, except between a re-publication (a copy of its origin's whole value of a key a peer kept
 * when reconciling the origin's resync snapshot, or a repair settling such a copy's pairs) and a write that changes
 * only part of the value (INCR, RPUSH, HSET, EXPIRE, ...): the copy wins, and the partial write is applied on top of
 * it. The copy holds everything its origin had applied and its gap writes, and the partial write was made on a value
 * the copy's origin had not seen; letting the partial write's origin win instead would have it skip the copy (losing
 * the gap writes only the copy brings), and where the copy arrived first it has already replaced the partial
 * write's effect, which that origin's repair would then spread. The copy's origin applies the partial write after its copy and re-publishes
 * the result, so every instance ends with both. Against a whole-value write (SET, DEL, RESTORE … REPLACE) or another
 * copy, the copy counts as a write made at its source time (that of the newest write in the value it copies).
 */
final class Precedence {

    private Precedence() {
    }

    /** The origin whose write wins the pair on {@code key}, or null under {@code report}. */
    static String winner(ConflictPolicy policy, Write local, Write remote, byte[] key) {
        if (policy.kind() != ConflictPolicy.Kind.REPORT) {
            if (keepsLoser(local, remote, key)) {
                return local.origin();
            }
            if (keepsLoser(remote, local, key)) {
                return remote.origin();
            }
        }
        return policy.winner(new ConflictPolicy.Write(local.origin(), local.timeMillis()),
                new ConflictPolicy.Write(remote.origin(), remote.timeMillis()));
    }

    /**
     * Whether {@code winner} wins against {@code loser} as a copy against a partial write: the loser's effect must
     * then stay, applied on top of the copy (so the repair re-publishes the value, it never re-executes the copy).
     */
    static boolean keepsLoser(Write winner, Write loser, byte[] key) {
        return winner.republished() && loser.partial(key);
    }
}
