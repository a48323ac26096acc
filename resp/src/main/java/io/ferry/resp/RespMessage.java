package io.ferry.resp;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/** One decoded RESP message and its size on the wire in bytes. */
public sealed interface RespMessage {

    int wireBytes();

    /**
     * An array of bulk strings: a command as the master propagated it, byte for byte. Arguments too big to
     * hold (see {@link RespReader#spillBulkAbove}) are in {@code spilled}, keyed by the empty placeholder
     * array that stands for each in {@code argv} (by identity).
     */
    record Command(byte[][] argv, int wireBytes, Map<byte[], SpilledBulk> spilled) implements RespMessage {
        public Command(byte[][] argv, int wireBytes) {
            this(argv, wireBytes, Map.of());
        }

        public String name() {
            return new String(argv[0], StandardCharsets.ISO_8859_1);
        }
    }

    record Simple(String text, int wireBytes) implements RespMessage {
    }

    record Error(String text, int wireBytes) implements RespMessage {
    }

    record Integer(long value, int wireBytes) implements RespMessage {
    }

    /** A bulk string outside an array; {@code bytes} null for the null bulk string. */
    record BulkString(byte[] bytes, int wireBytes) implements RespMessage {
    }

    /**
     * Any other array: items are byte[] (bulk), Long, String (simple), {@link Error}, List (nested)
     * or null.
     */
    record Array(List<Object> items, int wireBytes) implements RespMessage {
    }

    /** A bare newline: the master's keepalive while it prepares the RDB. */
    record Newline(int wireBytes) implements RespMessage {
    }
}
