package io.ferry.cli.connect;

import io.ferry.resp.RedisReplyException;
import io.ferry.resp.RespMessage;
import io.ferry.resp.cluster.RedisClusterClient.Routed;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/** Builds the command line's Redis commands as raw arguments and reads RESP replies as Java values; an error reply is thrown. */
public final class Replies {

    private Replies() {
    }

    /** A command on {@code key}: strings are sent as UTF-8, numbers in decimal, byte arrays as they are. */
    public static Routed on(byte[] key, Object... parts) {
        return new Routed(key, argv(parts));
    }

    public static byte[][] argv(Object... parts) {
        byte[][] argv = new byte[parts.length][];
        for (int i = 0; i < parts.length; i++) {
            argv[i] = parts[i] instanceof byte[] bytes ? bytes : String.valueOf(parts[i]).getBytes(StandardCharsets.UTF_8);
        }
        return argv;
    }

    public static RespMessage checked(RespMessage reply) throws RedisReplyException {
        if (reply instanceof RespMessage.Error error) {
            throw new RedisReplyException(error.text());
        }
        return reply;
    }

    public static long integer(RespMessage reply) throws RedisReplyException {
        if (checked(reply) instanceof RespMessage.Integer number) {
            return number.value();
        }
        throw unexpected(reply, "an integer");
    }

    /** A bulk string's bytes; null for the null reply. */
    public static byte[] bulk(RespMessage reply) throws RedisReplyException {
        if (checked(reply) instanceof RespMessage.BulkString bulk) {
            return bulk.bytes();
        }
        throw unexpected(reply, "a bulk string");
    }

    /** A simple or bulk string as text; null for the null reply. */
    public static String text(RespMessage reply) throws RedisReplyException {
        if (checked(reply) instanceof RespMessage.Simple simple) {
            return simple.text();
        }
        byte[] bytes = bulk(reply);
        return bytes == null ? null : new String(bytes, StandardCharsets.UTF_8);
    }

    /** An array's items: byte[] for bulk strings, Long, String, List for nested arrays, null; empty for a null array. */
    public static List<Object> items(RespMessage reply) throws RedisReplyException {
        RespMessage checked = checked(reply);
        if (checked instanceof RespMessage.Command bulks) {
            return Arrays.asList((Object[]) bulks.argv());
        }
        if (checked instanceof RespMessage.Array array) {
            return array.items();
        }
        if (checked instanceof RespMessage.BulkString bulk && bulk.bytes() == null) {
            return List.of();
        }
        throw unexpected(reply, "an array");
    }

    /** A {@code [cursor, [elements…]]} reply of SCAN, SSCAN, HSCAN or ZSCAN. */
    public record ScanReply(String cursor, List<byte[]> elements) {
        public boolean finished() {
            return cursor.equals("0");
        }
    }

    public static ScanReply scan(RespMessage reply) throws RedisReplyException {
        List<Object> items = items(reply);
        if (items.size() != 2 || !(items.get(0) instanceof byte[] cursor) || !(items.get(1) instanceof List<?> elements)) {
            throw unexpected(reply, "a cursor and a page");
        }
        return new ScanReply(new String(cursor, StandardCharsets.US_ASCII), elements.stream().map(byte[].class::cast).toList());
    }

    /** A sorted-set score as Redis writes it ("inf", "-inf" included). */
    public static double score(byte[] text) {
        String score = new String(text, StandardCharsets.US_ASCII);
        return switch (score.toLowerCase(java.util.Locale.ROOT)) {
            case "inf", "+inf" -> Double.POSITIVE_INFINITY;
            case "-inf" -> Double.NEGATIVE_INFINITY;
            default -> Double.parseDouble(score);
        };
    }

    private static RedisReplyException unexpected(RespMessage reply, String wanted) {
        return new RedisReplyException("expected " + wanted + ", Redis answered " + reply.getClass().getSimpleName());
    }
}
