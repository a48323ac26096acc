package io.ferry.apply.resync;

import io.ferry.apply.redis.RawCommand;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A key kept after a peer's full resync because this instance wrote it after the peer's snapshot, made what the peer
 * will hold once its apply agent has applied those writes: the peer's copy from its snapshot (which holds the peer's
 * gap writes), then this instance's writes it had not applied, run again in their order. Both sides then hold the
 * same value, built from the same writes in the same order, with nothing of either lost. One script, so the key is
 * never seen half rebuilt; a replayed write that fails (a type the peer changed in its gap) is skipped, as it fails
 * on the peer too.
 */
final class KeyRebuild {

    /**
     * KEYS[1]: the key. ARGV[1]: n, the RESTORE arguments after the key (TTL, payload, options) in ARGV[2..n+1]
     * (n = 0: the peer has no such key, so it is deleted); then, per replayed command, its argument count m and its m
     * arguments, name first.
     */
    static final String SCRIPT = """
            -- ferry: rebuild a kept key from a resynced peer's copy and this instance's writes it had not applied
            local n = tonumber(ARGV[1])
            if n == 0 then
              redis.call('DEL', KEYS[1])
            else
              local restore = {'RESTORE', KEYS[1]}
              for i = 2, n + 1 do restore[#restore + 1] = ARGV[i] end
              restore[#restore + 1] = 'REPLACE'
              redis.call(unpack(restore))
            end
            local i = n + 2
            local failed = 0
            while i <= #ARGV do
              local m = tonumber(ARGV[i])
              local command = {}
              for j = 1, m do command[j] = ARGV[i + j] end
              i = i + m + 1
              local reply = redis.pcall(unpack(command))
              if type(reply) == 'table' and reply.err then failed = failed + 1 end
            end
            return failed
            """;

    private static final byte[] SCRIPT_BYTES = SCRIPT.getBytes(StandardCharsets.UTF_8);
    private static final byte[] ONE = {'1'};

    private KeyRebuild() {
    }

    /**
     * The EVAL rebuilding the key of {@code restore} (a snapshot key's plain {@code RESTORE key ttl payload …}) with
     * {@code replay} run after it; null when {@code restore} is not a plain RESTORE (a key sent in chunks is restored
     * from its stage by another script) or there is nothing to replay.
     */
    static RawCommand command(RawCommand restore, List<RawCommand> replay) {
        if (restore == null || !"RESTORE".equals(restore.name()) || restore.args().size() < 3 || replay == null || replay.isEmpty()) {
            return null;
        }
        return command(restore.args().get(0), restore.args().subList(1, restore.args().size()), replay);
    }

    /** The EVAL rebuilding {@code key}, which the resynced peer does not have, from {@code replay} alone; null when empty. */
    static RawCommand fromNothing(byte[] key, List<RawCommand> replay) {
        return replay == null || replay.isEmpty() ? null : command(key, List.of(), replay);
    }

    private static RawCommand command(byte[] key, List<byte[]> restoreArgs, List<RawCommand> replay) {
        List<byte[]> args = new ArrayList<>();
        args.add(SCRIPT_BYTES);
        args.add(ONE);
        args.add(key);
        args.add(number(restoreArgs.size()));
        args.addAll(restoreArgs);
        for (RawCommand command : replay) {
            args.add(number(command.args().size() + 1));
            args.add(command.name().getBytes(StandardCharsets.UTF_8));
            args.addAll(command.args());
        }
        return new RawCommand("EVAL", args);
    }

    private static byte[] number(int n) {
        return Integer.toString(n).getBytes(StandardCharsets.US_ASCII);
    }
}
