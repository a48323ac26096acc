package io.ferry.cli.verify;

import io.ferry.cli.connect.RedisKeyspace;
import io.ferry.cli.connect.Replies;
import io.ferry.resp.RedisReplyException;
import io.ferry.resp.RespMessage;
import io.ferry.resp.cluster.RedisClusterClient.Routed;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Reads keys' {@link KeyCopy}s from one Redis (a cluster's keys each from the master of its slot), in the
 * db the instance has selected, a batch at a time and pipelined: first OBJECT IDLETIME (before anything
 * touches the key), TYPE and the absolute expiry of every key, then the first page of every key's
 * content; only big values take more round trips, page by page (never one huge reply). The reads are not
 * atomic; a key that changes meanwhile is caught by the caller's rechecks. Keys and values stay bytes.
 */
final class KeyCopyReader {

    /** Elements per read of a collection; each page after the first costs one more permit of the throttle. */
    static final int PAGE = 1000;
    private static final int STRING_CHUNK = 1 << 20;
    /** One byte more than {@link KeyCopy} shows, so it can tell a cut value from a short one. */
    private static final int PREVIEW_BYTES = KeyCopy.PREVIEW_BYTES + 1;

    private final RedisKeyspace redis;
    private final ReadThrottle throttle;
    private final long serverClockOffsetMillis;
    private boolean idleTracked = true;
    private boolean hasPexpiretime = true;

    /**
     * @param serverClockOffsetMillis the server's clock minus this machine's, for expiries from PTTL where
     *                                PEXPIRETIME does not exist (Redis 6.2)
     */
    KeyCopyReader(RedisKeyspace redis, ReadThrottle throttle, long serverClockOffsetMillis) {
        this.redis = redis;
        this.throttle = throttle;
        this.serverClockOffsetMillis = serverClockOffsetMillis;
    }

    /**
     * The copies, in the order of {@code keys}. A refused permission (NOPERM) and connection failures are
     * thrown; other command errors make unreadable copies.
     */
    List<KeyCopy> read(List<byte[]> keys) throws IOException {
        throttle.acquire(keys.size());
        List<KeyRead> reads = new ArrayList<>(keys.size());
        keys.forEach(key -> reads.add(new KeyRead(key)));
        List<Routed> metadata = new ArrayList<>();
        reads.forEach(read -> read.requestMetadata(metadata));
        List<RespMessage> replies = redis.execute(metadata);
        int next = 0;
        for (KeyRead read : reads) {
            next = read.takeMetadata(replies, next);
        }
        List<Routed> firstPages = new ArrayList<>();
        reads.forEach(read -> read.requestFirstPage(firstPages));
        replies = firstPages.isEmpty() ? List.of() : redis.execute(firstPages);
        next = 0;
        List<KeyCopy> copies = new ArrayList<>(keys.size());
        for (KeyRead read : reads) {
            copies.add(read.finish(replies, next));
            next += read.firstPageReplies;
        }
        return copies;
    }

    private record Content(long size, byte[] digest, byte[] preview) {
    }

    /** One key on its way through the pipelined phases. */
    private final class KeyRead {
        final byte[] key;
        final long readAt = System.currentTimeMillis();
        boolean idleAsked;
        boolean pexpiretimeAsked;
        int firstPageReplies;
        long idleSeconds = -1;
        String type;
        long expireAt;
        String error;

        KeyRead(byte[] key) {
            this.key = key;
        }

        void requestMetadata(List<Routed> commands) {
            idleAsked = idleTracked;
            if (idleAsked) {
                commands.add(Replies.on(key, "OBJECT", "IDLETIME", key)); // first: every later read touches the key
            }
            commands.add(Replies.on(key, "TYPE", key));
            pexpiretimeAsked = hasPexpiretime;
            commands.add(Replies.on(key, pexpiretimeAsked ? "PEXPIRETIME" : "PTTL", key));
        }

        /** Takes this key's replies from {@code replies} at {@code at}; returns where the next key's begin. */
        int takeMetadata(List<RespMessage> replies, int at) throws IOException {
            if (idleAsked) {
                RespMessage idle = replies.get(at++);
                if (idle instanceof RespMessage.Error) {
                    idleTracked = false; // an LFU maxmemory policy, or OBJECT not permitted: lww falls back to instance ids
                } else if (idle instanceof RespMessage.Integer seconds) {
                    idleSeconds = seconds.value();
                }
            }
            RespMessage typeReply = replies.get(at++);
            RespMessage expiryReply = replies.get(at++);
            try {
                type = Replies.text(typeReply);
                expireAt = expiry(expiryReply);
            } catch (RedisReplyException e) {
                fail(e);
            }
            return at;
        }

        /** PEXPIRETIME, or PTTL plus the server's clock before Redis 7.0; -1 none, -2 gone. */
        private long expiry(RespMessage reply) throws IOException {
            if (pexpiretimeAsked) {
                if (!(reply instanceof RespMessage.Error error)
                        || !error.text().toLowerCase(Locale.ROOT).contains("unknown command")) {
                    return Replies.integer(reply);
                }
                hasPexpiretime = false;
                reply = redis.call(Replies.on(key, "PTTL", key));
            }
            long ttl = Replies.integer(reply);
            return ttl < 0 ? ttl : System.currentTimeMillis() + serverClockOffsetMillis + ttl;
        }

        boolean exists() {
            return error == null && type != null && !KeyCopy.MISSING.equals(type) && expireAt != -2;
        }

        void requestFirstPage(List<Routed> commands) {
            if (!exists()) {
                return;
            }
            int before = commands.size();
            switch (type) {
                case "string" -> {
                    commands.add(Replies.on(key, "STRLEN", key));
                    commands.add(Replies.on(key, "GETRANGE", key, 0, STRING_CHUNK - 1));
                }
                case "list" -> commands.add(Replies.on(key, "LRANGE", key, 0, PAGE - 1));
                case "set", "hash", "zset" -> commands.add(Replies.on(key, scanCommand(type), key, "0", "COUNT", PAGE));
                case "stream" -> commands.add(xrange(key, "-"));
                default -> commands.add(Replies.on(key, "DUMP", key));
            }
            firstPageReplies = commands.size() - before;
        }

        KeyCopy finish(List<RespMessage> replies, int at) throws IOException {
            if (error != null) {
                return KeyCopy.unreadable(error, readAt);
            }
            if (!exists()) {
                return KeyCopy.missing(readAt);
            }
            try {
                RespMessage first = replies.get(at + firstPageReplies - 1);
                Content content = switch (type) {
                    case "string" -> string(key, Replies.bulk(first), Replies.integer(replies.get(at)));
                    case "list" -> list(key, bulks(Replies.items(first)));
                    case "set" -> set(key, Replies.scan(first));
                    case "hash" -> hash(key, Replies.scan(first));
                    case "zset" -> sortedSet(key, Replies.scan(first));
                    case "stream" -> stream(key, Replies.items(first));
                    default -> {
                        byte[] dump = Replies.bulk(first);
                        yield dump == null ? null : new Content(dump.length, ValueDigest.sha256(dump), null);
                    }
                };
                if (content == null) {
                    return KeyCopy.unreadable("deleted while being read", readAt);
                }
                return new KeyCopy(type, content.size(), content.digest(), content.preview(), expireAt, idleSeconds, readAt, null);
            } catch (RedisReplyException e) {
                fail(e);
                return KeyCopy.unreadable(error, readAt);
            }
        }

        private void fail(RedisReplyException e) throws RedisReplyException {
            if (e.accessDenied()) {
                throw e;
            }
            error = String.valueOf(e.getMessage());
        }
    }

    private static String scanCommand(String type) {
        return switch (type) {
            case "set" -> "SSCAN";
            case "hash" -> "HSCAN";
            default -> "ZSCAN";
        };
    }

    /** The next page of a key's SSCAN, HSCAN or ZSCAN (one permit). */
    private Replies.ScanReply nextPage(byte[] key, String type, String cursor) throws IOException {
        throttle.acquire(1);
        return Replies.scan(redis.call(Replies.on(key, scanCommand(type), key, cursor, "COUNT", PAGE)));
    }

    private Content string(byte[] key, byte[] firstChunk, long length) throws IOException {
        MessageDigest digest = ValueDigest.sha256();
        digest.update(firstChunk);
        long read = firstChunk.length;
        while (read < length && firstChunk.length == STRING_CHUNK) {
            throttle.acquire(1);
            byte[] chunk = Replies.bulk(redis.call(Replies.on(key, "GETRANGE", key, read, read + STRING_CHUNK - 1)));
            if (chunk == null || chunk.length == 0) {
                break;
            }
            digest.update(chunk);
            read += chunk.length;
        }
        return new Content(read, digest.digest(), head(firstChunk));
    }

    /** A collection Redis never keeps empty: an empty first page means the key went away meanwhile. */
    private Content list(byte[] key, List<byte[]> firstPage) throws IOException {
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
            page = bulks(Replies.items(redis.call(Replies.on(key, "LRANGE", key, start, start + PAGE - 1))));
        }
        return new Content(digest.count(), digest.finish(), head(firstPage.get(0)));
    }

    private Content set(byte[] key, Replies.ScanReply firstPage) throws IOException {
        ValueDigest digest = ValueDigest.unordered();
        for (Replies.ScanReply page = firstPage; ; page = nextPage(key, "set", page.cursor())) {
            page.elements().forEach(digest::add);
            if (page.finished()) {
                break;
            }
        }
        return digest.count() == 0 ? null : new Content(digest.count(), digest.finish(), null);
    }

    private Content hash(byte[] key, Replies.ScanReply firstPage) throws IOException {
        ValueDigest digest = ValueDigest.unordered();
        for (Replies.ScanReply page = firstPage; ; page = nextPage(key, "hash", page.cursor())) {
            List<byte[]> fields = page.elements();
            for (int i = 0; i + 1 < fields.size(); i += 2) {
                digest.add(fields.get(i), fields.get(i + 1));
            }
            if (page.finished()) {
                break;
            }
        }
        return digest.count() == 0 ? null : new Content(digest.count(), digest.finish(), null);
    }

    private Content sortedSet(byte[] key, Replies.ScanReply firstPage) throws IOException {
        ValueDigest digest = ValueDigest.unordered();
        for (Replies.ScanReply page = firstPage; ; page = nextPage(key, "zset", page.cursor())) {
            List<byte[]> members = page.elements();
            for (int i = 0; i + 1 < members.size(); i += 2) {
                digest.add(members.get(i), ValueDigest.score(Replies.score(members.get(i + 1))));
            }
            if (page.finished()) {
                break;
            }
        }
        return digest.count() == 0 ? null : new Content(digest.count(), digest.finish(), null);
    }

    /** XRANGE page by page (an exclusive start after the last id seen); each entry is its id and fields in order. */
    private Content stream(byte[] key, List<Object> firstPage) throws IOException {
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
            page = Replies.items(redis.call(xrange(key, "(" + new String(lastId, StandardCharsets.US_ASCII))));
        }
        return new Content(digest.count(), digest.finish(), firstId);
    }

    private static Routed xrange(byte[] key, String start) {
        return Replies.on(key, "XRANGE", key, start, "+", "COUNT", PAGE);
    }

    private static List<byte[]> bulks(List<Object> items) {
        return items.stream().map(byte[].class::cast).toList();
    }

    private static byte[] head(byte[] bytes) {
        return bytes.length <= PREVIEW_BYTES ? bytes : Arrays.copyOf(bytes, PREVIEW_BYTES);
    }
}
