package io.ferry.apply.convergence;

import io.ferry.schemas.AppliedVector;
import io.ferry.schemas.ChangeEvent;
import io.ferry.schemas.Command;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * One write as conflict detection sees it: where it sits in its origin's changes topic, when its origin's
 * capture read it (what lww compares), what its origin had applied of every peer at that moment, and the
 * event itself (its commands classify the conflict and may be re-executed by a repair).
 */
public record Write(String origin, int partition, long offset, long timeMillis, AppliedVector applied, ChangeEvent event,
                    long bytes) {

    static Write of(ChangeEvent event, int partition, long offset, AppliedVector applied) {
        return new Write(event.getOrigin(), partition, offset, event.getCaptureTimeMillis().toEpochMilli(), applied, event,
                approxBytes(event));
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

    /** The command of this write that touched {@code key}: the first whose first argument is the key, else the first. */
    Command commandFor(byte[] key) {
        List<Command> commands = event.getCommands();
        ByteBuffer wanted = ByteBuffer.wrap(key);
        for (Command command : commands) {
            if (!command.getArgs().isEmpty() && command.getArgs().get(0).duplicate().equals(wanted)) {
                return command;
            }
        }
        return commands.isEmpty() ? new Command("?", List.of()) : commands.get(0);
    }

    /** True when this write is one command on one key: it can be skipped or re-executed on its own. */
    boolean single() {
        return event.getCommands().size() == 1 && event.getKeys().size() == 1;
    }

    boolean sameAs(Write other) {
        return offset == other.offset && partition == other.partition && origin.equals(other.origin);
    }
}
