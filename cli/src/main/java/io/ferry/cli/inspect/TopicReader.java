package io.ferry.cli.inspect;

import io.ferry.cli.connect.KafkaConnector;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Comparator;
import java.util.HashMap;
import java.util.TreeMap;
import java.util.function.Predicate;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;

/**
 * Reads a topic's committed records outside any consumer group: from the beginning or the last few
 * per partition, up to the end as it was when reading started, or on and on with {@code follow}.
 */
public final class TopicReader implements AutoCloseable {

    /** Where to start and when to stop. {@code max} <= 0 means no limit. */
    public record Range(boolean fromBeginning, long tail, long max, boolean follow) {
    }

    private final KafkaConnector kafka;
    private final KafkaConsumer<byte[], byte[]> consumer;
    private volatile boolean stopped;

    public TopicReader(KafkaConnector kafka) {
        this.kafka = kafka;
        this.consumer = kafka.newConsumer();
    }

    /**
     * Hands each record {@code filter} accepts to {@code sink}; returns how many. Without
     * {@code fromBeginning} it reads a window before the end and keeps the last {@code tail} accepted
     * records of each partition (offsets are not records: transaction markers take offsets too).
     */
    public long read(List<TopicPartition> partitions, Range range, Predicate<ConsumerRecord<byte[], byte[]>> filter,
                     Consumer<ConsumerRecord<byte[], byte[]>> sink) {
        Map<TopicPartition, Long> beginning = kafka.beginningOffsets(consumer, partitions);
        Map<TopicPartition, Long> end = kafka.endOffsets(consumer, partitions);
        if (range.fromBeginning()) {
            return read(beginning, end, range.follow(), range.max(), filter, sink);
        }
        long window = 2 * range.tail() + (filter == ALL ? 0 : 20_000);
        Map<TopicPartition, Long> start = new HashMap<>();
        Map<TopicPartition, ArrayDeque<ConsumerRecord<byte[], byte[]>>> last = new TreeMap<>(
                Comparator.comparing(TopicPartition::partition));
        for (TopicPartition tp : partitions) {
            start.put(tp, Math.max(beginning.get(tp), end.get(tp) - window));
            last.put(tp, new ArrayDeque<>());
        }
        read(start, end, false, 0, filter, record -> {
            ArrayDeque<ConsumerRecord<byte[], byte[]>> kept = last.get(new TopicPartition(record.topic(), record.partition()));
            kept.addLast(record);
            if (kept.size() > range.tail()) {
                kept.removeFirst();
            }
        });
        long count = 0;
        for (ArrayDeque<ConsumerRecord<byte[], byte[]>> kept : last.values()) {
            for (ConsumerRecord<byte[], byte[]> record : kept) {
                sink.accept(record);
                if (++count == range.max()) {
                    return count;
                }
            }
        }
        if (!range.follow() || stopped) {
            return count;
        }
        Map<TopicPartition, Long> now = new HashMap<>();
        partitions.forEach(tp -> now.put(tp, kafka.call(() -> consumer.position(tp))));
        return count + read(now, end, true, range.max() <= 0 ? 0 : range.max() - count, filter, sink);
    }

    /** Accepts every record. */
    public static final Predicate<ConsumerRecord<byte[], byte[]>> ALL = record -> true;

    /** What {@link #readLatest} read, and how many offsets lay before its window (records and transaction markers). */
    public record Latest(long read, long offsetsBefore) {
    }

    /**
     * Reads the last {@code window} offsets of each partition up to the end it has now: a bounded look at
     * a topic that may hold millions of records.
     */
    public Latest readLatest(List<TopicPartition> partitions, long window, Consumer<ConsumerRecord<byte[], byte[]>> sink) {
        Map<TopicPartition, Long> beginning = kafka.beginningOffsets(consumer, partitions);
        Map<TopicPartition, Long> end = kafka.endOffsets(consumer, partitions);
        Map<TopicPartition, Long> start = new HashMap<>();
        long before = 0;
        for (TopicPartition tp : partitions) {
            long from = Math.max(beginning.get(tp), end.get(tp) - window);
            start.put(tp, from);
            before += from - beginning.get(tp);
        }
        return new Latest(read(start, end, false, 0, ALL, sink), before);
    }

    /** The offsets of a partition past {@code from} up to its end now: records plus transaction markers. */
    public long offsetsFrom(TopicPartition tp, long from) {
        long beginning = kafka.beginningOffsets(consumer, List.of(tp)).get(tp);
        long end = kafka.endOffsets(consumer, List.of(tp)).get(tp);
        return Math.max(0, end - Math.max(from, beginning));
    }

    /** Reads each partition from its start offset up to the end offset it has now; returns how many records. */
    public long readToEnd(Map<TopicPartition, Long> start, long max, Consumer<ConsumerRecord<byte[], byte[]>> sink) {
        List<TopicPartition> partitions = List.copyOf(start.keySet());
        Map<TopicPartition, Long> beginning = kafka.beginningOffsets(consumer, partitions);
        Map<TopicPartition, Long> from = new HashMap<>();
        start.forEach((tp, offset) -> from.put(tp, Math.max(offset, beginning.get(tp))));
        return read(from, kafka.endOffsets(consumer, partitions), false, max, ALL, sink);
    }

    private long read(Map<TopicPartition, Long> start, Map<TopicPartition, Long> stopAt, boolean follow, long max,
                      Predicate<ConsumerRecord<byte[], byte[]>> filter, Consumer<ConsumerRecord<byte[], byte[]>> sink) {
        List<TopicPartition> partitions = List.copyOf(start.keySet());
        consumer.assign(partitions);
        start.forEach(consumer::seek);
        long count = 0;
        try {
            while (!stopped) {
                if (!follow && caughtUp(partitions, stopAt)) {
                    break;
                }
                for (ConsumerRecord<byte[], byte[]> record : kafka.call(() -> consumer.poll(Duration.ofMillis(200)))) {
                    TopicPartition tp = new TopicPartition(record.topic(), record.partition());
                    if (!follow && record.offset() >= stopAt.get(tp) || !filter.test(record)) {
                        continue;
                    }
                    sink.accept(record);
                    if (++count == max) {
                        return count;
                    }
                }
            }
        } catch (WakeupException e) {
            // stop() from a shutdown hook (Ctrl-C while following)
        }
        return count;
    }

    private boolean caughtUp(List<TopicPartition> partitions, Map<TopicPartition, Long> stopAt) {
        for (TopicPartition tp : partitions) {
            if (kafka.call(() -> consumer.position(tp)) < stopAt.get(tp)) {
                return false;
            }
        }
        return true;
    }

    /** Ends a {@link #read} in progress from another thread. */
    public void stop() {
        stopped = true;
        consumer.wakeup();
    }

    @Override
    public void close() {
        consumer.close(org.apache.kafka.clients.consumer.CloseOptions.timeout(Duration.ofSeconds(2)));
    }
}
