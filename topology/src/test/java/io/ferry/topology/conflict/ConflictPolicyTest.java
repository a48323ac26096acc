package io.ferry.topology.conflict;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.ferry.topology.conflict.ConflictPolicy.Write;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConflictPolicyTest {

    private static Write write(String origin, long time) {
        return new Write(origin, time);
    }

    @Test
    void lastWriterWinsGivesTheLaterWriteWhicheverSideItIs() {
        assertEquals("a", ConflictPolicy.LWW.winner(write("a", 200), write("c", 100)));
        assertEquals("a", ConflictPolicy.LWW.winner(write("c", 100), write("a", 200)));
    }

    @Test
    void lastWriterWinsGivesEqualTimesToTheGreaterInstanceId() {
        assertEquals("c", ConflictPolicy.LWW.winner(write("a", 100), write("c", 100)));
        assertEquals("c", ConflictPolicy.LWW.winner(write("c", 100), write("a", 100)));
        assertEquals("us-1", ConflictPolicy.LWW.winner(write("eu-1", 5), write("us-1", 5)));
    }

    @Test
    void priorityGivesTheFirstListedOriginEvenIfItWroteEarlier() {
        ConflictPolicy policy = ConflictPolicy.priority(List.of("c", "a"));
        assertEquals("c", policy.winner(write("a", 200), write("c", 100)));
        assertEquals("c", policy.winner(write("c", 100), write("a", 200)));
    }

    @Test
    void priorityPrefersAListedOriginToAnUnlistedOne() {
        ConflictPolicy policy = ConflictPolicy.priority(List.of("c"));
        assertEquals("c", policy.winner(write("b", 900), write("c", 100)));
        assertEquals("c", policy.winner(write("c", 100), write("b", 900)));
    }

    @Test
    void prioritySettlesTwoUnlistedOriginsAsLastWriterWins() {
        ConflictPolicy policy = ConflictPolicy.priority(List.of("c"));
        assertEquals("b", policy.winner(write("a", 100), write("b", 200)));
        assertEquals("a", policy.winner(write("a", 300), write("b", 200)));
        assertEquals("b", policy.winner(write("a", 100), write("b", 100)));
    }

    @Test
    void reportSettlesNothing() {
        assertNull(ConflictPolicy.REPORT.winner(write("a", 100), write("c", 200)));
        assertNull(ConflictPolicy.REPORT.winner(write("a", 100), write("a", 100)));
    }

    @Test
    void theOrderIsCopiedAndCannotBeChanged() {
        List<String> order = new ArrayList<>(List.of("a", "c"));
        ConflictPolicy policy = ConflictPolicy.priority(order);
        order.set(0, "c");
        assertEquals(List.of("a", "c"), policy.order());
        assertThrows(UnsupportedOperationException.class, () -> policy.order().add("b"));
    }

    @Test
    void printsItsLabelAndOrder() {
        assertEquals("lww", ConflictPolicy.LWW.toString());
        assertEquals("report", ConflictPolicy.REPORT.toString());
        assertEquals("priority [eu-1, us-1]", ConflictPolicy.priority(List.of("eu-1", "us-1")).toString());
        assertEquals("priority", ConflictPolicy.Kind.PRIORITY.label());
    }
}
