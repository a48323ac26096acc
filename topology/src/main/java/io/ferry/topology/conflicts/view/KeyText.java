package io.ferry.topology.conflicts.view;

import java.nio.ByteBuffer;

/**
 * A Redis key's bytes as text, the way redis-cli prints them but without the surrounding quotes:
 * printable ASCII as is, {@code \" \\ \n \r \t} escaped and any other byte as {@code \xHH}. Keys are never
 * decoded as UTF-8, so the text always maps back to the exact bytes.
 */
public final class KeyText {

    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private KeyText() {
    }

    public static String escape(ByteBuffer key) {
        if (key == null) {
            return "";
        }
        ByteBuffer view = key.duplicate();
        StringBuilder out = new StringBuilder(view.remaining() + 8);
        while (view.hasRemaining()) {
            appendEscaped(out, view.get());
        }
        return out.toString();
    }

    /** Appends one byte as redis-cli shows it: printable ASCII as is, {@code \" \\ \n \r \t}, else {@code \xHH}. */
    public static void appendEscaped(StringBuilder out, byte b) {
        switch (b) {
            case '"' -> out.append("\\\"");
            case '\\' -> out.append("\\\\");
            case '\n' -> out.append("\\n");
            case '\r' -> out.append("\\r");
            case '\t' -> out.append("\\t");
            default -> {
                if (b >= 0x20 && b < 0x7f) {
                    out.append((char) b);
                } else {
                    out.append("\\x").append(HEX[(b >> 4) & 0xf]).append(HEX[b & 0xf]);
                }
            }
        }
    }
}
