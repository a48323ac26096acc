package io.ferry.apply.convergence;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.ferry.apply.convergence.WriteHistory.Pair;
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

/** This instance is "b"; its peers are "a" and "c"; every changes topic has one partition, 0. */
class WriteHistoryTest {

    private static final KeyId K = key("k");
    private static final KeyId J = key("j");

    private final WriteHistory history = new WriteHistory("b", 100, List.of("a", "c"));

    private static KeyId key(String text) {
        return new KeyId(0, text.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * {@code origin}'s write of {@code keys} (one SET each, in db 0) at {@code offset} of its partition 0,
     * its origin having applied what {@code applied} says ({@code "a:0" -> 4} = a's partition 0 up to offset 4).
     */
    private static Write write(String origin, long offset, Map<String, Long> applied, KeyId... keys) {
        List<Command> commands = Arrays.stream(keys)
                .map(k -> new Command("SET", List.of(ByteBuffer.wrap(k.key()), ByteBuffer.wrap(origin.getBytes(StandardCharsets.UTF_8)))))
                .toList();
        ChangeEvent event = ChangeEvent.newBuilder()
                .setOrigin(origin)
                .setPosition(new SourcePosition("replid-" + origin, 1000L + offset, 0))
                .setKind(keys.length == 1 ? EventKind.COMMAND : EventKind.TRANSACTION)
                .setDb(0)
                .setCommands(commands)
                .setKeys(Arrays.stream(keys).map(k -> ByteBuffer.wrap(k.key())).toList())
                .setCaptureTimeMillis(Instant.ofEpochMilli(1_700_000_000_000L + offset))
                .build();
        return Write.of(event, 0, offset, AppliedVector.of(applied));
    }

    /** {@code origin}'s INCR of {@code key} at {@code offset}, as {@link #write} builds a SET. */
    private static Write increment(String origin, long offset, Map<String, Long> applied, KeyId key) {
        ChangeEvent event = ChangeEvent.newBuilder()
                .setOrigin(origin)
                .setPosition(new SourcePosition("replid-" + origin, 1000L + offset, 0))
                .setKind(EventKind.COMMAND)
                .setDb(0)
                .setCommands(List.of(new Command("INCR", List.of(ByteBuffer.wrap(key.key())))))
                .setKeys(List.of(ByteBuffer.wrap(key.key())))
                .setCaptureTimeMillis(Instant.ofEpochMilli(1_700_000_000_000L + offset))
                .build();
        return Write.of(event, 0, offset, AppliedVector.of(applied));
    }

    /** The keys a write's event names, as the apply agent passes them. */
    private static List<KeyId> keys(Write write) {
        return write.event().getKeys().stream().map(k -> {
            byte[] bytes = new byte[k.remaining()];
            k.duplicate().get(bytes);
            return new KeyId(write.event().getDb(), bytes);
        }).toList();
    }

    private static List<Pair> local(WriteHistory history, Write write) {
        return history.local(write, keys(write));
    }

    private static List<Pair> remote(WriteHistory history, Write write) {
        return history.remote(write, keys(write));
    }

    // ---- (i) the local write is known when the remote one arrives --------------------------------

    @Test
    void aRemoteWriteWhoseOriginHadNotAppliedTheKnownLocalWriteIsConcurrentBeforeApply() {
        Write local = write("b", 10, Map.of(), K);
        assertEquals(List.of(), local(history, local));
        Write remote = write("a", 5, Map.of("b:0", 9L), K);
        assertEquals(List.of(new Pair(K, remote, local, true)), remote(history, remote));
    }

    @Test
    void aRemoteWriteWhoseOriginHadAppliedTheLocalWriteIsNotConcurrent() {
        local(history, write("b", 10, Map.of(), K));
        assertEquals(List.of(), remote(history, write("a", 5, Map.of("b:0", 10L), K)));
        assertEquals(List.of(), remote(history, write("c", 7, Map.of("b:0", 11L), K)));
    }

    @Test
    void aRemoteWriteToAKeyWithNoLocalWriteIsNotConcurrent() {
        local(history, write("b", 10, Map.of(), J));
        Write remote = write("a", 5, Map.of(), K);
        assertEquals(List.of(), remote(history, remote));
        assertSame(remote, history.lastApplied(K));
    }

    @Test
    void aRemoteWriteToSeveralKeysPairsOnlyOnTheKeysWithAConcurrentLocalWrite() {
        Write local = write("b", 10, Map.of(), K);
        local(history, local);
        Write remote = write("a", 5, Map.of(), J, K);
        assertEquals(List.of(new Pair(K, remote, local, true)), remote(history, remote));
    }

    @Test
    void aRemoteWriteIsPairedWithEveryLocalWriteItHadNotSeenNotOnlyTheLast() {
        Write seen = write("b", 8, Map.of(), K);
        Write first = write("b", 9, Map.of(), K);
        Write last = write("b", 10, Map.of(), K);
        local(history, seen);
        local(history, first);
        local(history, last);
        Write remote = write("a", 5, Map.of("b:0", 8L), K);
        assertEquals(List.of(new Pair(K, remote, first, true), new Pair(K, remote, last, true)), remote(history, remote));
    }

    @Test
    void oneHotKeyKeepsABoundedNumberOfLocalWrites() {
        int bound = WriteHistory.MAX_WRITES_PER_KEY;
        for (int i = 0; i < bound + 244; i++) {
            local(history, write("b", i, Map.of(), K));
        }
        assertEquals(244, history.takeEvicted());
        assertEquals(bound, remote(history, write("a", 1, Map.of(), K)).size(), "the latest local writes up to the bound still pair");
    }

    @Test
    void twoPeersConcurrentWithTheSameLocalWriteGiveOnePairEach() {
        Write local = write("b", 10, Map.of(), K);
        local(history, local);
        Write fromA = write("a", 5, Map.of(), K);
        Write fromC = write("c", 3, Map.of(), K);
        assertEquals(List.of(new Pair(K, fromA, local, true)), remote(history, fromA));
        assertEquals(List.of(new Pair(K, fromC, local, true)), remote(history, fromC));
    }

    // ---- (ii) the remote write was applied first, the local one is read back later ---------------

    @Test
    void aLocalWriteReadBackThatHadNotAppliedAConcurrentRemoteWriteIsAPairAfterApply() {
        Write remote = write("a", 5, Map.of(), K);
        assertEquals(List.of(), remote(history, remote));
        Write local = write("b", 10, Map.of("a:0", 4L), K);
        assertEquals(List.of(new Pair(K, remote, local, false)), local(history, local));
        assertSame(local, history.lastLocal(K));
    }

    @Test
    void aLocalWriteThatHadAppliedTheRemoteWriteIsNotConcurrentAndPrunesIt() {
        Write remote = write("a", 5, Map.of(), K);
        remote(history, remote);
        assertSame(remote, history.lastApplied(K));
        Write local = write("b", 10, Map.of("a:0", 5L), K);
        assertEquals(List.of(), local(history, local));
        assertNull(history.lastApplied(K));
        assertSame(local, history.lastLocal(K));
    }

    @Test
    void aLocalWriteTheRemoteOriginHadAlreadyAppliedIsNotConcurrent() {
        remote(history, write("a", 5, Map.of("b:0", 10L), K));
        assertEquals(List.of(), local(history, write("b", 10, Map.of(), K)));
    }

    @Test
    void aLocalWritePairsOnlyWithTheRemoteWritesItHadNotApplied() {
        Write fromA = write("a", 5, Map.of(), K);
        Write fromC = write("c", 8, Map.of(), K);
        remote(history, fromA);
        remote(history, fromC);
        Write local = write("b", 10, Map.of("a:0", 5L), K);
        assertEquals(List.of(new Pair(K, fromC, local, false)), local(history, local));
        assertSame(fromC, history.lastApplied(K));
    }

    // ---- (iii) a remote write read again ----------------------------------------------------------

    @Test
    void theSameRemoteWriteSeenTwiceIsJudgedOnce() {
        local(history, write("b", 10, Map.of(), K));
        assertEquals(1, remote(history, write("a", 5, Map.of(), K)).size());
        assertEquals(List.of(), remote(history, write("a", 5, Map.of(), K)));
        assertEquals(1, remote(history, write("a", 6, Map.of(), K)).size(), "a's next write is a new one");
    }

    // ---- (iv) sweep ---------------------------------------------------------------------------------

    @Test
    void sweepDropsALocalWriteOnlyOnceEveryPeerHasAppliedIt() {
        Write local = write("b", 10, Map.of(), K);
        local(history, local);
        history.peerApplied("a", acked(10));
        history.sweep();
        assertSame(local, history.lastLocal(K), "c has not applied it yet");
        history.peerApplied("c", acked(12));
        history.sweep();
        assertNull(history.lastLocal(K));
        assertEquals(0, history.size());
    }

    /** A peer's applied vector saying it applied this instance's (b's) partition 0 up to {@code offset}. */
    private static AppliedVector acked(long offset) {
        return AppliedVector.EMPTY.with("b", 0, offset);
    }

    @Test
    void aKeyWhoseLocalWritesCameFromTwoShardsPairsEachByItsOwnPartitionsOffsets() {
        Write onShard0 = write("b", 7, Map.of(), K);
        Write onShard1 = write("b", 3, Map.of(), K);
        onShard1 = Write.of(onShard1.event(), 1, 3, onShard1.applied()); // after its slot moved to shard 1
        local(history, onShard0);
        local(history, onShard1);
        Write remote = write("a", 5, Map.of("b:0", 7L), K); // a had applied shard 0's write, not shard 1's
        assertEquals(List.of(new Pair(K, remote, onShard1, true)), remote(history, remote));
    }

    @Test
    void aClusterInstancesLocalWriteIsSweptByItsOwnPartitionsAcknowledgementsOnly() {
        Write onShard1 = write("b", 3, Map.of(), K);
        onShard1 = Write.of(onShard1.event(), 1, 3, onShard1.applied());
        local(history, onShard1);
        history.peerApplied("a", acked(50));
        history.peerApplied("c", acked(50));
        history.sweep();
        assertSame(onShard1, history.lastLocal(K), "offsets of partition 0 say nothing about partition 1");
        history.peerApplied("a", AppliedVector.EMPTY.with("b", 1, 3));
        history.sweep();
        assertSame(onShard1, history.lastLocal(K), "c has not applied it yet");
        history.peerApplied("c", AppliedVector.EMPTY.with("b", 1, 3).with("a", 1, 99));
        history.sweep();
        assertNull(history.lastLocal(K));
    }

    @Test
    void aPeersAcknowledgementNeverMovesBackwards() {
        local(history, write("b", 10, Map.of(), K));
        history.peerApplied("a", acked(10));
        history.peerApplied("a", acked(3));
        history.peerApplied("c", acked(10));
        history.sweep();
        assertNull(history.lastLocal(K));
    }

    @Test
    void sweepDropsAppliedWritesTheOwnStreamHasPassed() {
        remote(history, write("a", 5, Map.of(), K));
        Write later = write("a", 6, Map.of(), K);
        remote(history, later);
        Write fromC = write("c", 2, Map.of(), J);
        remote(history, fromC);
        history.ownProgress(AppliedVector.EMPTY.with("a", 0, 5));
        history.sweep();
        assertSame(later, history.lastApplied(K));
        assertSame(fromC, history.lastApplied(J));
        history.ownProgress(AppliedVector.EMPTY.with("a", 0, 6).with("c", 0, 2));
        history.sweep();
        assertNull(history.lastApplied(K));
        assertNull(history.lastApplied(J));
        assertEquals(0, history.size());
    }

    @Test
    void sweepKeepsAKeyWhileItStillHasALocalOrAnAppliedWrite() {
        local(history, write("b", 10, Map.of(), K));
        remote(history, write("a", 5, Map.of("b:0", 10L), K));
        history.ownProgress(AppliedVector.EMPTY.with("a", 0, 5));
        history.sweep();
        assertEquals(1, history.size(), "the local write is not acknowledged by every peer yet");
        history.peerApplied("a", acked(10));
        history.peerApplied("c", acked(10));
        history.sweep();
        assertEquals(0, history.size());
    }

    @Test
    void aSweptLocalWriteCanNoLongerPairWithALaterRemoteWrite() {
        local(history, write("b", 10, Map.of(), K));
        history.peerApplied("a", acked(10));
        history.peerApplied("c", acked(10));
        history.sweep();
        assertEquals(List.of(), remote(history, write("a", 5, Map.of("b:0", 10L), K)));
    }

    // ---- (v) bounded window -----------------------------------------------------------------------

    @Test
    void aFullWindowForgetsTheOldestKeyAndCountsIt() {
        WriteHistory small = new WriteHistory("b", 2, List.of("a", "c"));
        KeyId first = key("first");
        KeyId second = key("second");
        local(small, write("b", 1, Map.of(), first));
        local(small, write("b", 2, Map.of(), second));
        assertEquals(0, small.takeEvicted());
        remote(small, write("a", 1, Map.of(), key("third")));
        assertEquals(2, small.size());
        assertNull(small.lastLocal(first));
        assertNotNull(small.lastLocal(second));
        assertEquals(1, small.takeEvicted());
        assertEquals(0, small.takeEvicted(), "counted since the last call");
    }

    @Test
    void theWindowStaysWithinItsByteBoundEvenWhenNothingIsEverAcknowledged() {
        WriteHistory bounded = new WriteHistory("b", 1_000_000, 4_000, List.of("a", "c"));
        for (int i = 0; i < 1_000; i++) {
            remote(bounded, write("a", i, Map.of(), key("k" + i)));
        }
        assertTrue(bounded.bytes() <= 4_000, "bytes held: " + bounded.bytes());
        assertTrue(bounded.size() < 20, "keys held: " + bounded.size());
        assertTrue(bounded.takeEvicted() > 900);
    }

    @Test
    void aHotKeyThatForgotWritesIsHandedOnceForRePublicationWhenNothingOfItIsPendingAnyMore() {
        int writes = WriteHistory.MAX_WRITES_PER_KEY + 10;
        for (int i = 0; i < writes; i++) {
            local(history, write("b", i, Map.of(), K));
        }
        local(history, write("b", writes, Map.of(), J));
        history.sweep();
        assertEquals(List.of(), history.takeDrainedOverflows(), "its writes are still pending: its peers have not applied them");
        history.peerApplied("a", acked(writes));
        history.peerApplied("c", acked(writes - 2));
        history.sweep();
        assertEquals(List.of(), history.takeDrainedOverflows(), "c has not applied K's last write yet");
        history.peerApplied("c", acked(writes));
        history.sweep();
        assertEquals(List.of(K), history.takeDrainedOverflows(), "K, not J, which forgot nothing");
        assertEquals(List.of(), history.takeDrainedOverflows(), "once");
    }

    @Test
    void aHotCounterThatForgotOnlyIncrementsIsNotRePublished() {
        int writes = WriteHistory.MAX_WRITES_PER_KEY + 10;
        for (int i = 0; i < writes; i++) {
            local(history, increment("b", i, Map.of(), K));
            remote(history, increment("a", i, Map.of(), K));
        }
        history.peerApplied("a", acked(writes));
        history.peerApplied("c", acked(writes));
        history.ownProgress(AppliedVector.EMPTY.with("a", 0, 10_000));
        history.sweep();
        assertEquals(List.of(), history.takeDrainedOverflows(), "INCRs commute: a missed pair of two needs no repair,"
                + " and a copy racing a concurrent INCR would lose it");
    }

    @Test
    void aHotKeyOnlyPeersWroteIsNotRePublishedFromHereWhenItForgotTheirWrites() {
        for (int i = 0; i < WriteHistory.MAX_WRITES_PER_KEY + 10; i++) {
            remote(history, write("a", i, Map.of(), K));
        }
        history.ownProgress(AppliedVector.EMPTY.with("a", 0, 10_000));
        history.sweep();
        assertEquals(List.of(), history.takeDrainedOverflows(), "no local write of K could have missed its pair");
    }

    @Test
    void oneHotKeyKeepsABoundedNumberOfPeerWrites() {
        for (int i = 0; i < WriteHistory.MAX_WRITES_PER_KEY + 244; i++) {
            remote(history, write("a", i, Map.of(), K));
        }
        assertTrue(history.bytes() < WriteHistory.MAX_WRITES_PER_KEY * 1_000, "bytes held: " + history.bytes());
        assertEquals(244, history.takeEvicted());
    }

    @Test
    void aFullWindowForgetsKeysHoldingARepublicationLast() {
        WriteHistory small = new WriteHistory("b", 2, List.of("a", "c"));
        Write plain = write("a", 1, Map.of(), K);
        Write copy = Write.of(plain.event(), 0, 1, plain.applied(), true); // a's re-publication of K after its resync
        remote(small, copy);
        local(small, write("b", 1, Map.of(), J));
        local(small, write("b", 2, Map.of(), key("m")));
        local(small, write("b", 3, Map.of(), key("n")));
        assertSame(copy, small.lastApplied(K), "passed over while other keys could go");
        assertNull(small.lastLocal(J));
        assertEquals(2, small.size());
        Write concurrent = write("b", 4, Map.of(), K);
        assertEquals(List.of(new Pair(K, copy, concurrent, false)), local(small, concurrent),
                "a write concurrent with the copy still finds it");

        WriteHistory one = new WriteHistory("b", 1, List.of("a", "c"));
        remote(one, copy);
        local(one, write("b", 1, Map.of(), J));
        assertNull(one.lastApplied(K), "when nothing else can go, it goes too: the bounds hold");
        assertEquals(1, one.size());
    }

    @Test
    void aForgottenLocalWriteNoLongerPairs() {
        WriteHistory small = new WriteHistory("b", 1, List.of("a", "c"));
        local(small, write("b", 1, Map.of(), K));
        local(small, write("b", 2, Map.of(), J));
        assertEquals(List.of(), remote(small, write("a", 1, Map.of(), K)));
        assertEquals(2, small.takeEvicted());
    }
    @Test
    void aFullWindowForgetsTheKeyWrittenLeastRecently() {
        WriteHistory small = new WriteHistory("b", 2, List.of("a", "c"));
        local(small, write("b", 1, Map.of(), K));
        local(small, write("b", 2, Map.of(), J));
        Write latest = write("b", 3, Map.of(), K);
        local(small, latest);
        local(small, write("b", 4, Map.of(), key("m")));
        assertSame(latest, small.lastLocal(K));
        Write remote = write("a", 7, Map.of("b:0", 2L), K);
        assertEquals(List.of(new Pair(K, remote, latest, true)), remote(small, remote));
    }

    // ---- keys ---------------------------------------------------------------------------------------

    @Test
    void keysAreComparedByContentAndDb() {
        Write local = write("b", 10, Map.of(), K);
        local(history, local);
        assertSame(local, history.lastLocal(new KeyId(0, "k".getBytes(StandardCharsets.UTF_8))));
        assertNull(history.lastLocal(new KeyId(1, "k".getBytes(StandardCharsets.UTF_8))));
        assertEquals(List.of(), history.remote(write("a", 5, Map.of(), K), List.of(new KeyId(1, "k".getBytes(StandardCharsets.UTF_8)))));
    }
}
