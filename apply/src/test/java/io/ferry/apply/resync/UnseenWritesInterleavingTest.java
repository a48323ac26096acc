package io.ferry.apply.resync;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.ferry.apply.redis.RawCommand;
import io.ferry.schemas.AppliedVector;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** The order a kept key's unseen writes are run again in when it is rebuilt: the order they took effect here. */
class UnseenWritesInterleavingTest {

    private static UnseenWritesReader.Step own(long offset, Map<String, Long> applied, String element) {
        return new UnseenWritesReader.Step(0, offset, AppliedVector.of(applied), List.of(RawCommand.of("RPUSH", "l", element)), false);
    }

    private static UnseenWritesReader.Step third(long offset, String element) {
        return new UnseenWritesReader.Step(1, offset, null, List.of(RawCommand.of("RPUSH", "l", element)), false);
    }

    private static List<String> elements(List<RawCommand> commands) {
        return commands.stream().map(c -> new String(c.args().get(1), java.nio.charset.StandardCharsets.UTF_8)).toList();
    }

    @Test
    void aThirdInstancesWriteComesBeforeTheFirstOwnWriteThatHadAppliedIt() {
        Map<String, List<UnseenWritesReader.Step>> third = new TreeMap<>();
        third.put("B:0", List.of(third(10, "b10"), third(11, "b11"), third(15, "b15")));
        third.put("D:0", List.of(third(3, "d3")));
        List<UnseenWritesReader.Step> own = List.of(
                own(100, Map.of("B:0", 9L), "c100"),            // applied nothing unseen of B yet
                own(101, Map.of("B:0", 11L, "D:0", 2L), "c101"), // B's 10 and 11 were applied before it
                own(102, Map.of("B:0", 11L, "D:0", 3L), "c102")); // then D's 3
        assertEquals(List.of("c100", "b10", "b11", "c101", "d3", "c102", "b15"),
                elements(UnseenWritesReader.interleaved(own, third)), "B's 15 was applied after the last own write");
    }

    @Test
    void withoutOwnWritesEachPartitionsWritesRunInTheirOrder() {
        Map<String, List<UnseenWritesReader.Step>> third = new TreeMap<>();
        third.put("B:0", List.of(third(1, "b1"), third(2, "b2")));
        assertEquals(List.of("b1", "b2"), elements(UnseenWritesReader.interleaved(List.of(), third)));
        assertEquals(List.of("c1"), elements(UnseenWritesReader.interleaved(List.of(own(1, Map.of(), "c1")), new TreeMap<>())));
    }
}
