package io.ferry.capture.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class KeyExtractorTest {

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** A COMMAND reply in the shape Redis 7 sends (name, arity, flags, first, last, step, …, subcommands at 9). */
    private static final KeyExtractor KEYS = KeyExtractor.fromCommandReply(List.of(
            List.of(b("set"), -3L, List.of("write"), 1L, 1L, 1L),
            List.of(b("mset"), -3L, List.of("write"), 1L, -1L, 2L),
            List.of(b("publish"), 3L, List.of("pubsub"), 0L, 0L, 0L),
            List.of(b("xgroup"), -2L, List.of(), 0L, 0L, 0L, List.of(), List.of(), List.of(),
                    List.of(List.of(b("xgroup|create"), -5L, List.of("write"), 2L, 2L, 1L)))));

    private static List<String> keys(KeyExtractor extractor, String command) {
        byte[][] argv = Arrays.stream(command.split(" ")).map(KeyExtractorTest::b).toArray(byte[][]::new);
        return extractor.keys(argv).stream().map(k -> new String(k, StandardCharsets.UTF_8)).toList();
    }

    @Test
    void takesKeyPositionsFromTheServersCommandTable() {
        assertEquals(List.of("k"), keys(KEYS, "SET k v"));
        assertEquals(List.of("a", "b", "c"), keys(KEYS, "MSET a 1 b 2 c 3"));
        assertEquals(List.of(), keys(KEYS, "PUBLISH channel message"));
        assertEquals(List.of("stream"), keys(KEYS, "XGROUP CREATE stream group $"));
    }

    @Test
    void followsNumkeysAndStoreOptionsOfCommandsWithMovingKeys() {
        assertEquals(List.of("dst", "a", "b"), keys(KEYS, "ZUNIONSTORE dst 2 a b WEIGHTS 1 2"));
        assertEquals(List.of("src", "dst"), keys(KEYS, "SORT src BY nosort STORE dst"));
        assertEquals(List.of("k1", "k2"), keys(KEYS, "EVAL script 2 k1 k2 arg"));
        assertEquals(List.of("geo", "out"), keys(KEYS, "GEORADIUS geo 15 37 200 km STOREDIST out"));
    }

    @Test
    void takesTheFirstArgumentWithoutATable() {
        assertEquals(List.of("k"), keys(KeyExtractor.withoutMetadata(), "MYMODULE.SET k v"));
    }
}
