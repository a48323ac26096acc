package io.ferry.cli.inspect;

import io.ferry.schemas.AppliedVector;
import io.ferry.schemas.CapturePosition;
import io.ferry.schemas.ChangeEvent;
import io.ferry.schemas.Command;
import io.ferry.schemas.Conflict;
import io.ferry.schemas.ConflictingWrite;
import io.ferry.schemas.DeadLetter;
import io.ferry.schemas.Heartbeat;
import io.ferry.schemas.ReplicationPolicy;
import io.ferry.schemas.SnapshotChunk;
import io.ferry.schemas.SourcePosition;
import io.ferry.schemas.StagedCommand;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;

/**
 * One line of text per Kafka record of any Ferry topic: where it is (topic-partition@offset), its origin
 * header, then what it says (kind, position, db, the applied vector header, commands with escaped
 * arguments; for a conflict its class, policy, winner, resolution and both writes). Shared by
 * {@code ferry inspect} and {@link FerryMessageFormatter} so both print the same thing.
 */
public final class RecordRenderer {

    /** Arguments longer than this are cut (RESTORE payloads can be megabytes). */
    public static final int DEFAULT_MAX_ARG_BYTES = 120;

    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'")
            .withZone(ZoneOffset.UTC);

    private final RecordDecoder decoder = new RecordDecoder();
    private final int maxArgBytes;

    public RecordRenderer() {
        this(DEFAULT_MAX_ARG_BYTES);
    }

    public RecordRenderer(int maxArgBytes) {
        this.maxArgBytes = maxArgBytes;
    }

    public String render(ConsumerRecord<byte[], byte[]> record) {
        StringBuilder line = new StringBuilder(160);
        line.append(record.topic()).append('-').append(record.partition()).append('@').append(record.offset());
        String originHeader = header(record, ReplicationPolicy.ORIGIN_HEADER);
        RecordDecoder.Decoded decoded = decoder.decode(record.value());
        if (decoded instanceof RecordDecoder.Known known) {
            renderKnown(line, known.record(), originHeader, record);
        } else if (decoded instanceof RecordDecoder.Undecodable bad) {
            appendOriginHeader(line, originHeader);
            line.append(" UNDECODABLE (").append(bad.reason()).append(") ")
                    .append(bad.bytes().length).append(" bytes ").append(ByteText.quote(bad.bytes(), 64));
        } else {
            appendOriginHeader(line, originHeader);
            line.append(" TOMBSTONE");
            appendKey(line, record.key());
        }
        return line.toString();
    }

    private void renderKnown(StringBuilder line, SpecificRecord record, String originHeader,
                             ConsumerRecord<byte[], byte[]> kafkaRecord) {
        if (record instanceof ChangeEvent event) {
            renderChange(line, event, originHeader, kafkaRecord);
        } else if (record instanceof CapturePosition position) {
            appendOriginHeader(line, originHeader);
            line.append(" POSITION");
            appendKey(line, kafkaRecord.key());
            line.append(" instance=").append(position.getInstance()).append(" shard=").append(position.getShard())
                    .append(" replid=").append(position.getPosition().getReplid())
                    .append(" offset=").append(position.getPosition().getOffset())
                    .append(" db=").append(position.getPosition().getDb())
                    .append(" committed=").append(time(position.getCommittedAtMillis()));
            appendApplied(line, kafkaRecord);
        } else if (record instanceof DeadLetter dead) {
            appendOriginHeader(line, originHeader);
            line.append(" DEAD_LETTER applier=").append(dead.getApplier())
                    .append(" origin=").append(dead.getOrigin() == null ? "?" : dead.getOrigin())
                    .append(" source=").append(dead.getTopic()).append('-').append(dead.getPartition())
                    .append('@').append(dead.getKafkaOffset())
                    .append(" reason=").append(dead.getReason());
            if (dead.getPosition() != null) {
                line.append(" pos=").append(position(dead.getPosition()));
            }
            line.append(" at=").append(time(dead.getTimeMillis()))
                    .append(" error=").append(ByteText.quote(dead.getError().getBytes(StandardCharsets.UTF_8), 300));
            if (dead.getRecord() != null) {
                line.append(" record=").append(ByteText.quote(dead.getRecord(), 64));
            }
            if (dead.getCommand() != null) {
                line.append("  ").append(command(dead.getCommand()));
            }
        } else if (record instanceof Conflict conflict) {
            appendOriginHeader(line, originHeader);
            renderConflict(line, conflict);
        } else {
            line.append(' ').append(record.getSchema().getName()).append(' ').append(record);
        }
    }

    /**
     * {@code CONFLICT applier= origin= class= [policy=] [winner=] resolution= [after={origin:partition=offset,…}] key= db= pos= at=}, then both
     * writes as {@code write={origin@offset pos= at= COMMAND}} and {@code other={...}}; a conflict seen
     * only in a reply (and every conflict of the previous release) has no writes, just its command.
     */
    private void renderConflict(StringBuilder line, Conflict conflict) {
        line.append(" CONFLICT applier=").append(conflict.getApplier())
                .append(" origin=").append(conflict.getOrigin())
                .append(" class=").append(conflict.getType());
        if (!conflict.getPolicy().isEmpty()) {
            line.append(" policy=").append(conflict.getPolicy());
        }
        if (conflict.getWinner() != null) {
            line.append(" winner=").append(conflict.getWinner());
        }
        line.append(" resolution=").append(conflict.getResolution());
        if (conflict.getRepublishAfter() != null) {
            line.append(" after={").append(AppliedVector.of(conflict.getRepublishAfter())).append('}');
        }
        if (conflict.getKey() != null) {
            line.append(" key=").append(ByteText.quote(conflict.getKey(), maxArgBytes));
        }
        line.append(" db=").append(conflict.getDb())
                .append(" pos=").append(position(conflict.getPosition()))
                .append(" at=").append(time(conflict.getTimeMillis()));
        if (conflict.getWrite() == null && conflict.getOther() == null) {
            if (conflict.getCommand() != null) {
                line.append("  ").append(command(conflict.getCommand()));
            }
            return;
        }
        appendWrite(line, "write", conflict.getWrite());
        appendWrite(line, "other", conflict.getOther());
    }

    private void appendWrite(StringBuilder line, String label, ConflictingWrite write) {
        if (write == null) {
            return;
        }
        line.append("  ").append(label).append("={").append(write.getOrigin()).append('@')
                .append(write.getKafkaOffset() < 0 ? "?" : String.valueOf(write.getKafkaOffset()));
        if (write.getPosition() != null) {
            line.append(" pos=").append(position(write.getPosition()));
        }
        line.append(" at=").append(time(Instant.ofEpochMilli(write.getTimeMillis())));
        if (write.getCommand() != null) {
            line.append(' ').append(command(write.getCommand()));
        }
        line.append('}');
    }

    private void renderChange(StringBuilder line, ChangeEvent event, String originHeader,
                              ConsumerRecord<byte[], byte[]> kafkaRecord) {
        line.append(" origin=").append(originHeader != null ? originHeader : event.getOrigin());
        if (originHeader != null && !originHeader.equals(event.getOrigin())) {
            line.append(" (event says ").append(event.getOrigin()).append(')');
        }
        line.append(' ').append(event.getKind())
                .append(" db=").append(event.getDb())
                .append(" pos=").append(position(event.getPosition()))
                .append(" at=").append(time(event.getCaptureTimeMillis()));
        appendApplied(line, kafkaRecord);
        switch (event.getKind()) {
            case HEARTBEAT -> {
                Heartbeat beat = event.getHeartbeat();
                if (beat != null) {
                    line.append(" source=").append(beat.getSourceOffset()).append(" captured=").append(beat.getCapturedOffset())
                            .append(" (").append(Math.max(0, beat.getSourceOffset() - beat.getCapturedOffset())).append(" bytes behind)");
                }
            }
            case SNAPSHOT_CHUNK -> {
                SnapshotChunk chunk = event.getChunk();
                if (chunk != null) {
                    line.append(" key=").append(ByteText.quote(chunk.getKey(), maxArgBytes))
                            .append(" chunk=").append(chunk.getIndex() + 1).append('/').append(chunk.getCount())
                            .append(" expireAt=").append(chunk.getExpireAtMillis() == 0 ? "never" : time(Instant.ofEpochMilli(chunk.getExpireAtMillis())))
                            .append(" data=").append(chunk.getData().remaining()).append(" bytes");
                }
            }
            default -> {
                List<Command> commands = event.getCommands();
                if (!commands.isEmpty()) {
                    line.append("  ");
                    for (int i = 0; i < commands.size(); i++) {
                        line.append(i == 0 ? "" : " ; ").append(command(commands.get(i)));
                    }
                }
            }
        }
    }

    /**
     * {@code NAME "arg1" "arg2"}, each argument quoted and escaped like redis-cli prints it; the EVAL that runs a
     * command with staged big values ({@link StagedCommand}) as that command, each such value as its size and stage.
     */
    public String command(Command command) {
        if ("EVAL".equals(command.getName())) {
            List<byte[]> args = command.getArgs().stream().map(RecordRenderer::bytes).toList();
            List<StagedCommand.Stage> stages = StagedCommand.stages(args);
            if (stages != null) {
                byte[][] inner = StagedCommand.inner(args);
                StringBuilder out = new StringBuilder("(staged) ").append(new String(inner[0], StandardCharsets.UTF_8));
                for (int i = 1; i < inner.length; i++) {
                    StagedCommand.Stage stage = null;
                    for (StagedCommand.Stage s : stages) {
                        stage = s.position() == i ? s : stage;
                    }
                    out.append(' ').append(stage == null ? ByteText.quote(inner[i], maxArgBytes)
                            : "<" + stage.length() + " bytes from " + ByteText.quote(stage.stageKey(), maxArgBytes) + ">");
                }
                return out.toString();
            }
        }
        StringBuilder out = new StringBuilder(command.getName());
        for (ByteBuffer arg : command.getArgs()) {
            out.append(' ').append(ByteText.quote(arg, maxArgBytes));
        }
        return out.toString();
    }

    private static byte[] bytes(ByteBuffer buffer) {
        ByteBuffer copy = buffer.duplicate();
        byte[] bytes = new byte[copy.remaining()];
        copy.get(bytes);
        return bytes;
    }

    private static String position(SourcePosition position) {
        String replid = position.getReplid();
        return (replid.length() > 8 ? replid.substring(0, 8) : replid) + ":" + position.getOffset();
    }

    private static String time(Instant instant) {
        return instant == null ? "?" : TIME.format(instant);
    }

    private static void appendOriginHeader(StringBuilder line, String originHeader) {
        if (originHeader != null) {
            line.append(" origin=").append(originHeader);
        }
    }

    /**
     * {@code applied={a:0=812,c:0=77}}: what the origin had applied of each peer partition when it wrote
     * (header {@link ReplicationPolicy#APPLIED_HEADER}). Records of the previous release have no such
     * header and get nothing; {@code applied={}} means the origin had applied nothing yet.
     */
    private static void appendApplied(StringBuilder line, ConsumerRecord<byte[], byte[]> record) {
        Header header = record.headers().lastHeader(ReplicationPolicy.APPLIED_HEADER);
        if (header == null) {
            return;
        }
        AppliedVector applied;
        try {
            applied = AppliedVector.decode(header.value());
        } catch (IllegalArgumentException e) {
            line.append(" applied=malformed ").append(ByteText.quote(header.value(), 64));
            return;
        }
        line.append(" applied={").append(applied).append('}');
    }

    private void appendKey(StringBuilder line, byte[] key) {
        if (key != null) {
            line.append(" key=").append(ByteText.quote(key, maxArgBytes));
        }
    }

    private static String header(ConsumerRecord<byte[], byte[]> record, String name) {
        Header header = record.headers().lastHeader(name);
        return header == null || header.value() == null ? null : new String(header.value(), StandardCharsets.UTF_8);
    }
}
