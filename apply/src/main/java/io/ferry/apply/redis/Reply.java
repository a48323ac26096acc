package io.ferry.apply.redis;

import io.ferry.resp.RespMessage;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The apply agent's view of replies as plain values: {@code byte[]} for status and bulk strings,
 * {@link Long} for integers, {@link #NIL} for a null bulk or array, {@link RedisError} for errors (also
 * inside an EXEC array) and {@code List<Object>} for arrays. Errors are values, not exceptions, so one
 * failing command never hides the others' replies.
 */
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

    /** The plain value of one decoded reply. */
    public static Object of(RespMessage message) {
        if (message instanceof RespMessage.Simple simple) {
            return simple.text().getBytes(StandardCharsets.UTF_8);
        }
        if (message instanceof RespMessage.Error error) {
            return new RedisError(error.text());
        }
        if (message instanceof RespMessage.Integer integer) {
            return integer.value();
        }
        if (message instanceof RespMessage.BulkString bulk) {
            return bulk.bytes() == null ? NIL : bulk.bytes();
        }
        if (message instanceof RespMessage.Command command) {
            return new ArrayList<Object>(List.of((Object[]) command.argv()));
        }
        if (message instanceof RespMessage.Array array) {
            return items(array.items());
        }
        throw new IllegalStateException("unexpected reply " + message.getClass().getSimpleName());
    }

    /** Nested items as the decoder gives them (byte[], Long, String, RespMessage.Error, List, null). */
    private static List<Object> items(List<Object> items) {
        List<Object> plain = new ArrayList<>(items.size());
        for (Object item : items) {
            if (item == null) {
                plain.add(NIL);
            } else if (item instanceof String simple) {
                plain.add(simple.getBytes(StandardCharsets.UTF_8));
            } else if (item instanceof RespMessage.Error error) {
                plain.add(new RedisError(error.text()));
            } else if (item instanceof List<?> nested) {
                @SuppressWarnings("unchecked")
                List<Object> list = (List<Object>) nested;
                plain.add(items(list));
            } else {
                plain.add(item);
            }
        }
        return plain;
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
