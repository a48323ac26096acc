package io.ferry.apply.convergence;

import io.ferry.apply.batch.BatchBuilder;
import io.ferry.apply.redis.CommandKeys;
import io.ferry.schemas.AppliedVector;
import io.ferry.schemas.ChangeEvent;
import io.ferry.schemas.Command;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * One write as conflict detection sees it: where it sits in its origin's changes topic, when its origin's
 * capture read it (what lww compares), what its origin had applied of every peer at that moment, and the
 * event itself (its commands classify the conflict and may be re-executed by a repair). {@code republished}: the
 * write is a re-publication after a resync, a copy of its origin's value of the key (the {@code ferry.republished}
 * header), not a client's write.
 */
public record Write(String origin, int partition, long offset, long timeMillis, AppliedVector applied, ChangeEvent event,
                    long bytes, boolean republished) {

    static Write of(ChangeEvent event, int partition, long offset, AppliedVector applied) {
        return of(event, partition, offset, applied, false);
    }

    static Write of(ChangeEvent event, int partition, long offset, AppliedVector applied, boolean republished) {
        return new Write(event.getOrigin(), partition, offset, event.getCaptureTimeMillis().toEpochMilli(), applied, event,
                approxBytes(event), republished);
    }

    /** Heap an event holds: its arguments and keys plus a fixed overhead (what the history's byte bound counts). */
    private static long approxBytes(ChangeEvent event) {
        long size = 256;
        for (Command command : event.getCommands()) {
            size += 48;
            for (ByteBuffer arg : command.getArgs()) {
                size += arg.remaining() + 16;
            }
        }
        for (ByteBuffer key : event.getKeys()) {
            size += key.remaining() + 16;
        }
        return size;
    }

    /** The first command of this write that touched {@code key} (what a conflict record shows of it). */
    Command commandFor(byte[] key) {
        return commandsFor(key).get(0);
    }

    /**
     * Every command of this write that touched {@code key}, in order: a transaction can write one key
     * several times, and a pair commutes only if each of them commutes with the other side's. When none
     * names the key (a command whose keys are not known), every command, so nothing is taken to commute
     * unseen.
     */
    List<Command> commandsFor(byte[] key) {
        List<Command> commands = event.getCommands();
        if (commands.isEmpty()) {
            return List.of(new Command("?", List.of()));
        }
        List<Command> touching = new java.util.ArrayList<>(1);
        for (Command command : commands) {
            for (byte[] touched : CommandKeys.of(BatchBuilder.toRaw(command))) {
                if (java.util.Arrays.equals(touched, key)) {
                    touching.add(command);
                    break;
                }
            }
        }
        return touching.isEmpty() ? commands : touching;
    }

    /**
     * True when this write changes only part of {@code key}'s value (INCR, RPUSH, HSET, EXPIRE, ...): no command of it
     * replaces the whole value, and it is no re-publication.
     */
    boolean partial(byte[] key) {
        if (republished) {
            return false;
        }
        for (Command command : commandsFor(key)) {
            if (ConflictClassifier.wholeValue(command)) {
                return false;
            }
        }
        return true;
    }

    /** True when every command of this write on {@code key} is a plain integer counter (INCR, DECRBY, ...). */
    boolean counting(byte[] key) {
        return ConflictClassifier.counters(commandsFor(key));
    }

    /** True when this write is one command on one key: it can be skipped or re-executed on its own. */
    boolean single() {
        return event.getCommands().size() == 1 && event.getKeys().size() == 1;
    }

    boolean sameAs(Write other) {
        return offset == other.offset && partition == other.partition && origin.equals(other.origin);
    }
}
