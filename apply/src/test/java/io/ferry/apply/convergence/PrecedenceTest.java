package io.ferry.apply.convergence;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.schemas.AppliedVector;
import io.ferry.schemas.ChangeEvent;
import io.ferry.schemas.Command;
import io.ferry.schemas.EventKind;
import io.ferry.schemas.SourcePosition;
import io.ferry.topology.conflict.ConflictPolicy;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** "b" re-published key k (a copy of its value made at time 100); "a" wrote k concurrently, later or earlier. */
class PrecedenceTest {

    private static final byte[] K = "k".getBytes(StandardCharsets.UTF_8);

    private static Write write(String origin, long millis, boolean republished, String... argv) {
        List<ByteBuffer> args = Arrays.stream(argv).skip(1).map(a -> ByteBuffer.wrap(a.getBytes(StandardCharsets.UTF_8))).toList();
        ChangeEvent event = ChangeEvent.newBuilder().setOrigin(origin).setPosition(new SourcePosition("r-" + origin, 10L, 0))
                .setKind(EventKind.COMMAND).setDb(0).setCommands(List.of(new Command(argv[0], args)))
                .setKeys(List.of(ByteBuffer.wrap(K))).setCaptureTimeMillis(Instant.ofEpochMilli(millis)).build();
        return Write.of(event, 0, 5, AppliedVector.EMPTY, republished);
    }

    private static Write copy(long millis) {
        return write("b", millis, true, "RESTORE", "k", "0", "payload", "REPLACE", "ABSTTL");
    }

    @Test
    void aCopyWinsAgainstALaterCounterOrListWriteOnBothSides() {
        for (Write partial : List.of(write("a", 200, false, "INCR", "k"), write("a", 200, false, "RPUSH", "k", "x"),
                write("a", 200, false, "HSET", "k", "f", "v"), write("a", 200, false, "PEXPIREAT", "k", "9"))) {
            assertFalse(ConflictClassifier.classify(copy(100).commandsFor(K), partial.commandsFor(K)).commutes(),
                    "a pair to settle, not to keep both of");
            assertEquals("b", Precedence.winner(ConflictPolicy.LWW, copy(100), partial, K), partial.event().toString());
            assertEquals("b", Precedence.winner(ConflictPolicy.LWW, partial, copy(100), K), "the same decision on a's side");
            assertEquals("b", Precedence.winner(ConflictPolicy.priority(List.of("a", "b")), partial, copy(100), K));
            assertTrue(Precedence.keepsLoser(copy(100), partial, K), "the partial write stays, on top of the copy");
        }
    }

    @Test
    void aCopyLosesToAWholeValueWriteMadeAfterItsValueAndBeatsAnEarlierOne() {
        Write later = write("a", 200, false, "SET", "k", "v");
        assertEquals("a", Precedence.winner(ConflictPolicy.LWW, copy(100), later, K));
        assertEquals("a", Precedence.winner(ConflictPolicy.LWW, later, copy(100), K));
        assertEquals("a", Precedence.winner(ConflictPolicy.LWW, copy(100), write("a", 200, false, "DEL", "k"), K));
        assertEquals("b", Precedence.winner(ConflictPolicy.LWW, copy(300), later, K));
        assertFalse(Precedence.keepsLoser(copy(300), later, K), "a losing whole-value write is erased by re-executing the copy");
    }

    @Test
    void twoCopiesAndTwoClientWritesFollowThePolicy() {
        Write otherCopy = write("a", 200, true, "RESTORE", "k", "0", "p", "REPLACE", "ABSTTL");
        assertEquals("a", Precedence.winner(ConflictPolicy.LWW, copy(100), otherCopy, K));
        assertEquals("b", Precedence.winner(ConflictPolicy.priority(List.of("b", "a")), copy(100), otherCopy, K));
        Write userRestore = write("b", 100, false, "RESTORE", "k", "0", "payload", "REPLACE", "ABSTTL");
        assertEquals("a", Precedence.winner(ConflictPolicy.LWW, userRestore, write("a", 200, false, "INCR", "k"), K),
                "a client's write is no copy: lww");
        assertFalse(Precedence.keepsLoser(userRestore, write("a", 200, false, "INCR", "k"), K));
    }

    @Test
    void reportSettlesNothingEvenForACopy() {
        assertNull(Precedence.winner(ConflictPolicy.REPORT, copy(100), write("a", 200, false, "INCR", "k"), K));
    }
}
