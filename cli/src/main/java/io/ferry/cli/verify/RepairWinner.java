package io.ferry.cli.verify;

import io.ferry.topology.conflict.ConflictPolicy;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Which instance's copy of a diverged key the others take, by the key's policy from the mesh file:
 * <ul>
 *   <li>{@code priority}: the first instance of {@code order} among the instances compared (none listed: as lww);</li>
 *   <li>{@code lww}: the instance whose copy was touched last (OBJECT IDLETIME, whole seconds, so copies
 *       touched within {@link #SAME_TIME_MILLIS} of each other tie); a tie, or a copy without a time (the key
 *       is missing there, or the instance does not track idle time), goes to the greater instance id;</li>
 *   <li>{@code report}: nobody; the key is only reported.</li>
 * </ul>
 * A missing key is a value like any other: when a missing copy wins, the key is deleted everywhere.
 */
final class RepairWinner {

    /** OBJECT IDLETIME counts whole seconds: two touches less than this apart cannot be ordered. */
    static final long SAME_TIME_MILLIS = 1000;

    /** The winning instance and why, for the report. */
    record Decision(String instance, String why) {
    }

    private RepairWinner() {
    }

    /**
     * @param touchedAtMillis every compared instance (in the order compared) → when its copy was last
     *                        touched, -1 when unknown or missing
     */
    static Optional<Decision> choose(ConflictPolicy policy, Map<String, Long> touchedAtMillis) {
        return switch (policy.kind()) {
            case REPORT -> Optional.empty();
            case PRIORITY -> Optional.of(policy.order().stream().filter(touchedAtMillis::containsKey).findFirst()
                    .map(first -> new Decision(first, "priority " + policy.order() + ": first listed"))
                    .orElseGet(() -> lastWriter(touchedAtMillis, "priority " + policy.order() + " lists none of them, so lww: ")));
            case LWW -> Optional.of(lastWriter(touchedAtMillis, "lww: "));
        };
    }

    private static Decision lastWriter(Map<String, Long> touchedAtMillis, String prefix) {
        Comparator<String> byId = Comparator.naturalOrder();
        List<String> unknown = touchedAtMillis.entrySet().stream().filter(e -> e.getValue() < 0).map(Map.Entry::getKey).toList();
        if (!unknown.isEmpty()) {
            String greatest = touchedAtMillis.keySet().stream().max(byId).orElseThrow();
            return new Decision(greatest, prefix + "no write time on " + String.join(", ", unknown)
                    + " (missing or idle time not tracked), so the greater instance id");
        }
        long latest = touchedAtMillis.values().stream().mapToLong(Long::longValue).max().orElseThrow();
        List<String> tied = touchedAtMillis.entrySet().stream()
                .filter(e -> e.getValue() > latest - SAME_TIME_MILLIS).map(Map.Entry::getKey).toList();
        String winner = tied.stream().max(byId).orElseThrow();
        return new Decision(winner, tied.size() == 1 ? prefix + "touched last"
                : prefix + String.join(", ", tied) + " touched within the same second, so the greater instance id");
    }
}
