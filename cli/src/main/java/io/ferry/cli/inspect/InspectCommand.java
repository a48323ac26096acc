package io.ferry.cli.inspect;

import io.ferry.cli.ExitCode;
import io.ferry.cli.MeshOptions;
import io.ferry.cli.OperatorException;
import io.ferry.cli.connect.KafkaConnector;
import io.ferry.topology.InstanceConfig;
import io.ferry.topology.KafkaEndpoint;
import io.ferry.topology.MeshConfig;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.TopicPartition;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import java.nio.file.Path;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code ferry inspect}: prints a Ferry topic's records readably, one line each. */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        header = "Print a Ferry topic's records readably (changes, offsets, dead letters, conflicts).",
        description = {"Decode and print the records of a Ferry topic: change events, capture positions, dead letters "
                + "or conflicts (recognised by their schema). One line per record: topic-partition@offset, origin header, "
                + "kind, db, source position (replid:offset), capture time, then the commands with arguments quoted and "
                + "binary bytes escaped (\\xHH) like redis-cli.",
                "Reads committed records only and joins no consumer group."},
        footer = {"", "Examples:",
                "  ferry inspect -c mesh.yaml a        (the last 10 change events of instance a)",
                "  ferry inspect -c mesh.yaml b:deadletters --from-beginning",
                "  ferry inspect -c mesh.yaml ferry.a.changes --follow",
                "  ferry inspect --bootstrap kafka:9092 ferry.a.offsets --from-beginning"})
public final class InspectCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    MeshOptions mesh;

    @Parameters(paramLabel = "TOPIC", description = "A topic name (ferry.a.changes) or INSTANCE[:changes|offsets|deadletters|conflicts] (default changes).")
    String topic;

    @Option(names = "--bootstrap", paramLabel = "HOST:PORT", description = "Kafka to read instead of the mesh file's.")
    String bootstrap;

    @Option(names = "--kafka-property", paramLabel = "KEY=VALUE", description = "Extra Kafka client setting with --bootstrap "
            + "(security.protocol, sasl.mechanism, ...). Secrets (sasl.jaas.config, *password*) are refused here, since a "
            + "command line is visible to every user of the host: put them in --kafka-properties-file.")
    Map<String, String> kafkaProperties = new LinkedHashMap<>();

    @Option(names = "--kafka-properties-file", paramLabel = "FILE", defaultValue = "${env:FERRY_KAFKA_PROPERTIES_FILE}",
            description = "Kafka client settings for --bootstrap as a Java properties file, like Kafka's --command-config "
                    + "(default: $FERRY_KAFKA_PROPERTIES_FILE).")
    Path kafkaPropertiesFile;

    @Option(names = "--from-beginning", description = "Start at the oldest record instead of the last --tail per partition.")
    boolean fromBeginning;

    @Option(names = "--tail", paramLabel = "N", defaultValue = "10", description = "Without --from-beginning: print the last N records of each partition first (default ${DEFAULT-VALUE}).")
    long tail;

    @Option(names = "--max", paramLabel = "N", defaultValue = "0", description = "Stop after N records (default: no limit).")
    long max;

    @Option(names = {"-f", "--follow"}, description = "Keep printing new records until Ctrl-C.")
    boolean follow;

    @Option(names = "--no-heartbeats", description = "Leave out HEARTBEAT events (a capture sends one a second).")
    boolean noHeartbeats;

    @Option(names = "--partition", paramLabel = "P", description = "Only this partition.")
    Integer partition;

    @Option(names = "--max-arg-bytes", paramLabel = "N", defaultValue = "" + RecordRenderer.DEFAULT_MAX_ARG_BYTES,
            description = "Cut arguments longer than N bytes (default ${DEFAULT-VALUE}).")
    int maxArgBytes;

    @Override
    public Integer call() {
        TopicAddress address;
        try {
            address = TopicAddress.parse(topic);
        } catch (IllegalArgumentException e) {
            throw new OperatorException(ExitCode.BAD_CONFIG, e.getMessage());
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        RecordRenderer renderer = new RecordRenderer(maxArgBytes);
        try (KafkaConnector kafka = new KafkaConnector(endpoint(address))) {
            kafka.checkReachable();
            List<TopicPartition> partitions = kafka.requirePartitions(address.topic(), address.whyMissing());
            if (partition != null) {
                partitions = partitions.stream().filter(p -> p.partition() == partition).toList();
                if (partitions.isEmpty()) {
                    throw new OperatorException(ExitCode.BAD_CONFIG, address.topic() + " has no partition " + partition);
                }
            }
            CountDownLatch finished = new CountDownLatch(1);
            try (TopicReader reader = new TopicReader(kafka)) {
                if (follow) {
                    // Ctrl-C ends --follow: stop reading, let this thread print its summary, then exit
                    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                        reader.stop();
                        try {
                            finished.await(5, TimeUnit.SECONDS);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }, "ferry-inspect-stop"));
                }
                long count = reader.read(partitions, new TopicReader.Range(fromBeginning, tail, max, follow),
                        noHeartbeats ? record -> !RecordDecoder.isHeartbeat(record.headers(), record.value()) : TopicReader.ALL,
                        record -> out.println(renderer.render(record)));
                out.flush();
                err.println(count + " record(s) from " + address.topic() + " at " + kafka.bootstrap());
                err.flush();
            } finally {
                finished.countDown();
            }
        }
        return ExitCode.OK;
    }

    private KafkaEndpoint endpoint(TopicAddress address) {
        if (bootstrap != null) {
            return new KafkaEndpoint(bootstrap, KafkaPropertiesOption.merge(kafkaPropertiesFile, kafkaProperties));
        }
        MeshConfig config = mesh.load();
        return address.instance().flatMap(config::find)
                .or(() -> config.instances().values().stream().findFirst())
                .map(InstanceConfig::kafka)
                .orElseThrow(() -> new OperatorException(ExitCode.BAD_CONFIG, "the mesh file names no Kafka; pass --bootstrap"));
    }
}
