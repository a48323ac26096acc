package io.ferry.bench;

import io.ferry.resp.RedisConnection;
import io.ferry.resp.RespBuffer;
import io.ferry.resp.RespMessage;
import io.ferry.topology.RedisEndpoint;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Control commands for one Redis the benchmark runs (INFO, CONFIG SET, REPLICAOF, counting and comparing keys). */
final class RedisAdmin implements AutoCloseable {

    private final RedisConnection connection;

    RedisAdmin(int port) {
        try {
            connection = RedisConnection.open(new RedisEndpoint("127.0.0.1", port, false, null, null), 60_000);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot connect to redis at 127.0.0.1:" + port, e);
        }
    }

    /** Runs one command; an error reply is an exception (the benchmark's own commands never fail). */
    RespMessage call(String... argv) {
        try {
            RespMessage reply = connection.call(argv);
            if (reply instanceof RespMessage.Error error) {
                throw new IllegalStateException(String.join(" ", argv) + " refused: " + error.text());
            }
            return reply;
        } catch (IOException e) {
            throw new UncheckedIOException(argv[0] + " failed", e);
        }
    }

    void configSet(String name, String value) {
        call("CONFIG", "SET", name, value);
    }

    void replicaof(String host, int port) {
        call("REPLICAOF", host, Integer.toString(port));
    }

    void flushall() {
        call("FLUSHALL");
    }

    long dbsize() {
        return ((RespMessage.Integer) call("DBSIZE")).value();
    }

    /** One field of INFO {@code section}, e.g. master_repl_offset. */
    String info(String section, String field) {
        for (String line : text(call("INFO", section)).split("\r?\n")) {
            if (line.startsWith(field + ":")) {
                return line.substring(field.length() + 1).trim();
            }
        }
        return null;
    }

    long infoLong(String section, String field) {
        String value = info(section, field);
        return value == null ? -1 : Long.parseLong(value);
    }

    /** DUMP of each key (null for a missing key), pipelined. */
    List<byte[]> dumpAll(List<String> keys) {
        RespBuffer round = new RespBuffer();
        for (String key : keys) {
            round.command("DUMP", key);
        }
        List<byte[]> dumps = new ArrayList<>(keys.size());
        try {
            connection.write(round);
            for (int i = 0; i < keys.size(); i++) {
                RespMessage reply = connection.readReply();
                if (!(reply instanceof RespMessage.BulkString dump)) {
                    throw new IllegalStateException("DUMP " + keys.get(i) + " answered " + reply);
                }
                dumps.add(dump.bytes());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("DUMP failed", e);
        }
        return dumps;
    }

    /** Keys matching {@code pattern}, counted with SCAN. */
    long countKeys(String pattern) {
        long count = 0;
        String cursor = "0";
        do {
            RespMessage.Array page = (RespMessage.Array) call("SCAN", cursor, "MATCH", pattern, "COUNT", "10000");
            cursor = new String((byte[]) page.items().get(0), StandardCharsets.US_ASCII);
            count += ((List<?>) page.items().get(1)).size();
        } while (!cursor.equals("0"));
        return count;
    }

    /** The key's type and contents in a form that compares by value: a hash as a map, lists and sorted sets in order. */
    Object value(String key) {
        String type = text(call("TYPE", key));
        return switch (type) {
            case "string" -> List.of(type, wrap(((RespMessage.BulkString) call("GET", key)).bytes()));
            case "hash" -> {
                List<ByteBuffer> pairs = bulks(call("HGETALL", key));
                Map<ByteBuffer, ByteBuffer> fields = new HashMap<>();
                for (int i = 0; i + 1 < pairs.size(); i += 2) {
                    fields.put(pairs.get(i), pairs.get(i + 1));
                }
                yield List.of(type, fields);
            }
            case "list" -> List.of(type, bulks(call("LRANGE", key, "0", "-1")));
            case "zset" -> List.of(type, bulks(call("ZRANGE", key, "0", "-1", "WITHSCORES")));
            default -> List.of(type);
        };
    }

    private static List<ByteBuffer> bulks(RespMessage reply) {
        List<ByteBuffer> values = new ArrayList<>();
        if (reply instanceof RespMessage.Command all) {
            for (byte[] value : all.argv()) {
                values.add(wrap(value));
            }
        } else if (!(reply instanceof RespMessage.Array empty && empty.items().isEmpty())) {
            throw new IllegalStateException("expected an array of bulk strings, got " + reply);
        }
        return values;
    }

    private static ByteBuffer wrap(byte[] value) {
        return value == null ? ByteBuffer.allocate(0).asReadOnlyBuffer() : ByteBuffer.wrap(value);
    }

    private static String text(RespMessage reply) {
        if (reply instanceof RespMessage.Simple simple) {
            return simple.text();
        }
        return new String(((RespMessage.BulkString) reply).bytes(), StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        connection.close();
    }
}
