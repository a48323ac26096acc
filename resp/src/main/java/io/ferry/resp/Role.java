package io.ferry.resp;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

/** A node's answer to ROLE: its role ("master", "slave", "sentinel") and, for a master, its replication offset. */
public record Role(String name, long masterOffset) {

    public boolean master() {
        return "master".equals(name);
    }

    /** Asks the node behind {@code connection}; an IOException when it does not answer ROLE as a Redis node does. */
    public static Role of(RedisConnection connection) throws IOException {
        RespMessage reply = connection.call("ROLE");
        if (reply instanceof RespMessage.Array array && !array.items().isEmpty() && array.items().get(0) instanceof byte[] role) {
            String name = new String(role, StandardCharsets.US_ASCII);
            long offset = array.items().size() >= 2 && array.items().get(1) instanceof Long value ? value : -1;
            return new Role(name, offset);
        }
        throw new IOException("no ROLE reply: " + reply);
    }
}
