package io.ferry.cli.inspect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.schemas.AvroSerde;
import io.ferry.schemas.ChangeEvent;
import io.ferry.schemas.Command;
import io.ferry.schemas.EventKind;
import io.ferry.schemas.Heartbeat;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class FerryMessageFormatterTest {

    private static String print(FerryMessageFormatter formatter, ChangeEvent event, String applied) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (PrintStream stream = new PrintStream(out, true, StandardCharsets.UTF_8)) {
            formatter.writeTo(RecordRendererTest.record("ferry.a.changes", 7, null, AvroSerde.changeEvents().encode(event), "a", applied), stream);
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void printsTheSameLineAsInspectIncludingTheAppliedVector() {
        ChangeEvent set = RecordRendererTest.event(EventKind.COMMAND)
                .setCommands(List.of(new Command("SET", List.of(RecordRendererTest.bytes("k"), RecordRendererTest.bytes("v"))))).build();
        FerryMessageFormatter formatter = new FerryMessageFormatter();
        formatter.configure(Map.of());
        assertEquals("ferry.a.changes-0@7 origin=a COMMAND db=0 pos=8c3f0a1b:1234 at=2026-11-21T11:02:03.123Z"
                + " applied={b:0=812,c:0=77}  SET \"k\" \"v\"" + System.lineSeparator(), print(formatter, set, "b:0=812,c:0=77"));
    }

    @Test
    void skipsHeartbeatsWhenAskedAndCutsArguments() {
        FerryMessageFormatter formatter = new FerryMessageFormatter();
        formatter.configure(Map.of(FerryMessageFormatter.SKIP_HEARTBEATS, "true", FerryMessageFormatter.MAX_ARG_BYTES, "2"));
        ChangeEvent beat = RecordRendererTest.event(EventKind.HEARTBEAT).setHeartbeat(new Heartbeat(1L, 1L)).build();
        assertEquals("", print(formatter, beat, "b:0=812"));
        ChangeEvent set = RecordRendererTest.event(EventKind.COMMAND)
                .setCommands(List.of(new Command("SET", List.of(RecordRendererTest.bytes("key"))))).build();
        String line = print(formatter, set, "b:0=812");
        assertTrue(line.contains(" applied={b:0=812}  SET \"ke\"…(+1 bytes)"), line);
    }
}
