package io.ferry.e2e.mesh;

import io.ferry.cli.FerryCli;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Arrays;

/** One {@code ferry …} command run in this JVM: its exit code and what it printed (echoed to the test log). */
public record FerryRun(int exitCode, String out, String err) {

    public static FerryRun of(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = FerryCli.execute(new PrintWriter(out, true), new PrintWriter(err, true), args);
        FerryRun run = new FerryRun(code, out.toString(), err.toString());
        System.out.println("ferry " + String.join(" ", Arrays.asList(args)) + "\n" + run);
        return run;
    }

    @Override
    public String toString() {
        return "exit " + exitCode + "\nstdout:\n" + out + "\nstderr:\n" + err;
    }
}
