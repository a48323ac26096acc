package io.ferry.topology.conflict;

import io.ferry.schemas.ReplicationPolicy;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Re-publishes one key's current value from the instance it runs on, atomically: a Lua script that
 * writes the key's value back over itself (SET for strings, RESTORE … REPLACE ABSTTL of its own DUMP for
 * the other types, the absolute expiry kept exactly: PEXPIRETIME, or TIME + PTTL before Redis 7) or, for a missing key, SET and DEL. The script's effects
 * reach that instance's replication stream as an ordinary write, not inside an apply checkpoint block,
 * so its capture publishes them and every peer applies them after everything the instance had applied:
 * afterwards every instance holds this instance's value. Used by conflict repairs and {@code ferry verify --repair}.
 */
public final class RepublishScript {

    public static final String LUA = """
            local key = KEYS[1]
            local function mark()
              if #KEYS > 1 then
                redis.call('SET', KEYS[2], ARGV[1])
              end
            end
            local payload = redis.call('DUMP', key)
            if not payload then
              redis.call('SET', key, '')
              redis.call('DEL', key)
              mark()
              return 0
            end
            local expireAt = redis.pcall('PEXPIRETIME', key)
            if type(expireAt) ~= 'number' then
              expireAt = 0
              local ttl = redis.call('PTTL', key)
              if ttl > 0 then
                local now = redis.call('TIME')
                expireAt = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) + ttl
              end
            elseif expireAt < 0 then
              expireAt = 0
            end
            if redis.call('TYPE', key)['ok'] == 'string' then
              local value = redis.call('GET', key)
              if expireAt > 0 then
                redis.call('SET', key, value, 'PXAT', expireAt)
              else
                redis.call('SET', key, value)
              end
            else
              redis.call('RESTORE', key, expireAt, payload, 'REPLACE', 'ABSTTL')
            end
            mark()
            return 1
            """;

    private RepublishScript() {
    }

    /** {@code EVAL <script> 1 <key>} as raw arguments (after the command name): published with the current time. */
    public static List<byte[]> evalArgs(byte[] key) {
        return List.of(LUA.getBytes(StandardCharsets.UTF_8), "1".getBytes(StandardCharsets.US_ASCII), key);
    }

    /**
     * The same, published with {@code sourceTimeMillis} as its source time (the winning write's): the script
     * also sets {@code timeKey}, the repair-time key of the key's slot ({@link ReplicationPolicy#repairTimeKey}),
     * so a repair then wins or loses later conflicts as that write would.
     */
    public static List<byte[]> evalArgs(byte[] key, byte[] timeKey, long sourceTimeMillis) {
        return List.of(LUA.getBytes(StandardCharsets.UTF_8), "2".getBytes(StandardCharsets.US_ASCII), key, timeKey,
                Long.toString(sourceTimeMillis).getBytes(StandardCharsets.US_ASCII));
    }
}
