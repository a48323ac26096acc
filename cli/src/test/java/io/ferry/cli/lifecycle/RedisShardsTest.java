package io.ferry.cli.lifecycle;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.cli.ExitCode;
import io.ferry.cli.OperatorException;
import io.ferry.resp.RespMessage;
import io.ferry.resp.cluster.SlotMap;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RedisShardsTest {

    private static final String NODES = """
            07c3 127.0.0.1:30001@40001 myself,master - 0 0 3 connected 0-5460 [93->-292f] [5461-<-a1b2]
            292f 127.0.0.1:30002@40002 master - 0 1700000000000 2 connected 5462-10922
            a1b2 127.0.0.1:30003@40003 master - 0 1700000000000 4 connected 10923-16383
            """;

    @Test
    void aMastersOwnLineGivesItsConfigEpochAndItsHalfDoneSlotMoves() {
        RedisShards.OwnView own = RedisShards.ownView(NODES);
        assertEquals(3, own.configEpoch());
        assertEquals(List.of("[93->-292f]", "[5461-<-a1b2]"), own.openMoves());
    }

    @Test
    void aMasterMovingNothingHasNoOpenMoves() {
        String quiet = "292f 127.0.0.1:30002@40002 myself,master - 0 0 2 connected 5461-10922\n"
                + "07c3 127.0.0.1:30001@40001 master - 0 1700000000000 3 connected 0-5460 [93->-292f]\n";
        RedisShards.OwnView own = RedisShards.ownView(quiet);
        assertEquals(2, own.configEpoch());
        assertEquals(List.of(), own.openMoves(), "another master's moves, as gossip shows them, are its own view's business");
    }

    /** A slot moved away and back while the join copied leaves the slot map as it was; the masters' epochs tell. */
    @Test
    void slotsThatChangedHandsAndCameBackAreRefusedWithWhatToDo() {
        SlotMap map = slotMap();
        RedisShards before = new RedisShards(List.of(), map, Map.of("07c3", 3L, "292f", 2L, "a1b2", 4L));
        assertDoesNotThrow(() -> new RedisShards(List.of(), map, Map.of("07c3", 3L, "292f", 2L, "a1b2", 4L)).requireSameSlots(before, "B"));
        OperatorException refused = assertThrows(OperatorException.class,
                () -> new RedisShards(List.of(), map, Map.of("07c3", 3L, "292f", 5L, "a1b2", 4L)).requireSameSlots(before, "B"));
        assertEquals(ExitCode.NOT_READY, refused.exitCode());
        assertTrue(refused.getMessage().contains("--replace-data once no slot moves"), refused.getMessage());
    }

    private static SlotMap slotMap() {
        List<Object> master = List.of("127.0.0.1".getBytes(StandardCharsets.UTF_8), 30001L, "07c3".getBytes(StandardCharsets.UTF_8));
        return SlotMap.fromSlots(new RespMessage.Array(List.of(List.of(0L, 16383L, master)), 0), "127.0.0.1");
    }
}
