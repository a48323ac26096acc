package io.ferry.apply.redis;

import io.ferry.apply.conflict.ConflictType;

/**
 * Pure mapping from (command, reply) to a {@link ReplyVerdict}: which replies are conflicts the seeds
 * describe (unmet write conditions, type clashes, RESTORE onto an existing key) and which are errors
 * that send the command to the dead-letter topic.
 */
public final class ReplyClassifier {

    private ReplyClassifier() {
    }

    public static ReplyVerdict classify(RawCommand command, Object reply) {
        if (reply instanceof RedisError error) {
            String code = reasonOf(error);
            if ("BUSYKEY".equals(code) && "RESTORE".equals(command.name())) {
                return new ReplyVerdict(ConflictType.RESTORE_EXISTS, null, error.message());
            }
            if ("WRONGTYPE".equals(code)) {
                return new ReplyVerdict(ConflictType.TYPE_CLASH, code, error.message());
            }
            return new ReplyVerdict(null, code, error.message());
        }
        if (missedOnTarget(command, reply)) {
            return new ReplyVerdict("SMOVE".equals(command.name()) ? ConflictType.CONDITIONAL_WRITE : ConflictType.TTL, null, null);
        }
        return conditionMet(command, reply) ? ReplyVerdict.APPLIED
                : new ReplyVerdict(ConflictType.CONDITIONAL_WRITE, null, null);
    }

    /**
     * True for a write that Redis propagates only when it took effect on the source but that did nothing
     * here (reply 0): its key already expired here (a TTL renewal, an SMOVE from an expired set). The
     * origin holds the value this instance lacks.
     */
    public static boolean missedOnTarget(RawCommand command, Object reply) {
        return switch (command.name()) {
            case "EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT", "SMOVE" -> Reply.isInteger(reply, 0);
            default -> false;
        };
    }

    /** Classification of an error reply by its code: WRONGTYPE, OOM, NOPERM, …; generic errors are ERR. */
    public static String reasonOf(RedisError error) {
        String code = error.code();
        return code.matches("[A-Z][A-Z_]{1,31}") ? code : "ERR";
    }

    /** False when the command was conditional and its reply says it did nothing. */
    static boolean conditionMet(RawCommand command, Object reply) {
        return switch (command.name()) {
            case "SETNX", "HSETNX", "MSETNX", "RENAMENX" -> !Reply.isInteger(reply, 0);
            // SET k v [NX|XX] …: nil means the condition failed; with GET the reply is the old value instead.
            case "SET" -> !(Reply.isNil(reply) && (command.hasOption(2, "NX") || command.hasOption(2, "XX"))
                    && !command.hasOption(2, "GET"));
            default -> true;
        };
    }
}
