package io.ferry.capture.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.schemas.AppliedVector;
import io.ferry.topology.RedisEndpoint;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class SlotMigrationsTest {

    /** A shard whose reader has read everything; its marks complete when the test says its writer committed. */
    private static final class FakeStream implements SlotMigrations.Stream {
        final int partition;
        final List<CompletableFuture<Long>> marks = new java.util.ArrayList<>();
        long readOffset = Long.MAX_VALUE;

        FakeStream(int partition) {
            this.partition = partition;
        }

        @Override
        public RedisEndpoint master() {
            throw new AssertionError("a DEL whose keys were all restored elsewhere needs no look at the master");
        }

        @Override
        public long readOffset() {
            return readOffset;
        }

        @Override
        public int partition() {
            return partition;
        }

        @Override
        public CompletableFuture<Long> markCommitted() {
            CompletableFuture<Long> mark = new CompletableFuture<>();
            marks.add(mark);
            return mark;
        }
    }

    private final FakeStream first = new FakeStream(0);
    private final FakeStream second = new FakeStream(1);
    private final FakeStream third = new FakeStream(2);
    private final SlotMigrations migrations = new SlotMigrations("A", () -> List.of(first, second, third));

    private static byte[][] argv(String... args) {
        byte[][] argv = new byte[args.length][];
        for (int i = 0; i < args.length; i++) {
            argv[i] = args[i].getBytes(StandardCharsets.UTF_8);
        }
        return argv;
    }

    @Test
    void theNewOwnersNextWriteWaitsUntilTheOldOwnersPartitionCommittedEverythingBeforeItsDel() throws Exception {
        assertTrue(migrations.isMigration(second, argv("RESTORE-ASKING", "k", "0", "payload"), 100));
        CompletableFuture<AppliedVector> after = migrations.movedIn(second);
        assertFalse(after.isDone(), "the old owner's DEL is not read yet");

        assertTrue(migrations.isMigration(first, argv("DEL", "k"), 500));
        assertEquals(1, first.marks.size(), "the DEL marks the old owner's partition where it was read");
        assertFalse(after.isDone(), "not committed yet");
        first.marks.get(0).complete(41L);
        assertEquals(Map.of("A:0", 41L), after.get().asMap());
    }

    @Test
    void aKeyMovedIntoANewShardBeforeItsFirstPsyncPairsItsSnapshotKeyWithTheOldOwnersDel() throws Exception {
        // the RESTORE-ASKING ran before the new shard's capture connected: the key is in its first snapshot, not its stream
        migrations.snapshotKey(second, "k".getBytes(StandardCharsets.UTF_8));
        CompletableFuture<AppliedVector> snapshotKey = migrations.movedIn(second);
        assertFalse(snapshotKey == null || snapshotKey.isDone(), "the key's snapshot event waits for the old owner's DEL");

        assertTrue(migrations.isMigration(first, argv("DEL", "k"), 500), "the old owner's DEL is the migration's, not a user's");
        first.marks.get(0).complete(41L);
        assertEquals(Map.of("A:0", 41L), snapshotKey.get().asMap());
        assertEquals(0, migrations.keptRestores());
    }

    @Test
    void aSnapshotKeyNoDelPairsIsSettledLikeAnUnpairedRestore() throws Exception {
        migrations.snapshotKey(second, "k".getBytes(StandardCharsets.UTF_8));
        CompletableFuture<AppliedVector> snapshotKey = migrations.movedIn(second);
        long later = System.nanoTime() + (SlotMigrations.PAIRING_MILLIS + 1) * 1_000_000L;
        migrations.settleUnpaired(later, Map.of(first, 0L, third, 0L));
        assertTrue(snapshotKey.get().isEmpty(), "published without an entry once the other shards were read past it");
    }

    @Test
    void onlyTheFirstWriteAfterARestoreWaitsTheNextOnesFollowItInTheirPartition() throws Exception {
        assertTrue(migrations.isMigration(second, argv("RESTORE-ASKING", "k", "0", "payload"), 100));
        assertFalse(migrations.movedIn(second) == null);
        assertEquals(null, migrations.movedIn(second));
        assertEquals(null, migrations.movedIn(first), "nothing moved into the first shard");
    }

    @Test
    void restoresFromTwoOldOwnersAreAwaitedTogether() throws Exception {
        assertTrue(migrations.isMigration(second, argv("RESTORE-ASKING", "a", "0", "payload"), 100));
        assertTrue(migrations.isMigration(second, argv("RESTORE-ASKING", "b", "0", "payload"), 200));
        assertTrue(migrations.isMigration(second, argv("RESTORE-ASKING", "c", "0", "payload"), 300));
        CompletableFuture<AppliedVector> after = migrations.movedIn(second);
        assertTrue(migrations.isMigration(third, argv("DEL", "b", "c"), 900));
        assertTrue(migrations.isMigration(first, argv("DEL", "a"), 700));
        third.marks.get(0).complete(7L);
        assertFalse(after.isDone());
        first.marks.get(0).complete(12L);
        assertEquals(Map.of("A:0", 12L, "A:2", 7L), after.get().asMap());
    }

    @Test
    void anOldOwnerWithNothingPublishedYetAddsNoEntry() throws Exception {
        assertTrue(migrations.isMigration(second, argv("RESTORE-ASKING", "k", "0", "payload"), 100));
        CompletableFuture<AppliedVector> after = migrations.movedIn(second);
        assertTrue(migrations.isMigration(first, argv("DEL", "k"), 500));
        first.marks.get(0).complete(-1L);
        assertTrue(after.get().isEmpty());
    }

    @Test
    void aDelWhoseMarkIsNeverCommittedFailsTheWait() throws Exception {
        assertTrue(migrations.isMigration(second, argv("RESTORE-ASKING", "k", "0", "payload"), 100));
        CompletableFuture<AppliedVector> after = migrations.movedIn(second);
        assertTrue(migrations.isMigration(first, argv("DEL", "k"), 500));
        first.marks.get(0).completeExceptionally(new IllegalStateException("writer stopped"));
        assertTrue(after.isCompletedExceptionally());
    }

    @Test
    void aKeyMovedOnPairsEachDelWithTheRestoreItCausedInReadOrder() throws Exception {
        // k moved from the first shard to the second, then on to the third
        assertTrue(migrations.isMigration(second, argv("RESTORE-ASKING", "k", "0", "payload"), 100));
        assertTrue(migrations.isMigration(first, argv("DEL", "k"), 500));
        assertTrue(migrations.isMigration(third, argv("RESTORE-ASKING", "k", "0", "payload"), 800));
        assertTrue(migrations.isMigration(second, argv("DEL", "k"), 900));
        CompletableFuture<AppliedVector> onThird = migrations.movedIn(third);
        second.marks.get(0).complete(33L);
        assertEquals(Map.of("A:1", 33L), onThird.get().asMap(), "the third shard follows the second's partition");
    }

    @Test
    void readsTheSlotsTheAnsweringNodeServesAndThoseItIsMigratingAway() {
        String nodes = """
                67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.1:30002@31002 myself,master - 0 0 2 connected 5461-10922 12000 [5461->-292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f] [12001-<-292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f]
                292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f 127.0.0.1:30003@31003 master - 0 1426238318243 3 connected 0-5460 10923-11999 12001-16383
                """;
        SlotMigrations.Sample sample = SlotMigrations.parseMyself(1, 42, nodes);
        assertEquals(java.util.Set.of("67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1", "292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f"),
                sample.masters(), "every master of the table, so a DEL can wait for a capture of each");
        assertEquals(10922 - 5461 + 1 + 1, sample.served().cardinality());
        assertTrue(sample.served().get(12000));
        assertFalse(sample.served().get(0), "another master's slots are not this node's");
        assertTrue(sample.migrating().get(5461));
        assertEquals(1, sample.migrating().cardinality(), "a slot being imported is not being migrated away");
        assertTrue(sample.covers(42));
        assertFalse(sample.covers(43));
    }

    @Test
    void aRestoreNoDelPairsIsSettledOnceTheOtherShardsAreReadPastWhereTheirMastersWere() throws Exception {
        // restarted in the middle of a move: the new owner reads the RESTORE-ASKING again, the old one had committed its DEL
        assertTrue(migrations.isMigration(second, argv("RESTORE-ASKING", "k", "0", "payload"), 100));
        CompletableFuture<AppliedVector> after = migrations.movedIn(second);
        long later = System.nanoTime() + (SlotMigrations.PAIRING_MILLIS + 1_000) * 1_000_000L;
        first.readOffset = 900;
        migrations.settleUnpaired(later, Map.of(first, 1_000L, third, 50L));
        assertFalse(after.isDone(), "the first shard's stream is not read as far as its master was");
        first.readOffset = 1_000;
        migrations.settleUnpaired(System.nanoTime(), Map.of(first, 1_000L, third, 50L));
        assertFalse(after.isDone(), "too soon after the restore: its DEL may still come");
        migrations.settleUnpaired(later, Map.of(first, 1_000L, third, 50L));
        assertTrue(after.get().isEmpty());
        assertTrue(migrations.isMigration(first, argv("DEL", "k"), 1_200), "a DEL read later still pairs with it");
    }

    @Test
    void aRestoreNoDelEverPairsIsForgottenLongAfterItWasSettled() throws Exception {
        // MIGRATE COPY: the old owner never deletes the key
        assertTrue(migrations.isMigration(second, argv("RESTORE-ASKING", "k", "0", "payload"), 100));
        long nanosPerMilli = 1_000_000L;
        long settleTime = System.nanoTime() + (SlotMigrations.PAIRING_MILLIS + 1_000) * nanosPerMilli;
        first.readOffset = 1_000;
        migrations.settleUnpaired(settleTime, Map.of(first, 1_000L, third, 50L));
        assertEquals(1, migrations.keptRestores(), "kept for a DEL that comes late");
        migrations.settleUnpaired(settleTime + SlotMigrations.FORGET_MILLIS * nanosPerMilli, Map.of(first, 1_000L, third, 50L));
        assertEquals(0, migrations.keptRestores(), "forgotten");
        assertTrue(migrations.movedIn(second) == null, "the new owner's next write waits for nothing");
    }
}
