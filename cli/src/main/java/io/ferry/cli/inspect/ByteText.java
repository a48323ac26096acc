package io.ferry.cli.inspect;

import io.ferry.topology.conflicts.view.KeyText;
import java.nio.ByteBuffer;

/**
 * Renders raw bytes (keys, values, arguments) for a terminal the way redis-cli does: in double quotes,
 * printable ASCII as is, {@code \" \\ \n \r \t} escaped and every other byte as {@code \xHH}. User data is
 * never decoded as text, so what is printed always maps back to the exact bytes.
 */
public final class ByteText {

    private ByteText() {
    }

    /** The quoted form of all of {@code bytes}. */
    public static String quote(byte[] bytes) {
        return quote(bytes, Integer.MAX_VALUE);
    }

    /** The quoted form of at most {@code maxBytes} bytes; longer input ends in {@code …(+N bytes)}. */
    public static String quote(byte[] bytes, int maxBytes) {
        if (bytes == null) {
            return "(nil)";
        }
        int shown = Math.min(bytes.length, Math.max(0, maxBytes));
        StringBuilder out = new StringBuilder(shown + 8).append('"');
        for (int i = 0; i < shown; i++) {
            KeyText.appendEscaped(out, bytes[i]);
        }
        out.append('"');
        if (shown < bytes.length) {
            out.append("…(+").append(bytes.length - shown).append(" bytes)");
        }
        return out.toString();
    }

    /** Same as {@link #quote(byte[], int)} for an Avro {@code bytes} value; the buffer's position is not moved. */
    public static String quote(ByteBuffer buffer, int maxBytes) {
        return buffer == null ? "(nil)" : quote(toArray(buffer), maxBytes);
    }

    public static byte[] toArray(ByteBuffer buffer) {
        ByteBuffer view = buffer.duplicate();
        byte[] bytes = new byte[view.remaining()];
        view.get(bytes);
        return bytes;
    }
}
