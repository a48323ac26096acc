package io.ferry.topology.conflict;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConflictRulesTest {

    private static byte[] key(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static ConflictRules.Rule rule(String glob, ConflictPolicy policy) {
        return new ConflictRules.Rule(new KeyPattern(glob), policy);
    }

    @Test
    void theFirstMatchingRuleWins() {
        ConflictPolicy eu = ConflictPolicy.priority(List.of("eu-1", "us-1"));
        ConflictRules rules = new ConflictRules(List.of(
                rule("session:admin:*", ConflictPolicy.REPORT),
                rule("session:*", eu),
                rule("*", ConflictPolicy.LWW)));
        assertSame(ConflictPolicy.REPORT, rules.policyFor(key("session:admin:1")));
        assertSame(eu, rules.policyFor(key("session:42")));
        assertSame(ConflictPolicy.LWW, rules.policyFor(key("cart:42")));
    }

    @Test
    void aLaterBroaderRuleDoesNotOverrideAnEarlierOne() {
        ConflictRules rules = new ConflictRules(List.of(rule("*", ConflictPolicy.REPORT), rule("session:*", ConflictPolicy.LWW)));
        assertSame(ConflictPolicy.REPORT, rules.policyFor(key("session:1")));
    }

    @Test
    void aKeyNoRuleMatchesGetsLastWriterWins() {
        ConflictRules rules = new ConflictRules(List.of(rule("session:*", ConflictPolicy.REPORT)));
        assertSame(ConflictPolicy.LWW, rules.policyFor(key("cart:1")));
        assertSame(ConflictPolicy.LWW, ConflictRules.DEFAULT.policyFor(key("anything")));
        assertSame(ConflictPolicy.LWW, ConflictRules.DEFAULT.policyFor(new byte[0]));
    }

    @Test
    void theRulesAreCopied() {
        java.util.ArrayList<ConflictRules.Rule> list = new java.util.ArrayList<>(List.of(rule("a*", ConflictPolicy.REPORT)));
        ConflictRules rules = new ConflictRules(list);
        list.clear();
        assertEquals(1, rules.rules().size());
        assertSame(ConflictPolicy.REPORT, rules.policyFor(key("abc")));
    }
}
