package io.ferry.apply.convergence;

import java.util.Arrays;

/** A key in one db, compared by content (keys are bytes). */
public record KeyId(int db, byte[] key) {

    @Override
    public boolean equals(Object o) {
        return o instanceof KeyId other && db == other.db && Arrays.equals(key, other.key);
    }

    @Override
    public int hashCode() {
        return 31 * db + Arrays.hashCode(key);
    }

    @Override
    public String toString() {
        return db + ":" + new String(key, java.nio.charset.StandardCharsets.UTF_8);
    }
}
