package io.ferry.capture.snapshot;

import static com.moilioncircle.redis.replicator.Constants.RDB_TYPE_HASH;
import static com.moilioncircle.redis.replicator.Constants.RDB_TYPE_HASH_LISTPACK;
import static com.moilioncircle.redis.replicator.Constants.RDB_TYPE_HASH_LISTPACK_EX;
import static com.moilioncircle.redis.replicator.Constants.RDB_TYPE_HASH_METADATA;
import static com.moilioncircle.redis.replicator.Constants.RDB_TYPE_HASH_ZIPLIST;
import static com.moilioncircle.redis.replicator.Constants.RDB_TYPE_HASH_ZIPMAP;
import static com.moilioncircle.redis.replicator.Constants.RDB_TYPE_LIST;
import static com.moilioncircle.redis.replicator.Constants.RDB_TYPE_LIST_QUICKLIST;
import static com.moilioncircle.redis.replicator.Constants.RDB_TYPE_LIST_QUICKLIST_2;
import static com.moilioncircle.redis.replicator.Constants.RDB_TYPE_LIST_ZIPLIST;
import static com.moilioncircle.redis.replicator.Constants.RDB_TYPE_MODULE;
import static com.moilioncircle.redis.replicator.Constants.RDB_TYPE_MODULE_2;
import static com.moilioncircle.redis.replicator.Constants.RDB_TYPE_SET;
import static com.moilioncircle.redis.replicator.Constants.RDB_TYPE_SET_INTSET;
import static com.moilioncircle.redis.replicator.Constants.RDB_TYPE_SET_LISTPACK;
import static com.moilioncircle.redis.replicator.Constants.RDB_TYPE_STREAM_LISTPACKS;
import static com.moilioncircle.redis.replicator.Constants.RDB_TYPE_STREAM_LISTPACKS_2;
import static com.moilioncircle.redis.replicator.Constants.RDB_TYPE_STREAM_LISTPACKS_3;
import static com.moilioncircle.redis.replicator.Constants.RDB_TYPE_STRING;
import static com.moilioncircle.redis.replicator.Constants.RDB_TYPE_ZSET;
import static com.moilioncircle.redis.replicator.Constants.RDB_TYPE_ZSET_2;
import static com.moilioncircle.redis.replicator.Constants.RDB_TYPE_ZSET_LISTPACK;
import static com.moilioncircle.redis.replicator.Constants.RDB_TYPE_ZSET_ZIPLIST;

import com.moilioncircle.redis.replicator.Replicator;
import com.moilioncircle.redis.replicator.io.RawByteListener;
import com.moilioncircle.redis.replicator.io.RedisInputStream;
import com.moilioncircle.redis.replicator.rdb.skip.SkipRdbValueVisitor;
import java.io.IOException;
import java.util.Arrays;

/**
 * Walks each RDB value with redis-replicator's skip parser, which holds none of it (strings, LZF ones
 * included, are skipped in buffer-sized steps), and notes where the value's bytes lie in the file and its
 * RDB type: enough to build its DUMP payload from the file afterwards ({@link DumpPayload}); a small value's
 * bytes are kept as read.
 */
final class ValueSpanVisitor extends SkipRdbValueVisitor {

    /**
     * Where the last value walked lies, and its bytes when it is small (copied as they were read: no second
     * read of the file for the many small keys of a big snapshot).
     */
    record Span(int type, long from, long length, int fileRdbVersion, byte[] smallValue) {
    }

    /** Values up to this size are copied while walked. */
    static final int SMALL_VALUE_BYTES = 64 * 1024;

    /** Copies the bytes the skip parser reads, up to {@link #SMALL_VALUE_BYTES}, then only notes it overflowed. */
    private static final class SmallValueCopy implements RawByteListener {
        private final byte[] buffer = new byte[SMALL_VALUE_BYTES];
        private int length;
        private boolean overflowed;

        void reset() {
            length = 0;
            overflowed = false;
        }

        @Override
        public void handle(byte... rawBytes) {
            if (overflowed || length + rawBytes.length > buffer.length) {
                overflowed = true;
                return;
            }
            System.arraycopy(rawBytes, 0, buffer, length, rawBytes.length);
            length += rawBytes.length;
        }

        byte[] copy() {
            return overflowed ? null : Arrays.copyOf(buffer, length);
        }
    }

    private final Replicator replicator;
    private final SmallValueCopy small = new SmallValueCopy();

    @FunctionalInterface
    private interface Walk {
        void run() throws IOException;
    }

    private Span last;

    ValueSpanVisitor(Replicator replicator) {
        super(replicator);
        this.replicator = replicator;
    }

    /**
     * The span of the value walked last (the key event is handed on right after it), which is then forgotten:
     * a key whose value this visitor did not walk gets none, never its predecessor's.
     */
    Span take() {
        Span span = last;
        last = null;
        return span;
    }

    /**
     * The first RDB version that has values of {@code type}: a payload of that type cannot be restored on a
     * Redis whose RDB version is lower and must be re-encoded for it.
     */
    static int introducedIn(int type) {
        switch (type) {
            case RDB_TYPE_ZSET_2:
            case RDB_TYPE_MODULE_2:
                return 8;
            case RDB_TYPE_STREAM_LISTPACKS:
                return 9;
            case RDB_TYPE_HASH_LISTPACK:
            case RDB_TYPE_ZSET_LISTPACK:
            case RDB_TYPE_LIST_QUICKLIST_2:
            case RDB_TYPE_STREAM_LISTPACKS_2:
                return 10;
            case RDB_TYPE_SET_LISTPACK:
            case RDB_TYPE_STREAM_LISTPACKS_3:
                return 11;
            case RDB_TYPE_HASH_METADATA:
            case RDB_TYPE_HASH_LISTPACK_EX:
                return 12;
            case RDB_TYPE_LIST_QUICKLIST:
                return 7;
            default:
                return 1;
        }
    }

    private <T> T span(RedisInputStream in, int type, int version, Walk walk) throws IOException {
        long from = position(in);
        small.reset();
        replicator.addRawByteListener(small);
        try {
            walk.run();
        } finally {
            replicator.removeRawByteListener(small);
        }
        long length = position(in) - from;
        byte[] value = small.copy();
        if (value != null && value.length != length) {
            throw new IOException("the RDB reader lost track of a value of RDB type " + type + " at offset " + from + " (" + value.length
                    + " bytes read of " + length + ")");
        }
        last = new Span(type, from, length, version, value);
        return null;
    }

    /** Bytes of the file consumed so far: read into the stream's buffer, less what is still unread in it. */
    private static long position(RedisInputStream in) {
        return in.total() - (in.tail() - in.head());
    }

    @Override
    public <T> T applyString(RedisInputStream in, int version) throws IOException {
        return span(in, RDB_TYPE_STRING, version, () -> super.applyString(in, version));
    }

    @Override
    public <T> T applyList(RedisInputStream in, int version) throws IOException {
        return span(in, RDB_TYPE_LIST, version, () -> super.applyList(in, version));
    }

    @Override
    public <T> T applySet(RedisInputStream in, int version) throws IOException {
        return span(in, RDB_TYPE_SET, version, () -> super.applySet(in, version));
    }

    @Override
    public <T> T applySetListPack(RedisInputStream in, int version) throws IOException {
        return span(in, RDB_TYPE_SET_LISTPACK, version, () -> super.applySetListPack(in, version));
    }

    @Override
    public <T> T applyZSet(RedisInputStream in, int version) throws IOException {
        return span(in, RDB_TYPE_ZSET, version, () -> super.applyZSet(in, version));
    }

    @Override
    public <T> T applyZSet2(RedisInputStream in, int version) throws IOException {
        return span(in, RDB_TYPE_ZSET_2, version, () -> super.applyZSet2(in, version));
    }

    @Override
    public <T> T applyHash(RedisInputStream in, int version) throws IOException {
        return span(in, RDB_TYPE_HASH, version, () -> super.applyHash(in, version));
    }

    @Override
    public <T> T applyHashZipMap(RedisInputStream in, int version) throws IOException {
        return span(in, RDB_TYPE_HASH_ZIPMAP, version, () -> super.applyHashZipMap(in, version));
    }

    @Override
    public <T> T applyListZipList(RedisInputStream in, int version) throws IOException {
        return span(in, RDB_TYPE_LIST_ZIPLIST, version, () -> super.applyListZipList(in, version));
    }

    @Override
    public <T> T applySetIntSet(RedisInputStream in, int version) throws IOException {
        return span(in, RDB_TYPE_SET_INTSET, version, () -> super.applySetIntSet(in, version));
    }

    @Override
    public <T> T applyZSetZipList(RedisInputStream in, int version) throws IOException {
        return span(in, RDB_TYPE_ZSET_ZIPLIST, version, () -> super.applyZSetZipList(in, version));
    }

    @Override
    public <T> T applyZSetListPack(RedisInputStream in, int version) throws IOException {
        return span(in, RDB_TYPE_ZSET_LISTPACK, version, () -> super.applyZSetListPack(in, version));
    }

    @Override
    public <T> T applyHashZipList(RedisInputStream in, int version) throws IOException {
        return span(in, RDB_TYPE_HASH_ZIPLIST, version, () -> super.applyHashZipList(in, version));
    }

    @Override
    public <T> T applyHashListPack(RedisInputStream in, int version) throws IOException {
        return span(in, RDB_TYPE_HASH_LISTPACK, version, () -> super.applyHashListPack(in, version));
    }

    @Override
    public <T> T applyListQuickList(RedisInputStream in, int version) throws IOException {
        return span(in, RDB_TYPE_LIST_QUICKLIST, version, () -> super.applyListQuickList(in, version));
    }

    @Override
    public <T> T applyListQuickList2(RedisInputStream in, int version) throws IOException {
        return span(in, RDB_TYPE_LIST_QUICKLIST_2, version, () -> super.applyListQuickList2(in, version));
    }

    @Override
    public <T> T applyHashMetadata(RedisInputStream in, int version) throws IOException {
        return span(in, RDB_TYPE_HASH_METADATA, version, () -> super.applyHashMetadata(in, version));
    }

    @Override
    public <T> T applyHashListPackEx(RedisInputStream in, int version) throws IOException {
        return span(in, RDB_TYPE_HASH_LISTPACK_EX, version, () -> super.applyHashListPackEx(in, version));
    }

    @Override
    public <T> T applyModule(RedisInputStream in, int version) throws IOException {
        return span(in, RDB_TYPE_MODULE, version, () -> super.applyModule(in, version));
    }

    @Override
    public <T> T applyModule2(RedisInputStream in, int version) throws IOException {
        return span(in, RDB_TYPE_MODULE_2, version, () -> super.applyModule2(in, version));
    }

    @Override
    public <T> T applyStreamListPacks(RedisInputStream in, int version) throws IOException {
        return span(in, RDB_TYPE_STREAM_LISTPACKS, version, () -> super.applyStreamListPacks(in, version));
    }

    @Override
    public <T> T applyStreamListPacks2(RedisInputStream in, int version) throws IOException {
        return span(in, RDB_TYPE_STREAM_LISTPACKS_2, version, () -> super.applyStreamListPacks2(in, version));
    }

    @Override
    public <T> T applyStreamListPacks3(RedisInputStream in, int version) throws IOException {
        return span(in, RDB_TYPE_STREAM_LISTPACKS_3, version, () -> super.applyStreamListPacks3(in, version));
    }
}
