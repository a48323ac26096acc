package io.ferry.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** One exit-code table: the README's is the code's, and every command's --help prints it. */
class ExitCodeTest {

    private static final Pattern ROW = Pattern.compile("^\\| (\\d+) \\| (.+?) \\|.*$");

    @Test
    void theReadmeTableIsTheCodesTable() throws Exception {
        List<String> lines = Files.readAllLines(Path.of("..", "README.md"));
        int start = lines.indexOf("Exit codes, the same for every command:");
        assertTrue(start >= 0, "README.md has the section 'Exit codes, the same for every command:'");
        Map<Integer, String> documented = new LinkedHashMap<>();
        for (String line : lines.subList(start + 1, lines.size())) {
            if (documented.size() > 0 && !line.startsWith("|")) {
                break;
            }
            Matcher row = ROW.matcher(line);
            if (row.matches()) {
                documented.put(Integer.parseInt(row.group(1)), row.group(2));
            }
        }
        assertEquals(ExitCode.MEANINGS, documented);
    }

    @Test
    void everyCommandsHelpListsTheExitCodes() {
        for (String command : List.of("capture", "apply", "status")) {
            StringWriter out = new StringWriter();
            assertEquals(0, FerryCli.execute(new PrintWriter(out), new PrintWriter(new StringWriter()), command, "--help"));
            assertTrue(out.toString().contains("Exit codes:"), out.toString());
            assertTrue(out.toString().contains("6   Redis or Kafka refused the credentials or ACLs"), out.toString());
        }
    }
}
