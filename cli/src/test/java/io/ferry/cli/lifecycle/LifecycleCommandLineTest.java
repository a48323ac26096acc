package io.ferry.cli.lifecycle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.cli.FerryCli;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** join and leave refuse a bad command line before touching any server, saying what to fix. */
class LifecycleCommandLineTest {

    @TempDir
    Path dir;

    private Path meshFile() throws Exception {
        Path file = dir.resolve("mesh.yaml");
        Files.writeString(file, """
                mesh: t
                kafka: {bootstrap: "127.0.0.1:1"}
                instances:
                  a: {redis: {uri: "redis://127.0.0.1:1"}}
                  b: {redis: {uri: "redis://127.0.0.1:2"}}
                """);
        return file;
    }

    private static String[] run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = FerryCli.execute(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new String[] {Integer.toString(code), out + err.toString()};
    }

    @Test
    void joiningAnInstanceFromItselfIsRefused() throws Exception {
        String[] result = run("join", "-c", meshFile().toString(), "-i", "a", "--from", "a");
        assertEquals("2", result[0], result[1]);
        assertTrue(result[1].contains("--from must name another instance"), result[1]);
    }

    @Test
    void joiningFromAnInstanceOutsideTheMeshNamesTheInstancesThereAre() throws Exception {
        String[] result = run("join", "-c", meshFile().toString(), "-i", "a", "--from", "zz");
        assertEquals("2", result[0], result[1]);
        assertTrue(result[1].contains("'zz' is not in mesh 't'") && result[1].contains("[a, b]"), result[1]);
    }

    @Test
    void leavingWhileTheMeshFileStillListsTheInstanceSaysToRemoveItFirst() throws Exception {
        String[] result = run("leave", "-c", meshFile().toString(), "-i", "b");
        assertEquals("2", result[0], result[1]);
        assertTrue(result[1].contains("still in the mesh file: remove it"), result[1]);
    }

    @Test
    void aLeavingIdThatCannotBeAnInstanceIsRefused() throws Exception {
        String[] result = run("leave", "-c", meshFile().toString(), "-i", "x*");
        assertTrue(!result[0].equals("0"), result[1]);
        assertTrue(result[1].contains("instance id 'x*'"), result[1]);
    }
}
