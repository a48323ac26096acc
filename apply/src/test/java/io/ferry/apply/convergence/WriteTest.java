package io.ferry.apply.convergence;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.ferry.schemas.AppliedVector;
import io.ferry.schemas.ChangeEvent;
import io.ferry.schemas.Command;
import io.ferry.schemas.EventKind;
import io.ferry.schemas.SourcePosition;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class WriteTest {

    private static Command cmd(String name, String... args) {
        return new Command(name, Arrays.stream(args).map(a -> ByteBuffer.wrap(a.getBytes(StandardCharsets.UTF_8))).toList());
    }

    private static Write transaction(Command... commands) {
        ChangeEvent event = ChangeEvent.newBuilder()
                .setOrigin("a")
                .setPosition(new SourcePosition("replid-a", 1000L, 0))
                .setKind(EventKind.TRANSACTION)
                .setDb(0)
                .setCommands(List.of(commands))
                .setKeys(List.of())
                .setCaptureTimeMillis(Instant.ofEpochMilli(1_700_000_000_000L))
                .build();
        return Write.of(event, 0, 7, AppliedVector.of(Map.of()));
    }

    private static byte[] key(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void everyCommandOfATransactionThatTouchedTheKeyCountsNotOnlyTheFirst() {
        Write write = transaction(cmd("SET", "s", "1"), cmd("ZINCRBY", "k", "1", "m"), cmd("SADD", "t", "x"), cmd("ZADD", "k", "49", "m"));
        assertEquals(List.of(cmd("ZINCRBY", "k", "1", "m"), cmd("ZADD", "k", "49", "m")), write.commandsFor(key("k")));
        assertEquals(cmd("ZINCRBY", "k", "1", "m"), write.commandFor(key("k")));
    }

    @Test
    void aKeyInAnyArgumentPositionIsFound() {
        Write write = transaction(cmd("MSET", "a", "1", "k", "2"), cmd("RPOPLPUSH", "src", "dst"), cmd("DEL", "x", "y"));
        assertEquals(List.of(cmd("MSET", "a", "1", "k", "2")), write.commandsFor(key("k")));
        assertEquals(List.of(cmd("RPOPLPUSH", "src", "dst")), write.commandsFor(key("dst")));
        assertEquals(List.of(cmd("DEL", "x", "y")), write.commandsFor(key("y")));
    }

    @Test
    void whenNoCommandNamesTheKeyEveryCommandCountsSoNothingIsTakenToCommuteUnseen() {
        Write write = transaction(cmd("SET", "s", "1"), cmd("SADD", "t", "x"));
        assertEquals(List.of(cmd("SET", "s", "1"), cmd("SADD", "t", "x")), write.commandsFor(key("k")));
    }
}
