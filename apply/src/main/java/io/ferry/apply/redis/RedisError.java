package io.ferry.apply.redis;

/** An error reply ({@code -WRONGTYPE ...}); {@link #code()} is its first word. */
public record RedisError(String message) {

    public String code() {
        int space = message.indexOf(' ');
        return space < 0 ? message : message.substring(0, space);
    }

    @Override
    public String toString() {
        return "-" + message;
    }
}
