package io.ferry.cli.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.topology.conflict.ConflictPolicy;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class RepairWinnerTest {

    private static final long NOW = 1_800_000_000_000L;

    @Test
    void priorityPicksTheFirstListedInstanceAmongThoseCompared() {
        ConflictPolicy policy = ConflictPolicy.priority(List.of("eu", "us", "ap"));
        assertEquals("eu", winner(policy, touched("ap", NOW, "eu", -1, "us", NOW)));
        assertEquals("us", winner(policy, touched("ap", NOW, "us", NOW - 60_000)), "eu was not compared");
    }

    @Test
    void priorityListingNoneOfTheInstancesFallsBackToLastWriterWins() {
        assertEquals("b", winner(ConflictPolicy.priority(List.of("x")), touched("a", NOW - 10_000, "b", NOW)));
    }

    @Test
    void lastWriterWinsPicksTheCopyTouchedLast() {
        assertEquals("a", winner(ConflictPolicy.LWW, touched("a", NOW, "b", NOW - 5_000, "c", NOW - 3_000)));
    }

    @Test
    void lastWriterWinsTiesWithinOneSecondGoToTheGreaterInstanceId() {
        assertEquals("c", winner(ConflictPolicy.LWW, touched("a", NOW, "b", NOW - 60_000, "c", NOW - 400)));
        assertEquals("b", winner(ConflictPolicy.LWW, touched("a", NOW, "b", NOW, "c", NOW - 1_000)));
    }

    @Test
    void lastWriterWinsWithACopyMissingGoesToTheGreaterInstanceId() {
        Optional<RepairWinner.Decision> decision = RepairWinner.choose(ConflictPolicy.LWW, touched("a", NOW, "b", -1, "c", NOW - 9_000));
        assertEquals("c", decision.orElseThrow().instance());
        assertTrue(decision.get().why().contains("no write time on b"), decision.get().why());
        assertEquals("b", winner(ConflictPolicy.LWW, touched("a", NOW, "b", -1)), "a missing copy may win: the key is then deleted");
    }

    @Test
    void reportRepairsNothing() {
        assertEquals(Optional.empty(), RepairWinner.choose(ConflictPolicy.REPORT, touched("a", NOW, "b", NOW - 5_000)));
    }

    private static String winner(ConflictPolicy policy, Map<String, Long> touchedAt) {
        return RepairWinner.choose(policy, touchedAt).orElseThrow().instance();
    }

    private static Map<String, Long> touched(Object... idsAndTimes) {
        Map<String, Long> touchedAt = new LinkedHashMap<>();
        for (int i = 0; i < idsAndTimes.length; i += 2) {
            touchedAt.put((String) idsAndTimes[i], ((Number) idsAndTimes[i + 1]).longValue());
        }
        return touchedAt;
    }
}
