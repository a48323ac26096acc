package io.ferry.apply.convergence;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.schemas.AppliedVector;
import io.ferry.schemas.Conflict;
import io.ferry.schemas.SourcePosition;
import io.ferry.topology.conflict.ConflictPolicy;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DeferredRepublishesTest {

    private static final long SECOND = 1_000_000_000L;
    private static final long QUIET = DeferredRepublishes.QUIET_MILLIS;
    private static final KeyId COUNTER = new KeyId(0, "counter".getBytes(StandardCharsets.UTF_8));
    private static final KeyId LIST = new KeyId(0, "list".getBytes(StandardCharsets.UTF_8));

    private static AppliedVector vector(Map<String, Long> offsets) {
        return AppliedVector.of(offsets);
    }

    private static Conflict request(String from) {
        return Conflict.newBuilder().setApplier(from).setOrigin("r").setType("RESYNC_GUARDED")
                .setKey(ByteBuffer.wrap("counter".getBytes(StandardCharsets.UTF_8)))
                .setPosition(new SourcePosition("0".repeat(40), 1L, 0)).setTimeMillis(Instant.EPOCH).build();
    }

    @Test
    void aRequestIsDueOnceEveryWriteItNamesIsAppliedAndEveryWriterWentQuietInItsStream() {
        AppliedVector after = vector(Map.of("p:0", 40L, "q:0", 7L));
        Map<String, Long> lastWrites = Map.of("p:0", 5_000L, "q:0", 4_000L);
        Map<String, Long> quiet = Map.of("p:0", 5_000 + QUIET, "q:0", 4_000 + QUIET);
        assertFalse(DeferredRepublishes.isDue(vector(Map.of("p:0", 39L, "q:0", 7L)), after, lastWrites, quiet), "p:0@40 not applied yet");
        assertFalse(DeferredRepublishes.isDue(vector(Map.of("p:0", 40L)), after, lastWrites, quiet), "nothing of q:0 applied");
        assertTrue(DeferredRepublishes.isDue(vector(Map.of("p:0", 40L, "q:0", 7L)), after, lastWrites, quiet));
        assertTrue(DeferredRepublishes.isDue(vector(Map.of("p:0", 90L, "q:0", 8L, "s:0", 1L)), after, lastWrites, quiet));
        assertFalse(DeferredRepublishes.isDue(vector(Map.of("p:0", 40L, "q:0", 7L)), after, lastWrites,
                Map.of("p:0", 5_000 + QUIET - 1, "q:0", 9_000L + QUIET)), "p:0's stream applied here not quite quiet past its last write");
        assertFalse(DeferredRepublishes.isDue(vector(Map.of("p:0", 40L, "q:0", 7L)), after, lastWrites, Map.of("p:0", 9_000L + QUIET)),
                "nothing of q:0's stream applied here yet");
    }

    @Test
    void waitsUntilThisInstanceHasAppliedWhatTheRequesterSaw() {
        DeferredRepublishes deferred = new DeferredRepublishes(10);
        deferred.streamReached("p:0", 10_000);
        long now = 0;
        assertTrue(deferred.offer(COUNTER, vector(Map.of("p:0", 40L)), request("p"), 8_000, 8_000, now));
        deferred.streamReached("p:0", 10_000 + QUIET); // quiet since without a write to the key
        assertEquals(List.of(), deferred.due(vector(Map.of("p:0", 39L)), now += SECOND));
        assertEquals(1, deferred.size());
        List<DeferredRepublishes.Due> due = deferred.due(vector(Map.of("p:0", 40L)), now += SECOND);
        assertEquals(1, due.size());
        assertEquals(COUNTER, due.get(0).key());
        assertEquals("p", due.get(0).requests().get(0).getApplier());
        assertTrue(deferred.isEmpty(), "answered once");
        assertEquals(List.of(), deferred.due(vector(Map.of("p:0", 41L)), now + SECOND));
    }

    @Test
    void aDueKeyCarriesTheNewestWriteInItsValueSoALaterWriteInFlightWinsOverItUnderLww() {
        // r's resync snapshot (8 s) was reconciled by p, which asked r at 9 s; c, the key's only writer, wrote it at
        // 11 s (applied here) and again at 13.5 s, a write not applied here yet when the re-publication goes out
        DeferredRepublishes deferred = new DeferredRepublishes(10);
        AppliedVector applied = vector(Map.of("p:0", 40L, "c:0", 7L));
        deferred.streamReached("c:0", 10_000);
        deferred.offer(COUNTER, vector(Map.of("p:0", 40L)), request("p"), 9_000, 8_000, 0);
        deferred.peerWrote(COUNTER, "c:0", 11_000);
        deferred.peerWrote(LIST, "c:0", 12_000); // another key: not in this value
        deferred.streamReached("p:0", 9_000 + QUIET);
        deferred.streamReached("c:0", 11_000 + QUIET);
        List<DeferredRepublishes.Due> due = deferred.due(applied, SECOND);
        assertEquals(1, due.size());
        assertEquals(11_000, due.get(0).valueMillis(), "the newest write in the value, not the time it goes out");

        long newer = 11_000 + QUIET + 500;
        ConflictPolicy.Write republication = new ConflictPolicy.Write("r", due.get(0).valueMillis());
        assertEquals("c", ConflictPolicy.LWW.winner(republication, new ConflictPolicy.Write("c", newer)),
                "c's later write is not lost to a copy of its earlier one");
        assertEquals("r", ConflictPolicy.LWW.winner(republication, new ConflictPolicy.Write("c", 10_500)),
                "a write older than the value still loses to it");
    }

    @Test
    void mergedRequestsCarryTheNewestOfTheirSnapshots() {
        DeferredRepublishes deferred = new DeferredRepublishes(10);
        deferred.offer(COUNTER, vector(Map.of("p:0", 40L)), request("p"), 9_000, 8_000, 0);
        deferred.offer(COUNTER, vector(Map.of("q:0", 3L)), request("q"), 9_500, 8_700, 0);
        deferred.streamReached("p:0", 9_500 + QUIET);
        deferred.streamReached("q:0", 9_500 + QUIET);
        List<DeferredRepublishes.Due> due = deferred.due(vector(Map.of("p:0", 40L, "q:0", 3L)), SECOND);
        assertEquals(8_700, due.get(0).valueMillis());
    }

    @Test
    void aPeerStillWritingTheKeyHoldsItsRepublicationBackUntilItsStreamWentQuiet() {
        DeferredRepublishes deferred = new DeferredRepublishes(10);
        AppliedVector applied = vector(Map.of("p:0", 40L, "q:0", 3L));
        deferred.offer(COUNTER, vector(Map.of("p:0", 40L)), request("p"), 10_000, 10_000, 0);
        deferred.streamReached("p:0", 10_000 + QUIET - 100);
        assertEquals(List.of(), deferred.due(applied, SECOND), "p:0 is counted as writing the key until the request was made");
        deferred.peerWrote(COUNTER, "q:0", 10_500); // a third instance writes it too
        deferred.peerWrote(LIST, "p:0", 10_000 + QUIET); // nothing waits for it: ignored
        deferred.streamReached("p:0", 10_000 + QUIET);
        deferred.streamReached("q:0", 10_500 + QUIET - 1);
        assertEquals(List.of(), deferred.due(applied, 2 * SECOND), "q:0 wrote it just under the quiet ago");
        deferred.streamReached("q:0", 10_500 + QUIET);
        assertEquals(1, deferred.due(applied, 3 * SECOND).size());
    }

    @Test
    void writesAppliedBeforeTheRequestArrivedCountUntilEveryPeersStreamWentQuietFurther() {
        // an agent catching up: it applied p's writes up to 25 s before the request (made at 15 s) reached it
        DeferredRepublishes deferred = new DeferredRepublishes(10);
        AppliedVector applied = vector(Map.of("p:0", 40L));
        deferred.streamReached("p:0", 25_000);
        deferred.streamReached("q:0", 24_000);
        deferred.offer(COUNTER, applied, request("p"), 15_000, 15_000, 0);
        deferred.streamReached("p:0", 25_000 + QUIET - 1);
        deferred.streamReached("q:0", 24_000 + QUIET);
        assertEquals(List.of(), deferred.due(applied, SECOND), "p may have written the key up to 25 s of its stream");
        deferred.streamReached("p:0", 25_000 + QUIET);
        assertEquals(1, deferred.due(applied, 2 * SECOND).size());
    }

    @Test
    void aPeersSnapshotHoldsEveryRepublicationBackUntilItsStreamWentQuietPastIt() {
        DeferredRepublishes deferred = new DeferredRepublishes(10);
        AppliedVector applied = vector(Map.of("p:0", 40L));
        deferred.offer(COUNTER, applied, request("p"), 10_000, 10_000, 0);
        deferred.streamReached("p:0", 10_000 + QUIET);
        deferred.streamReached("q:0", 30_000);
        deferred.snapshotApplied("q:0", 30_000); // q's resync: its gap writes to any key are only in its snapshot
        assertEquals(List.of(), deferred.due(applied, SECOND));
        deferred.streamReached("q:0", 30_000 + QUIET - 1);
        assertEquals(List.of(), deferred.due(applied, 2 * SECOND));
        deferred.streamReached("q:0", 30_000 + QUIET);
        assertEquals(1, deferred.due(applied, 3 * SECOND).size());
    }

    @Test
    void requestsForOneKeyMergeIntoOneWaitingForTheLatestOfEachOffsetWithOneRequestPerRequester() {
        DeferredRepublishes deferred = new DeferredRepublishes(10);
        deferred.streamReached("p:0", 10_000);
        deferred.streamReached("q:0", 10_000);
        deferred.offer(COUNTER, vector(Map.of("p:0", 40L, "q:0", 3L)), request("p"), 0, 0, 0);
        deferred.offer(COUNTER, vector(Map.of("p:0", 12L, "q:0", 9L)), request("q"), 0, 0, 0);
        deferred.offer(COUNTER, vector(Map.of("p:0", 41L)), request("p"), 0, 0, 0);
        deferred.streamReached("p:0", 10_000 + QUIET);
        deferred.streamReached("q:0", 10_000 + QUIET);
        assertEquals(1, deferred.size());
        assertEquals(List.of(), deferred.due(vector(Map.of("p:0", 41L, "q:0", 8L)), 2 * SECOND), "q:0@9 not applied");
        assertEquals(List.of(), deferred.due(vector(Map.of("p:0", 40L, "q:0", 9L)), 3 * SECOND), "p:0@41 not applied");
        List<DeferredRepublishes.Due> due = deferred.due(vector(Map.of("p:0", 41L, "q:0", 9L)), 4 * SECOND);
        assertEquals(List.of("q", "p"), due.get(0).requests().stream().map(Conflict::getApplier).toList());
    }

    @Test
    void isBoundedAndRefusesANewKeyWhenFullButStillMergesIntoAWaitingOne() {
        DeferredRepublishes deferred = new DeferredRepublishes(1);
        assertTrue(deferred.offer(COUNTER, vector(Map.of("p:0", 40L)), request("p"), 0, 0, 0));
        assertFalse(deferred.offer(LIST, vector(Map.of("p:0", 40L)), request("p"), 0, 0, 0));
        assertTrue(deferred.offer(COUNTER, vector(Map.of("q:0", 1L)), request("q"), 0, 0, 0));
        assertEquals(1, deferred.size());
    }

    @Test
    void countsARequestWaitingOverAMinuteOnce() {
        DeferredRepublishes deferred = new DeferredRepublishes(10);
        deferred.offer(COUNTER, vector(Map.of("p:0", 40L)), request("p"), 0, 0, 0);
        deferred.offer(LIST, vector(Map.of("p:0", 40L)), request("p"), 0, 0, 30 * SECOND);
        assertEquals(0, deferred.newlyOverdue(DeferredRepublishes.OVERDUE_NANOS));
        assertEquals(1, deferred.newlyOverdue(DeferredRepublishes.OVERDUE_NANOS + 1));
        assertEquals(0, deferred.newlyOverdue(DeferredRepublishes.OVERDUE_NANOS + 2), "counted once");
        assertEquals(1, deferred.newlyOverdue(DeferredRepublishes.OVERDUE_NANOS + 31 * SECOND));
    }
}
