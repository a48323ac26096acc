package io.ferry.apply.redis;

/**
 * The target Redis cannot take writes right now (down, unreachable, timed out, loading, read-only or
 * out of memory for Ferry's own checkpoint): retry later from the checkpoint, lose nothing.
 */
public class RedisUnavailableException extends RuntimeException {

    public RedisUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
