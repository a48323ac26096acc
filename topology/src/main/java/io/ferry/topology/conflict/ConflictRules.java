package io.ferry.topology.conflict;

import java.util.List;

/**
 * The mesh file's {@code conflicts:} list: key patterns mapped to policies, first match wins; a key no
 * pattern matches gets {@code lww}.
 */
public record ConflictRules(List<Rule> rules) {

    /** One entry of the list. */
    public record Rule(KeyPattern match, ConflictPolicy policy) {
    }

    public static final ConflictRules DEFAULT = new ConflictRules(List.of());

    public ConflictRules {
        rules = List.copyOf(rules);
    }

    public ConflictPolicy policyFor(byte[] key) {
        for (Rule rule : rules) {
            if (rule.match().matches(key)) {
                return rule.policy();
            }
        }
        return ConflictPolicy.LWW;
    }
}
