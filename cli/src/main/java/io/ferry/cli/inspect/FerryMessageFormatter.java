package io.ferry.cli.inspect;

import java.io.PrintStream;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.MessageFormatter;

/**
 * Lets Kafka's own console consumer print Ferry records:
 * <pre>
 * CLASSPATH=cli/target/ferry.jar kafka-console-consumer.sh --bootstrap-server HOST:PORT \
 *     --topic ferry.a.changes --from-beginning --isolation-level read_committed \
 *     --formatter io.ferry.cli.inspect.FerryMessageFormatter \
 *     [--formatter-property max.arg.bytes=500] [--formatter-property skip.heartbeats=true]
 * </pre>
 * The line format is {@link RecordRenderer}'s, the same as {@code ferry inspect}.
 */
public final class FerryMessageFormatter implements MessageFormatter {

    /** Longest argument printed before it is cut; the rest is counted. */
    public static final String MAX_ARG_BYTES = "max.arg.bytes";

    /** {@code true} leaves out HEARTBEAT events (one a second per capture). */
    public static final String SKIP_HEARTBEATS = "skip.heartbeats";

    private RecordRenderer renderer = new RecordRenderer();
    private boolean skipHeartbeats;

    @Override
    public void configure(Map<String, ?> configs) {
        skipHeartbeats = Boolean.parseBoolean(String.valueOf(configs.get(SKIP_HEARTBEATS)));
        Object max = configs.get(MAX_ARG_BYTES);
        if (max != null) {
            try {
                renderer = new RecordRenderer(Integer.parseInt(max.toString().trim()));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(MAX_ARG_BYTES + " must be a whole number of bytes, got '" + max + "'");
            }
        }
    }

    @Override
    public void writeTo(ConsumerRecord<byte[], byte[]> record, PrintStream output) {
        if (skipHeartbeats && RecordDecoder.isHeartbeat(record.headers(), record.value())) {
            return;
        }
        output.println(renderer.render(record));
    }
}
