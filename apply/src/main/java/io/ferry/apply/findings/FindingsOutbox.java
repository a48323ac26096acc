package io.ferry.apply.findings;

import io.ferry.apply.redis.RawCommand;
import io.ferry.apply.redis.RedisTargetClient;
import io.ferry.apply.redis.RedisUnavailableException;
import io.ferry.apply.redis.Reply;
import io.ferry.apply.redis.TransactionReply;
import io.ferry.schemas.ReplicationPolicy;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends the apply agent's error records (dead letters, conflicts) and makes sure none is lost.
 *
 * <p>Records found before a batch is sent (undecodable records, commands Redis refused to queue,
 * concurrent writes) are acknowledged by Kafka before the MULTI/EXEC whose checkpoint passes them:
 * {@link #awaitAcknowledged} runs before every submit, so after a crash the checkpoint is still before
 * them and they are found again (at least once). Records learned from a committed EXEC's replies
 * (WRONGTYPE, conditional writes) come after their checkpoint; they are first appended to a Redis list
 * ({@link ReplicationPolicy#findingsJournalKey}) and removed from it once Kafka has acknowledged them, and
 * a starting agent re-sends what the list holds (at least once). A failed send is sent again, with
 * backoff, until Kafka takes it; meanwhile nothing more is applied and the agent is not ready.
 */
public final class FindingsOutbox {

    private static final Logger LOG = LoggerFactory.getLogger(FindingsOutbox.class);
    private static final long MAX_BACKOFF_MILLIS = 30_000;
    /** Waiting longer than this for an acknowledgement makes the agent not ready (the producer keeps trying). */
    private static final long SLOW_ACK_NANOS = 10_000_000_000L;

    private final Producer<byte[], byte[]> producer;
    private final RedisTargetClient redis;
    private final byte[] journalKey;
    private final int maxRecordBytes;
    private final ArrayDeque<Pending> pending = new ArrayDeque<>();
    private boolean afterCommit;
    private volatile String problem;

    private static final class Pending {
        final ProducerRecord<byte[], byte[]> record;
        Future<RecordMetadata> ack;
        /** The record as appended to the Redis journal; null while it is not journalled. */
        byte[] journalled;
        final boolean mustJournal;

        Pending(ProducerRecord<byte[], byte[]> record, Future<RecordMetadata> ack, boolean mustJournal) {
            this.record = record;
            this.ack = ack;
            this.mustJournal = mustJournal;
        }
    }

    /** Thrown by {@link #awaitAcknowledged} when the agent stops while records are still unacknowledged. */
    public static final class StoppedWhilePending extends RuntimeException {
        StoppedWhilePending(int count) {
            super(count + " error record(s) not yet acknowledged by Kafka when the agent stopped; the checkpoint"
                    + " has not passed them or they are kept in Redis, and they are sent again at the next start");
        }
    }

    /**
     * @param maxRecordBytes the producer's {@code max.request.size}: publishers shrink bigger records
     */
    public FindingsOutbox(Producer<byte[], byte[]> producer, RedisTargetClient redis, String applier, int maxRecordBytes) {
        this.producer = producer;
        this.redis = redis;
        this.journalKey = ReplicationPolicy.findingsJournalKey(applier);
        this.maxRecordBytes = maxRecordBytes;
    }

    /** Whether a record of this key and value (plus headers, roughly) is within the producer's limit. */
    public boolean fits(byte[] key, byte[] value) {
        return (key == null ? 0 : key.length) + value.length + 1024 < maxRecordBytes;
    }

    public int maxRecordBytes() {
        return maxRecordBytes;
    }

    /** Sends {@code record}; it counts as pending until Kafka acknowledges it. */
    public void send(ProducerRecord<byte[], byte[]> record) {
        pending.add(new Pending(record, producer.send(record), afterCommit));
    }

    /**
     * Runs {@code work}, which reports what a committed write found: what it sends is journalled in Redis
     * before anything else happens, since its checkpoint has already passed it.
     */
    public void afterCommit(Runnable work) {
        boolean outer = afterCommit;
        afterCommit = true;
        try {
            work.run();
        } finally {
            afterCommit = outer;
        }
        journal();
    }

    /** Null when every error record was acknowledged; otherwise why some are still waiting. */
    public String problem() {
        return problem;
    }

    /** Appends the pending records that must survive a crash to the Redis journal (one command). */
    private void journal() {
        List<byte[]> args = new ArrayList<>();
        args.add(journalKey);
        List<Pending> journalling = new ArrayList<>();
        for (Pending p : pending) {
            if (p.mustJournal && p.journalled == null) {
                journalling.add(p);
                args.add(encode(p.record));
            }
        }
        if (journalling.isEmpty()) {
            return;
        }
        Object reply = redis.call(new RawCommand("RPUSH", args));
        if (Reply.isError(reply)) {
            throw new RedisUnavailableException("Redis refused to keep " + journalling.size() + " error record(s) in "
                    + ReplicationPolicy.RESERVED_PREFIX + "findings: " + reply, null);
        }
        for (int i = 0; i < journalling.size(); i++) {
            journalling.get(i).journalled = args.get(i + 1);
        }
    }

    /**
     * Waits until Kafka has acknowledged every record sent, sending failed ones again with backoff, then
     * removes the journalled ones from Redis. Throws {@link StoppedWhilePending} once {@code keepTrying}
     * answers false with records still waiting.
     */
    public void awaitAcknowledged(BooleanSupplier keepTrying) {
        if (pending.isEmpty()) {
            return;
        }
        journal();
        long backoff = 100;
        long waitingSince = System.nanoTime();
        List<byte[]> acknowledgedJournal = new ArrayList<>();
        while (!pending.isEmpty()) {
            Pending p = pending.peekFirst();
            try {
                p.ack.get(1, TimeUnit.SECONDS);
                pending.pollFirst();
                if (p.journalled != null) {
                    acknowledgedJournal.add(p.journalled);
                }
                continue;
            } catch (TimeoutException e) {
                // the producer is still trying (delivery.timeout.ms); look again unless asked to stop
                long waited = System.nanoTime() - waitingSince;
                if (waited > SLOW_ACK_NANOS && problem == null) {
                    problem = "cannot record an error record in " + p.record.topic() + ": not acknowledged after "
                            + waited / 1_000_000_000L + " s (is the topic missing? see the README's 'Dead letters and conflict records are never lost');"
                            + " applying is paused until Kafka takes it (nothing is skipped)";
                    LOG.error("{}", problem);
                }
            } catch (ExecutionException e) {
                problem = "cannot record an error record in " + p.record.topic() + ": " + e.getCause()
                        + hint(e.getCause()) + "; applying is paused until Kafka takes it (nothing is skipped)";
                LOG.error("{}; sending it again in {} ms", problem, backoff);
                sleep(backoff, keepTrying);
                backoff = Math.min(MAX_BACKOFF_MILLIS, backoff * 2);
                p.ack = producer.send(p.record);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new StoppedWhilePending(pending.size());
            }
            if (!keepTrying.getAsBoolean()) {
                unjournal(acknowledgedJournal);
                throw new StoppedWhilePending(pending.size());
            }
        }
        if (problem != null) {
            LOG.info("error records acknowledged by Kafka again; applying goes on");
            problem = null;
        }
        unjournal(acknowledgedJournal);
    }

    /**
     * Sends again what a previous run left in the Redis journal (it stopped before Kafka acknowledged those
     * records). They are removed from the journal once acknowledged, by the next {@link #awaitAcknowledged}.
     */
    public int replayJournal() {
        Object reply = redis.call(new RawCommand("LRANGE", List.of(journalKey, "0".getBytes(), "-1".getBytes())));
        if (!(reply instanceof List<?> entries)) {
            throw new RedisUnavailableException("reading " + ReplicationPolicy.RESERVED_PREFIX + "findings answered "
                    + Reply.describe(reply), null);
        }
        for (Object entry : entries) {
            byte[] bytes = (byte[]) entry;
            ProducerRecord<byte[], byte[]> record = decode(bytes);
            Pending p = new Pending(record, producer.send(record), true);
            p.journalled = bytes;
            pending.add(p);
        }
        if (!entries.isEmpty()) {
            LOG.warn("re-sending {} error record(s) the previous run had kept in Redis but Kafka had not acknowledged", entries.size());
        }
        return entries.size();
    }

    private void unjournal(List<byte[]> entries) {
        if (entries.isEmpty()) {
            return;
        }
        List<RawCommand> removals = new ArrayList<>(entries.size());
        for (byte[] entry : entries) {
            removals.add(new RawCommand("LREM", List.of(journalKey, "1".getBytes(), entry)));
        }
        TransactionReply reply = redis.execute(List.of(removals)).get(0);
        if (!reply.committed()) {
            // Left in the journal: sent again at the next start (a duplicate, never a loss).
            LOG.warn("could not remove {} acknowledged error record(s) from the Redis journal: {}", entries.size(),
                    Reply.describe(reply.exec()));
        }
    }

    private static String hint(Throwable cause) {
        String name = cause.getClass().getSimpleName();
        if (name.contains("Authorization")) {
            return " (grant the apply agent's principal Write on the topic)";
        }
        if (name.contains("RecordTooLarge")) {
            return " (raise the topic's max.message.bytes)";
        }
        if (name.contains("Timeout") || name.contains("UnknownTopic")) {
            return " (is the topic missing? see the README's 'Dead letters and conflict records are never lost')";
        }
        return "";
    }

    private static void sleep(long millis, BooleanSupplier keepTrying) {
        long until = System.currentTimeMillis() + millis;
        while (keepTrying.getAsBoolean() && System.currentTimeMillis() < until) {
            try {
                Thread.sleep(Math.min(100, millis));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** Journal entry: topic, key, headers and value of the record, length-prefixed. */
    static byte[] encode(ProducerRecord<byte[], byte[]> record) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeByte(1);
            out.writeUTF(record.topic());
            writeBytes(out, record.key());
            Header[] headers = record.headers().toArray();
            out.writeInt(headers.length);
            for (Header header : headers) {
                out.writeUTF(header.key());
                writeBytes(out, header.value());
            }
            writeBytes(out, record.value());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    static ProducerRecord<byte[], byte[]> decode(byte[] entry) {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(entry))) {
            int version = in.readByte();
            if (version != 1) {
                throw new IllegalStateException("unknown error-record journal entry version " + version);
            }
            String topic = in.readUTF();
            byte[] key = readBytes(in);
            int headerCount = in.readInt();
            List<Header> headers = new ArrayList<>(headerCount);
            for (int i = 0; i < headerCount; i++) {
                headers.add(new RecordHeader(in.readUTF(), readBytes(in)));
            }
            return new ProducerRecord<>(topic, null, key, readBytes(in), headers);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void writeBytes(DataOutputStream out, byte[] bytes) throws IOException {
        out.writeInt(bytes == null ? -1 : bytes.length);
        if (bytes != null) {
            out.write(bytes);
        }
    }

    private static byte[] readBytes(DataInputStream in) throws IOException {
        int length = in.readInt();
        if (length < 0) {
            return null;
        }
        return in.readNBytes(length);
    }
}
