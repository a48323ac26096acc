package io.ferry.apply.redis;

import java.nio.charset.StandardCharsets;
import java.util.List;

/** Helpers over the plain reply values {@link ReplyOutput} produces. */
public final class Reply {

    /** A null bulk or null array reply ({@code $-1} / {@code *-1}). */
    public static final Object NIL = new Object() {
        @Override
        public String toString() {
            return "(nil)";
        }
    };

    private Reply() {
    }

    public static boolean isError(Object reply) {
        return reply instanceof RedisError;
    }

    public static boolean isNil(Object reply) {
        return reply == NIL;
    }

    public static boolean isInteger(Object reply, long value) {
        return reply instanceof Long l && l == value;
    }

    /** Readable form for logs and dead letters (bulk strings shown as UTF-8, truncated). */
    public static String describe(Object reply) {
        if (reply instanceof byte[] bytes) {
            String text = new String(bytes, 0, Math.min(bytes.length, 200), StandardCharsets.UTF_8);
            return bytes.length > 200 ? text + "…" : text;
        }
        if (reply instanceof List<?> list) {
            return "array of " + list.size();
        }
        return String.valueOf(reply);
    }
}
