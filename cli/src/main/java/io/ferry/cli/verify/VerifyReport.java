package io.ferry.cli.verify;

import io.ferry.cli.inspect.ByteText;
import io.ferry.topology.conflict.ConflictPolicy;
import io.ferry.topology.conflict.ConflictRules;
import java.io.PrintWriter;
import java.util.List;
import java.util.Map;

/**
 * What {@code ferry verify} prints: each diverged key (escaped bytes, db, why, each instance's copy),
 * what the repair did, and one summary line. Progress goes to stderr, and only when stderr is a terminal.
 */
final class VerifyReport implements MeshVerifier.Listener, KeyRepairer.Listener {

    private static final long PROGRESS_EVERY_NANOS = 250_000_000L;

    private final PrintWriter out;
    private final PrintWriter progress;
    private final ConflictRules rules;
    private final int idWidth;
    private long lastProgress;
    private boolean progressShown;

    /** @param progress where progress lines go, null for none */
    VerifyReport(PrintWriter out, PrintWriter progress, ConflictRules rules, List<String> instanceIds) {
        this.out = out;
        this.progress = progress;
        this.rules = rules;
        this.idWidth = instanceIds.stream().mapToInt(String::length).max().orElse(1);
    }

    @Override
    public void diverged(Divergence divergence) {
        clearProgress();
        out.println("diverged " + where(divergence) + ": " + divergence.reason()
                + "   (policy " + rules.policyFor(divergence.key()) + ")");
        long now = System.currentTimeMillis();
        for (Map.Entry<String, KeyCopy> copy : divergence.copies().entrySet()) {
            long touchedAt = divergence.touchedAt().getOrDefault(copy.getKey(), -1L);
            out.println("  " + pad(copy.getKey()) + "  " + copy.getValue().describe()
                    + (touchedAt < 0 || !copy.getValue().exists() ? "" : ", touched " + Math.max(0, (now - touchedAt) / 1000) + " s ago"));
        }
        out.flush();
    }

    @Override
    public void progress(int db, String instance, long keysChecked, int suspects, int diverged) {
        if (progress == null) {
            return;
        }
        long now = System.nanoTime();
        if (progressShown && now - lastProgress < PROGRESS_EVERY_NANOS) {
            return;
        }
        lastProgress = now;
        progressShown = true;
        progress.print("\rdb " + db + (instance.isEmpty() ? ", rechecking" : ", scanning " + instance) + ": " + keysChecked
                + " keys checked, " + suspects + " being rechecked, " + diverged + " diverged   ");
        progress.flush();
    }

    @Override
    public void notRepaired(Divergence divergence, ConflictPolicy policy) {
        out.println("not repaired " + where(divergence) + ": its policy is " + policy + " (report only); fix it by hand");
        out.flush();
    }

    @Override
    public void republished(Divergence divergence, RepairWinner.Decision decision) {
        out.println("republished " + where(divergence) + " from " + decision.instance() + " (" + decision.why() + ")");
        out.flush();
    }

    @Override
    public void repaired(Divergence divergence, RepairWinner.Decision decision) {
        out.println("repaired " + where(divergence) + ": every instance holds " + decision.instance() + "'s copy");
        out.flush();
    }

    @Override
    public void notConverged(Divergence divergence, RepairWinner.Decision decision, String difference) {
        out.println("not converged " + where(divergence) + " after republishing from " + decision.instance() + ": " + difference);
        out.flush();
    }

    void line(String line) {
        clearProgress();
        out.println(line);
        out.flush();
    }

    void clearProgress() {
        if (progress != null && progressShown) {
            progress.print("\r\033[K");
            progress.flush();
            progressShown = false;
        }
    }

    private static String where(Divergence divergence) {
        return ByteText.quote(divergence.key()) + " db " + divergence.db();
    }

    private String pad(String id) {
        return id + " ".repeat(Math.max(0, idWidth - id.length()));
    }
}
