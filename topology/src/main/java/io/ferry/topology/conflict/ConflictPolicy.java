package io.ferry.topology.conflict;

import java.util.List;
import java.util.Locale;

/**
 * How concurrent writes to a key are settled, the same decision on every instance.
 *
 * <ul>
 *   <li>{@code lww}: the write with the later source time wins (the time its origin's capture read it);
 *       equal times go to the greater instance id.</li>
 *   <li>{@code priority}: the origin listed first in {@code order} wins; an origin not listed loses to
 *       any listed one; two unlisted origins are settled as {@code lww}.</li>
 *   <li>{@code report}: nothing is settled, the conflict is only recorded.</li>
 * </ul>
 */
public record ConflictPolicy(Kind kind, List<String> order) {

    public enum Kind {
        LWW, PRIORITY, REPORT;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public static final ConflictPolicy LWW = new ConflictPolicy(Kind.LWW, List.of());
    public static final ConflictPolicy REPORT = new ConflictPolicy(Kind.REPORT, List.of());

    public ConflictPolicy {
        order = List.copyOf(order);
    }

    public static ConflictPolicy priority(List<String> order) {
        return new ConflictPolicy(Kind.PRIORITY, order);
    }

    /** One side of a conflict as the policy sees it. */
    public record Write(String origin, long timeMillis) {
    }

    /** The origin whose write wins, or null under {@code report}. */
    public String winner(Write a, Write b) {
        return switch (kind) {
            case REPORT -> null;
            case LWW -> latest(a, b).origin();
            case PRIORITY -> {
                int ra = rank(a.origin());
                int rb = rank(b.origin());
                yield ra == rb ? latest(a, b).origin() : (ra < rb ? a : b).origin();
            }
        };
    }

    private int rank(String origin) {
        int index = order.indexOf(origin);
        return index < 0 ? Integer.MAX_VALUE : index;
    }

    private static Write latest(Write a, Write b) {
        if (a.timeMillis() != b.timeMillis()) {
            return a.timeMillis() > b.timeMillis() ? a : b;
        }
        return a.origin().compareTo(b.origin()) >= 0 ? a : b;
    }

    @Override
    public String toString() {
        return kind == Kind.PRIORITY ? "priority " + order : kind.label();
    }
}
