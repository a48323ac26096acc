package io.ferry.cli.verify;

import io.lettuce.core.LettuceFutures;
import io.lettuce.core.MapScanCursor;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.ScoredValue;
import io.lettuce.core.ScoredValueScanCursor;
import io.lettuce.core.ValueScanCursor;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.output.ArrayOutput;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Reads keys' {@link KeyCopy}s from one Redis, in the db its connection has selected, a batch at a time
 * and pipelined: first OBJECT IDLETIME (before anything touches the key), TYPE and the absolute expiry of
 * every key, then the first page of every key's content; only big values take more round trips, page by
 * page (never one huge reply). The reads are not atomic; a key that changes meanwhile is caught by the
 * caller's rechecks. Keys and values stay bytes.
 */
final class KeyCopyReader {

    /** Elements per read of a collection; each page after the first costs one more permit of the throttle. */
    static final int PAGE = 1000;
    private static final int STRING_CHUNK = 1 << 20;
    /** One byte more than {@link KeyCopy} shows, so it can tell a cut value from a short one. */
    private static final int PREVIEW_BYTES = KeyCopy.PREVIEW_BYTES + 1;
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    private final RedisCommands<byte[], byte[]> redis;
    private final RedisAsyncCommands<byte[], byte[]> async;
    private final ReadThrottle throttle;
    private final long serverClockOffsetMillis;
    private boolean idleTracked = true;
    private boolean hasPexpiretime = true;

    /**
     * @param serverClockOffsetMillis the server's clock minus this machine's, for expiries from PTTL where
     *                                PEXPIRETIME does not exist (Redis 6.2)
     */
    KeyCopyReader(StatefulRedisConnection<byte[], byte[]> connection, ReadThrottle throttle, long serverClockOffsetMillis) {
        this.redis = connection.sync();
        this.async = connection.async();
        this.throttle = throttle;
        this.serverClockOffsetMillis = serverClockOffsetMillis;
    }

    static boolean isPermission(RedisCommandExecutionException e) {
        return e.getMessage() != null && e.getMessage().startsWith("NOPERM");
    }

    /** The copies, in the order of {@code keys}; NOPERM and connection failures are thrown, other command errors make unreadable copies. */
    List<KeyCopy> read(List<byte[]> keys) {
        throttle.acquire(keys.size());
        List<KeyRead> reads = new ArrayList<>(keys.size());
        keys.forEach(key -> reads.add(new KeyRead(key)));
        reads.forEach(KeyRead::requestMetadata);
        reads.forEach(KeyRead::takeMetadata);
        reads.forEach(KeyRead::requestFirstPage);
        List<KeyCopy> copies = new ArrayList<>(keys.size());
        reads.forEach(read -> copies.add(read.finish()));
        return copies;
    }

    private record Content(long size, byte[] digest, byte[] preview) {
    }

    /** One key on its way through the pipelined phases. */
    private final class KeyRead {
        final byte[] key;
        final long readAt = System.currentTimeMillis();
        RedisFuture<Long> idleReply;
        RedisFuture<String> typeReply;
        RedisFuture<Long> expiryReply;
        RedisFuture<?> firstPage;
        RedisFuture<Long> stringLength;
        long idleSeconds = -1;
        String type;
        long expireAt;
        String error;

        KeyRead(byte[] key) {
            this.key = key;
        }

        void requestMetadata() {
            idleReply = idleTracked ? async.objectIdletime(key) : null; // first: every later read touches the key
            typeReply = async.type(key);
            expiryReply = hasPexpiretime ? async.pexpiretime(key) : async.pttl(key);
        }

        void takeMetadata() {
            try {
                Long idle = idleReply == null ? null : await(idleReply);
                idleSeconds = idle == null ? -1 : idle;
            } catch (RedisCommandExecutionException e) {
                idleTracked = false; // an LFU maxmemory policy, or OBJECT not permitted: lww falls back to instance ids
            }
            try {
                type = await(typeReply);
                expireAt = expiry();
            } catch (RedisCommandExecutionException e) {
                fail(e);
            }
        }

        /** PEXPIRETIME, or PTTL plus the server's clock before Redis 7.0; -1 none, -2 gone. */
        private long expiry() {
            if (expiryReply != null) {
                try {
                    long reply = await(expiryReply);
                    return hasPexpiretime || reply < 0 ? reply : System.currentTimeMillis() + serverClockOffsetMillis + reply;
                } catch (RedisCommandExecutionException e) {
                    if (!String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT).contains("unknown command")) {
                        throw e;
                    }
                    hasPexpiretime = false;
                }
            }
            long ttl = redis.pttl(key);
            return ttl < 0 ? ttl : System.currentTimeMillis() + serverClockOffsetMillis + ttl;
        }

        void requestFirstPage() {
            if (error != null || type == null || KeyCopy.MISSING.equals(type)) {
                return;
            }
            ScanArgs page = ScanArgs.Builder.limit(PAGE);
            firstPage = switch (type) {
                case "string" -> {
                    stringLength = async.strlen(key);
                    yield async.getrange(key, 0, STRING_CHUNK - 1);
                }
                case "list" -> async.lrange(key, 0, PAGE - 1);
                case "set" -> async.sscan(key, ScanCursor.INITIAL, page);
                case "hash" -> async.hscan(key, ScanCursor.INITIAL, page);
                case "zset" -> async.zscan(key, ScanCursor.INITIAL, page);
                case "stream" -> async.dispatch(CommandType.XRANGE, new ArrayOutput<>(ByteArrayCodec.INSTANCE), xrange(key, "-"));
                default -> async.dump(key);
            };
        }

        KeyCopy finish() {
            if (error != null) {
                return KeyCopy.unreadable(error, readAt);
            }
            if (type == null || KeyCopy.MISSING.equals(type) || expireAt == -2) {
                return KeyCopy.missing(readAt);
            }
            try {
                Object first = await(firstPage);
                Content content = switch (type) {
                    case "string" -> string(key, (byte[]) first, await(stringLength));
                    case "list" -> list(key, cast(first));
                    case "set" -> set(key, cast(first));
                    case "hash" -> hash(key, cast(first));
                    case "zset" -> sortedSet(key, cast(first));
                    case "stream" -> stream(key, cast(first));
                    default -> first == null ? null : new Content(((byte[]) first).length, ValueDigest.sha256((byte[]) first), null);
                };
                if (content == null) {
                    return KeyCopy.unreadable("deleted while being read", readAt);
                }
                return new KeyCopy(type, content.size(), content.digest(), content.preview(), expireAt, idleSeconds, readAt, null);
            } catch (RedisCommandExecutionException e) {
                fail(e);
                return KeyCopy.unreadable(error, readAt);
            }
        }

        private void fail(RedisCommandExecutionException e) {
            if (isPermission(e)) {
                throw e;
            }
            error = String.valueOf(e.getMessage());
        }
    }

    private Content string(byte[] key, byte[] firstChunk, long length) {
        MessageDigest digest = ValueDigest.sha256();
        digest.update(firstChunk);
        long read = firstChunk.length;
        while (read < length && firstChunk.length == STRING_CHUNK) {
            throttle.acquire(1);
            byte[] chunk = redis.getrange(key, read, read + STRING_CHUNK - 1);
            if (chunk == null || chunk.length == 0) {
                break;
            }
            digest.update(chunk);
            read += chunk.length;
        }
        return new Content(read, digest.digest(), head(firstChunk));
    }

    /** A collection Redis never keeps empty: an empty first page means the key went away meanwhile. */
    private Content list(byte[] key, List<byte[]> firstPage) {
        if (firstPage.isEmpty()) {
            return null;
        }
        ValueDigest digest = ValueDigest.ordered();
        List<byte[]> page = firstPage;
        for (long start = 0; ; ) {
            page.forEach(digest::add);
            if (page.size() < PAGE) {
                break;
            }
            start += PAGE;
            throttle.acquire(1);
            page = redis.lrange(key, start, start + PAGE - 1);
        }
        return new Content(digest.count(), digest.finish(), head(firstPage.get(0)));
    }

    private Content set(byte[] key, ValueScanCursor<byte[]> firstPage) {
        ValueDigest digest = ValueDigest.unordered();
        ValueScanCursor<byte[]> page = firstPage;
        while (true) {
            page.getValues().forEach(digest::add);
            if (page.isFinished()) {
                break;
            }
            throttle.acquire(1);
            page = redis.sscan(key, page, ScanArgs.Builder.limit(PAGE));
        }
        return digest.count() == 0 ? null : new Content(digest.count(), digest.finish(), null);
    }

    private Content hash(byte[] key, MapScanCursor<byte[], byte[]> firstPage) {
        ValueDigest digest = ValueDigest.unordered();
        MapScanCursor<byte[], byte[]> page = firstPage;
        while (true) {
            for (Map.Entry<byte[], byte[]> field : page.getMap().entrySet()) {
                digest.add(field.getKey(), field.getValue());
            }
            if (page.isFinished()) {
                break;
            }
            throttle.acquire(1);
            page = redis.hscan(key, page, ScanArgs.Builder.limit(PAGE));
        }
        return digest.count() == 0 ? null : new Content(digest.count(), digest.finish(), null);
    }

    private Content sortedSet(byte[] key, ScoredValueScanCursor<byte[]> firstPage) {
        ValueDigest digest = ValueDigest.unordered();
        ScoredValueScanCursor<byte[]> page = firstPage;
        while (true) {
            for (ScoredValue<byte[]> member : page.getValues()) {
                digest.add(member.getValue(), ValueDigest.score(member.getScore()));
            }
            if (page.isFinished()) {
                break;
            }
            throttle.acquire(1);
            page = redis.zscan(key, page, ScanArgs.Builder.limit(PAGE));
        }
        return digest.count() == 0 ? null : new Content(digest.count(), digest.finish(), null);
    }

    /** XRANGE page by page (an exclusive start after the last id seen); each entry is its id and fields in order. */
    private Content stream(byte[] key, List<Object> firstPage) {
        if (firstPage.isEmpty()) {
            return null;
        }
        ValueDigest digest = ValueDigest.ordered();
        byte[] firstId = null;
        List<Object> page = firstPage;
        while (true) {
            byte[] lastId = null;
            for (Object entry : page) {
                List<?> idAndFields = (List<?>) entry;
                lastId = (byte[]) idAndFields.get(0);
                List<?> fields = idAndFields.size() > 1 && idAndFields.get(1) != null ? (List<?>) idAndFields.get(1) : List.of();
                byte[][] parts = new byte[fields.size() + 1][];
                parts[0] = lastId;
                for (int i = 0; i < fields.size(); i++) {
                    parts[i + 1] = (byte[]) fields.get(i);
                }
                digest.add(parts);
                firstId = firstId == null ? lastId : firstId;
            }
            if (page.size() < PAGE || lastId == null) {
                break;
            }
            throttle.acquire(1);
            page = redis.dispatch(CommandType.XRANGE, new ArrayOutput<>(ByteArrayCodec.INSTANCE),
                    xrange(key, "(" + new String(lastId, StandardCharsets.US_ASCII)));
        }
        return new Content(digest.count(), digest.finish(), firstId);
    }

    private static CommandArgs<byte[], byte[]> xrange(byte[] key, String start) {
        return new CommandArgs<>(ByteArrayCodec.INSTANCE).addKey(key).add(start).add("+").add("COUNT").add(PAGE);
    }

    private static <T> T await(RedisFuture<T> reply) {
        return LettuceFutures.awaitOrCancel(reply, TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    }

    @SuppressWarnings("unchecked")
    private static <T> T cast(Object reply) {
        return (T) reply;
    }

    private static byte[] head(byte[] bytes) {
        return bytes.length <= PREVIEW_BYTES ? bytes : Arrays.copyOf(bytes, PREVIEW_BYTES);
    }
}
