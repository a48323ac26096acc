package io.ferry.e2e.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.localmesh.JvmProcess;
import io.ferry.localmesh.TestServers;
import io.ferry.topology.FatalErrors;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Issue 12, item 4: an agent whose thread dies of OutOfMemoryError exits (and is restarted), never hangs. */
class FatalErrorTest {

    /** An agent-like process: a worker thread runs out of heap while main waits for it, as AgentRunner does. */
    public static final class OutOfMemoryAgent {
        public static void main(String[] args) throws InterruptedException {
            FatalErrors.install();
            Thread worker = new Thread(() -> {
                byte[][] hog = new byte[1024][];
                for (int i = 0; i < hog.length; i++) {
                    hog[i] = new byte[1024 * 1024];
                }
                System.out.println("allocated " + hog.length + " MiB: the heap limit did not apply");
            }, "ferry-apply-worker");
            worker.start();
            while (true) {
                Thread.sleep(1000); // without the handler the process would sit here forever
            }
        }
    }

    @Test
    void aThreadDyingOfOutOfMemoryMakesTheProcessExitWithOne() throws Exception {
        Path log = TestServers.tempDir("fatal").resolve("agent.log");
        JvmProcess agent = JvmProcess.start("oom", log, OutOfMemoryAgent.class, List.of("-Xmx32m", "-XX:+UseSerialGC"));
        int code = agent.waitFor(Duration.ofSeconds(30));
        agent.close();
        String output = Files.readString(log);
        assertEquals(FatalErrors.EXIT_CODE, code, output);
        assertTrue(output.contains("fatal java.lang.OutOfMemoryError") && output.contains("ferry-apply-worker"), output);
    }

    @Test
    void everyLauncherExitsOnOutOfMemoryEvenWhereAThreadSwallowsTheError() throws Exception {
        Path repo = Path.of("").toAbsolutePath();
        while (!Files.exists(repo.resolve("Dockerfile"))) {
            repo = repo.getParent();
        }
        assertTrue(Files.readString(repo.resolve("ferry")).contains("exec \"$java\" -XX:+ExitOnOutOfMemoryError"), "ferry script");
        assertTrue(Files.readString(repo.resolve("Dockerfile")).contains("\"-XX:+ExitOnOutOfMemoryError\""), "image");
        assertTrue(Files.readString(repo.resolve("helm/ferry/values.yaml"))
                .contains("jvmOptions: \"-XX:MaxRAMPercentage=75 -XX:+ExitOnOutOfMemoryError\""), "chart");
    }
}
