package io.ferry.schemas;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class StagedCommandTest {

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void theEvalCarriesTheCommandAndSaysWhereEachStagedValueGoes() {
        byte[] stage1 = ReplicationPolicy.stageKey("eu-1", 0, 0, b("user:{42}:blob"));
        byte[] stage2 = ReplicationPolicy.stageKey("eu-1", 0, 1, b("user:{42}:blob"));
        byte[][] argv = {b("MSET"), b("user:{42}:blob"), new byte[0], b("user:{42}:small"), new byte[0]};
        byte[][] eval = StagedCommand.eval(argv, List.of(new StagedCommand.Stage(2, 1000, stage1), new StagedCommand.Stage(4, 7, stage2)));
        assertEquals("EVAL", new String(eval[0], StandardCharsets.US_ASCII));
        assertEquals(List.of("2", new String(stage1, StandardCharsets.UTF_8), new String(stage2, StandardCharsets.UTF_8), "2", "3", "1000", "5", "7",
                        "MSET", "user:{42}:blob", "", "user:{42}:small", ""),
                Arrays.stream(eval).skip(2).map(a -> new String(a, StandardCharsets.UTF_8)).toList());
        byte[][] inner = StagedCommand.inner(Arrays.asList(eval).subList(1, eval.length));
        assertEquals(argv.length, inner.length);
        for (int i = 0; i < argv.length; i++) {
            assertArrayEquals(argv[i], inner[i]);
        }
        assertNull(StagedCommand.inner(List.of(b("return 1"), b("0"))), "not Ferry's script");
    }

    @Test
    void aStageKeyIsReservedAndSharesItsKeysClusterSlot() {
        byte[] stage = ReplicationPolicy.stageKey("eu-1", 3, 0, b("user:{42}:blob"));
        assertEquals("__ferry:stage:eu-1:3:0:{42}", new String(stage, StandardCharsets.UTF_8));
        assertEquals(true, ReplicationPolicy.isReservedKey(stage));
        assertEquals("__ferry:stage:eu-1:3:1:{plain}", new String(ReplicationPolicy.stageKey("eu-1", 3, 1, b("plain")), StandardCharsets.UTF_8));
    }
}
