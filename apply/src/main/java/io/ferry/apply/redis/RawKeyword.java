package io.ferry.apply.redis;

import io.lettuce.core.protocol.ProtocolKeyword;
import java.nio.charset.StandardCharsets;

/**
 * A command name Lettuce sends as it is. Its {@code toString()} is deliberately not the bare name:
 * Lettuce tracks MULTI, EXEC and SELECT by that name and would otherwise wrap our own transaction
 * framing in its transaction bookkeeping; Ferry reads every reply itself.
 */
final class RawKeyword implements ProtocolKeyword {

    private final byte[] bytes;
    private final String label;

    RawKeyword(String name) {
        this.bytes = name.getBytes(StandardCharsets.US_ASCII);
        this.label = "ferry-raw:" + name;
    }

    @Override
    public byte[] getBytes() {
        return bytes;
    }

    @Override
    public String toString() {
        return label;
    }
}
