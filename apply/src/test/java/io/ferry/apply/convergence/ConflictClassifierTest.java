package io.ferry.apply.convergence;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.apply.conflict.ConflictType;
import io.ferry.apply.convergence.ConflictClassifier.Verdict;
import io.ferry.schemas.Command;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConflictClassifierTest {

    /** A command as captured: the name, then the arguments after it (the key first). */
    private static Command cmd(String name, String... args) {
        List<ByteBuffer> list = new ArrayList<>();
        for (String arg : args) {
            list.add(ByteBuffer.wrap(arg.getBytes(StandardCharsets.UTF_8)));
        }
        return new Command(name, list);
    }

    private static Verdict classify(Command a, Command b) {
        Verdict verdict = ConflictClassifier.classify(a, b);
        assertEquals(verdict, ConflictClassifier.classify(b, a), "the verdict must not depend on which side is which");
        return verdict;
    }

    private static void assertVerdict(ConflictType type, boolean commutes, Command a, Command b) {
        assertEquals(new Verdict(type, commutes), classify(a, b));
    }

    @Test
    void counterPairsCommute() {
        assertVerdict(ConflictType.COUNTER, true, cmd("INCR", "k"), cmd("INCR", "k"));
        assertVerdict(ConflictType.COUNTER, true, cmd("INCRBY", "k", "5"), cmd("DECR", "k"));
        assertVerdict(ConflictType.COUNTER, true, cmd("DECRBY", "k", "2"), cmd("INCRBY", "k", "-7"));
    }

    @Test
    void commandNamesAreMatchedWhateverTheirCase() {
        assertVerdict(ConflictType.COUNTER, true, cmd("incr", "k"), cmd("IncrBy", "k", "5"));
    }

    @Test
    void aCounterAgainstAWholeValueWriteIsAValueConflict() {
        assertVerdict(ConflictType.VALUE, false, cmd("INCR", "k"), cmd("SET", "k", "7"));
        assertVerdict(ConflictType.VALUE, false, cmd("INCRBYFLOAT", "k", "1.5"), cmd("INCR", "k"));
    }

    @Test
    void writesOfTwoTypesAreATypeClash() {
        assertVerdict(ConflictType.TYPE_CLASH, false, cmd("SET", "k", "v"), cmd("RPUSH", "k", "x"));
        assertVerdict(ConflictType.TYPE_CLASH, false, cmd("HSET", "k", "f", "v"), cmd("SADD", "k", "m"));
        assertVerdict(ConflictType.TYPE_CLASH, false, cmd("ZADD", "k", "1", "m"), cmd("XADD", "k", "*", "f", "v"));
        assertVerdict(ConflictType.TYPE_CLASH, false, cmd("INCR", "k"), cmd("LPUSH", "k", "x"));
    }

    @Test
    void aDeleteAgainstAWriteIsDeleteWrite() {
        assertVerdict(ConflictType.DELETE_WRITE, false, cmd("DEL", "k"), cmd("SET", "k", "v"));
        assertVerdict(ConflictType.DELETE_WRITE, false, cmd("UNLINK", "k"), cmd("HSET", "k", "f", "v"));
        assertVerdict(ConflictType.DELETE_WRITE, false, cmd("GETDEL", "k"), cmd("RPUSH", "k", "x"));
    }

    @Test
    void aTtlChangeAgainstAWriteIsATtlConflict() {
        assertVerdict(ConflictType.TTL, false, cmd("PEXPIREAT", "k", "1700000000000"), cmd("SET", "k", "v"));
        assertVerdict(ConflictType.TTL, false, cmd("PERSIST", "k"), cmd("EXPIRE", "k", "10"));
        assertVerdict(ConflictType.TTL, false, cmd("EXPIRE", "k", "10"), cmd("SADD", "k", "m"));
    }

    @Test
    void conditionalWritesAreConditionalWriteConflicts() {
        assertVerdict(ConflictType.CONDITIONAL_WRITE, false, cmd("SETNX", "k", "v"), cmd("SET", "k", "w"));
        assertVerdict(ConflictType.CONDITIONAL_WRITE, false, cmd("SET", "k", "v", "NX"), cmd("SET", "k", "w"));
        assertVerdict(ConflictType.CONDITIONAL_WRITE, false, cmd("SET", "k", "v", "xx", "PX", "100"), cmd("SET", "k", "w"));
        assertVerdict(ConflictType.CONDITIONAL_WRITE, false, cmd("HSETNX", "k", "f", "v"), cmd("HSET", "k", "g", "v"));
    }

    @Test
    void listWritesRaceOnOrder() {
        assertVerdict(ConflictType.LIST_ORDER, false, cmd("RPUSH", "k", "x"), cmd("LPOP", "k"));
        assertVerdict(ConflictType.LIST_ORDER, false, cmd("RPUSH", "k", "x"), cmd("RPUSH", "k", "y"));
    }

    @Test
    void hashWritesOnDistinctFieldsCommute() {
        assertVerdict(ConflictType.MEMBER, true, cmd("HSET", "k", "f", "1", "g", "2"), cmd("HSET", "k", "h", "1"));
        assertVerdict(ConflictType.MEMBER, true, cmd("HINCRBY", "k", "f", "1"), cmd("HSET", "k", "g", "f"));
        assertVerdict(ConflictType.MEMBER, true, cmd("HDEL", "k", "f"), cmd("HDEL", "k", "g"));
    }

    /**
     * k = {g} with a TTL. HDEL g empties k on its origin (deleting it and its TTL) before HSET f arrives and
     * makes a new k without TTL; where HSET f came first, k never went away and keeps its TTL.
     */
    @Test
    void removingAMemberAgainstAddingAnotherDoesNotCommuteSinceTheRemovalMayDeleteTheKeyAndItsTtl() {
        assertVerdict(ConflictType.MEMBER, false, cmd("HSET", "k", "f", "1"), cmd("HDEL", "k", "g"));
        assertVerdict(ConflictType.MEMBER, false, cmd("HINCRBY", "k", "f", "1"), cmd("HDEL", "k", "g"));
        assertVerdict(ConflictType.MEMBER, false, cmd("SADD", "k", "a"), cmd("SREM", "k", "b"));
        assertVerdict(ConflictType.MEMBER, false, cmd("ZADD", "k", "1", "a"), cmd("ZREM", "k", "b"));
        assertVerdict(ConflictType.MEMBER, false, cmd("ZINCRBY", "k", "1", "a"), cmd("ZREM", "k", "b"));
    }

    @Test
    void hashWritesOnTheSameFieldDoNotCommute() {
        assertVerdict(ConflictType.MEMBER, false, cmd("HSET", "k", "f", "1"), cmd("HSET", "k", "f", "2"));
        assertVerdict(ConflictType.MEMBER, false, cmd("HSET", "k", "a", "1", "f", "1"), cmd("HDEL", "k", "f"));
    }

    @Test
    void hashIncrementsOfOneFieldCommute() {
        assertVerdict(ConflictType.MEMBER, true, cmd("HINCRBY", "k", "f", "1"), cmd("HINCRBY", "k", "f", "5"));
    }

    @Test
    void setAddsCommuteAndSoDoSetRemoves() {
        assertVerdict(ConflictType.MEMBER, true, cmd("SADD", "k", "a"), cmd("SADD", "k", "b"));
        assertVerdict(ConflictType.MEMBER, true, cmd("SADD", "k", "a"), cmd("SADD", "k", "a"));
        assertVerdict(ConflictType.MEMBER, true, cmd("SREM", "k", "a"), cmd("SREM", "k", "a"));
        assertVerdict(ConflictType.MEMBER, true, cmd("SREM", "k", "a"), cmd("SREM", "k", "b"));
    }

    @Test
    void addingAndRemovingTheSameSetMemberDoesNotCommute() {
        assertVerdict(ConflictType.MEMBER, false, cmd("SADD", "k", "a", "b"), cmd("SREM", "k", "b"));
    }

    @Test
    void setWritesOnTheWholeKeyDoNotCommute() {
        assertVerdict(ConflictType.MEMBER, false, cmd("SPOP", "k"), cmd("SADD", "k", "a"));
    }

    @Test
    void wholeNumberSortedSetIncrementsCommute() {
        assertVerdict(ConflictType.MEMBER, true, cmd("ZINCRBY", "k", "1", "m"), cmd("ZINCRBY", "k", "2", "m"));
        assertVerdict(ConflictType.MEMBER, true, cmd("ZINCRBY", "k", "-3", "m"), cmd("ZINCRBY", "k", "2.0", "m"));
    }

    /** 0.5 + 0.1 + 0.7 is 1.2999999999999998, 0.5 + 0.7 + 0.1 is 1.3: the order shows in the score. */
    @Test
    void fractionalSortedSetIncrementsDoNotCommute() {
        assertTrue((0.5 + 0.1) + 0.7 != (0.5 + 0.7) + 0.1, "an order that shows");
        assertVerdict(ConflictType.MEMBER, false, cmd("ZINCRBY", "k", "0.1", "m"), cmd("ZINCRBY", "k", "0.7", "m"));
        assertVerdict(ConflictType.MEMBER, false, cmd("ZINCRBY", "k", "1", "m"), cmd("ZINCRBY", "k", "0.5", "m"));
        assertVerdict(ConflictType.MEMBER, false, cmd("ZINCRBY", "k", "inf", "m"), cmd("ZINCRBY", "k", "1", "m"));
    }

    @Test
    void transactionsCommuteOnlyWhenEveryCommandOfOneCommutesWithEveryCommandOfTheOther() {
        List<Command> incrementThenSet = List.of(cmd("ZINCRBY", "k", "1", "m"), cmd("ZADD", "k", "49", "m"));
        assertEquals(new Verdict(ConflictType.MEMBER, false),
                ConflictClassifier.classify(incrementThenSet, List.of(cmd("ZINCRBY", "k", "2", "m"))));
        assertEquals(new Verdict(ConflictType.MEMBER, false),
                ConflictClassifier.classify(List.of(cmd("ZINCRBY", "k", "2", "m")), incrementThenSet));
        assertEquals(new Verdict(ConflictType.DELETE_WRITE, false),
                ConflictClassifier.classify(List.of(cmd("INCR", "k"), cmd("DEL", "k")), List.of(cmd("INCRBY", "k", "3"))));
        assertEquals(new Verdict(ConflictType.COUNTER, true),
                ConflictClassifier.classify(List.of(cmd("INCR", "k"), cmd("DECRBY", "k", "4")), List.of(cmd("INCRBY", "k", "3"))));
    }

    @Test
    void sortedSetAddsWithOptionsOnDistinctMembersCommute() {
        assertVerdict(ConflictType.MEMBER, true, cmd("ZADD", "k", "GT", "CH", "1", "a", "2", "b"), cmd("ZADD", "k", "nx", "3", "c"));
        assertVerdict(ConflictType.MEMBER, true, cmd("ZINCRBY", "k", "1", "a"), cmd("ZADD", "k", "1", "b"));
    }

    @Test
    void sortedSetAddsOnTheSameMemberDoNotCommute() {
        assertVerdict(ConflictType.MEMBER, false, cmd("ZADD", "k", "XX", "1", "a"), cmd("ZADD", "k", "2", "a"));
        assertVerdict(ConflictType.MEMBER, false, cmd("ZINCRBY", "k", "1", "a"), cmd("ZREM", "k", "a"));
    }

    @Test
    void hyperLogLogAddsCommute() {
        assertVerdict(ConflictType.MEMBER, true, cmd("PFADD", "k", "a"), cmd("PFADD", "k", "b"));
        assertVerdict(ConflictType.MEMBER, false, cmd("PFADD", "k", "a"), cmd("PFMERGE", "k", "o"));
    }

    @Test
    void wholeValueStringWritesAreValueConflicts() {
        assertVerdict(ConflictType.VALUE, false, cmd("SET", "k", "v"), cmd("SET", "k", "w"));
        assertVerdict(ConflictType.VALUE, false, cmd("APPEND", "k", "v"), cmd("SET", "k", "w"));
        assertVerdict(ConflictType.VALUE, false, cmd("SETRANGE", "k", "0", "v"), cmd("APPEND", "k", "w"));
    }

    @Test
    void wholeValueWritesReplaceTheValueAndTtlWhateverWasThere() {
        assertTrue(ConflictClassifier.wholeValue(cmd("SET", "k", "v")));
        assertTrue(ConflictClassifier.wholeValue(cmd("SET", "k", "v", "PXAT", "1700000000000")));
        assertTrue(ConflictClassifier.wholeValue(cmd("set", "k", "v", "ex", "10")));
        assertTrue(ConflictClassifier.wholeValue(cmd("SETEX", "k", "10", "v")));
        assertTrue(ConflictClassifier.wholeValue(cmd("PSETEX", "k", "10", "v")));
        assertTrue(ConflictClassifier.wholeValue(cmd("DEL", "k")));
        assertTrue(ConflictClassifier.wholeValue(cmd("UNLINK", "k")));
        assertTrue(ConflictClassifier.wholeValue(cmd("RESTORE", "k", "0", "\u0000payload-bytes-of-a-dump", "REPLACE")));
        assertTrue(ConflictClassifier.wholeValue(cmd("RESTORE", "k", "0", "\u0000payload-bytes-of-a-dump", "REPLACE", "ABSTTL")));
    }

    @Test
    void conditionalOrPartialWritesAreNotWholeValue() {
        assertFalse(ConflictClassifier.wholeValue(cmd("SET", "k", "v", "NX")));
        assertFalse(ConflictClassifier.wholeValue(cmd("SET", "k", "v", "xx")));
        assertFalse(ConflictClassifier.wholeValue(cmd("SET", "k", "v", "KEEPTTL")));
        assertFalse(ConflictClassifier.wholeValue(cmd("SET", "k", "v", "GET")));
        assertFalse(ConflictClassifier.wholeValue(cmd("SETNX", "k", "v")));
        assertFalse(ConflictClassifier.wholeValue(cmd("APPEND", "k", "v")));
        assertFalse(ConflictClassifier.wholeValue(cmd("INCR", "k")));
        assertFalse(ConflictClassifier.wholeValue(cmd("HSET", "k", "f", "v")));
        assertFalse(ConflictClassifier.wholeValue(cmd("RESTORE", "k", "0", "\u0000payload-bytes-of-a-dump")));
        assertFalse(ConflictClassifier.wholeValue(cmd("RESTORE", "k", "0", "\u0000payload-bytes-of-a-dump", "ABSTTL")));
    }

    @Test
    void aValueLongerThanAnyOptionIsNeverMistakenForOne() {
        assertTrue(ConflictClassifier.wholeValue(cmd("SET", "k", "NX".repeat(20))));
    }
    @Test
    void aValueSpeltLikeAnOptionIsAValueNotAnOption() {
        assertTrue(ConflictClassifier.wholeValue(cmd("SET", "k", "NX")));
        assertTrue(ConflictClassifier.wholeValue(cmd("SET", "k", "get")));
        assertVerdict(ConflictType.VALUE, false, cmd("SET", "k", "XX"), cmd("SET", "k", "w"));
    }
}
