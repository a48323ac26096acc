package io.ferry.apply.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.apply.conflict.ConflictType;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ReplyClassifierTest {

    private static final byte[] OK = "OK".getBytes(StandardCharsets.US_ASCII);

    @Test
    void plainRepliesAreApplied() {
        assertTrue(ReplyClassifier.classify(RawCommand.of("SET", "k", "v"), OK).applied());
        assertTrue(ReplyClassifier.classify(RawCommand.of("INCR", "k"), 5L).applied());
        assertTrue(ReplyClassifier.classify(RawCommand.of("DEL", "k"), 0L).applied(), "DEL of a missing key is not a conflict");
    }

    @Test
    void unmetWriteConditionsAreConditionalWriteConflicts() {
        assertEquals(ConflictType.CONDITIONAL_WRITE, ReplyClassifier.classify(RawCommand.of("SETNX", "k", "v"), 0L).conflict());
        assertEquals(ConflictType.CONDITIONAL_WRITE, ReplyClassifier.classify(RawCommand.of("HSETNX", "h", "f", "v"), 0L).conflict());
        assertEquals(ConflictType.CONDITIONAL_WRITE, ReplyClassifier.classify(RawCommand.of("MSETNX", "a", "1", "b", "2"), 0L).conflict());
        assertEquals(ConflictType.CONDITIONAL_WRITE, ReplyClassifier.classify(RawCommand.of("SET", "k", "v", "nx"), Reply.NIL).conflict());
        assertEquals(ConflictType.CONDITIONAL_WRITE,
                ReplyClassifier.classify(RawCommand.of("SET", "k", "v", "PXAT", "123", "XX"), Reply.NIL).conflict());
        assertTrue(ReplyClassifier.classify(RawCommand.of("SETNX", "k", "v"), 1L).applied());
        assertTrue(ReplyClassifier.classify(RawCommand.of("SET", "k", "v", "NX"), OK).applied());
    }

    @Test
    void aValueThatLooksLikeAnOptionIsNotOne() {
        assertTrue(ReplyClassifier.classify(RawCommand.of("SET", "k", "NX"), Reply.NIL).applied());
        assertTrue(ReplyClassifier.classify(RawCommand.of("SET", "k", "v", "NX", "GET"), Reply.NIL).applied(),
                "with GET a nil reply means there was no old value");
    }

    @Test
    void restoreOntoAnExistingKeyIsAConflictNotADeadLetter() {
        ReplyVerdict verdict = ReplyClassifier.classify(RawCommand.of("RESTORE", "k", "0", "payload", "ABSTTL"),
                new RedisError("BUSYKEY Target key name already exists."));
        assertEquals(ConflictType.RESTORE_EXISTS, verdict.conflict());
        assertTrue(!verdict.deadLetter());
    }

    @Test
    void wrongTypeIsATypeClashAndADeadLetter() {
        ReplyVerdict verdict = ReplyClassifier.classify(RawCommand.of("LPUSH", "k", "v"),
                new RedisError("WRONGTYPE Operation against a key holding the wrong kind of value"));
        assertEquals(ConflictType.TYPE_CLASH, verdict.conflict());
        assertEquals("WRONGTYPE", verdict.deadLetterReason());
    }

    @Test
    void otherErrorsAreDeadLettersByTheirCode() {
        assertEquals("OOM", ReplyClassifier.classify(RawCommand.of("SET", "k", "v"),
                new RedisError("OOM command not allowed when used memory > 'maxmemory'.")).deadLetterReason());
        ReplyVerdict generic = ReplyClassifier.classify(RawCommand.of("INCR", "k"), new RedisError("ERR value is not an integer or out of range"));
        assertEquals("ERR", generic.deadLetterReason());
        assertNull(generic.conflict());
        assertEquals("ERR", ReplyClassifier.reasonOf(new RedisError("weird lower-case error")));
    }
}
