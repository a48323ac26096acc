package io.ferry.apply.redis;

import io.ferry.apply.conflict.ConflictType;

/**
 * What one applied command's reply means for Ferry: a conflict to report, a dead letter to write
 * (with its reason class and the error text), both, or neither.
 */
public record ReplyVerdict(ConflictType conflict, String deadLetterReason, String error) {

    public static final ReplyVerdict APPLIED = new ReplyVerdict(null, null, null);

    public boolean applied() {
        return conflict == null && deadLetterReason == null;
    }

    public boolean deadLetter() {
        return deadLetterReason != null;
    }
}
