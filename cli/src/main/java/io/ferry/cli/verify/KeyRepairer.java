package io.ferry.cli.verify;

import io.ferry.topology.conflict.ConflictPolicy;
import io.ferry.topology.conflict.ConflictRules;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Collectors;

/**
 * {@code ferry verify --repair}: for each diverged key, picks the winning instance by the key's policy
 * ({@link RepairWinner}) and runs {@link io.ferry.topology.conflict.RepublishScript} there only. The
 * script writes the key over itself as an ordinary write, which the winner's capture agent publishes and
 * every peer's apply agent applies through the normal exactly-once path; then this waits, bounded, for
 * the other instances to hold the same copy. Nothing is written to the losers directly, so a repair needs
 * the mesh's agents running.
 */
final class KeyRepairer {

    private static final long POLL_MILLIS = 500;

    /** Told what the repair does to each key. */
    interface Listener {
        void notRepaired(Divergence divergence, ConflictPolicy policy);

        void republished(Divergence divergence, RepairWinner.Decision decision);

        void repaired(Divergence divergence, RepairWinner.Decision decision);

        void notConverged(Divergence divergence, RepairWinner.Decision decision, String difference);
    }

    /** How many keys were republished and how many of those every instance now holds alike. */
    record Outcome(int republished, int repaired) {
    }

    private final MeshReader reader;
    private final ConflictRules rules;
    private final CopyComparator comparator;
    private final Duration timeout;
    private final Listener listener;

    KeyRepairer(MeshReader reader, ConflictRules rules, CopyComparator comparator, Duration timeout, Listener listener) {
        this.reader = reader;
        this.rules = rules;
        this.comparator = comparator;
        this.timeout = timeout;
        this.listener = listener;
    }

    private record Pending(Divergence divergence, RepairWinner.Decision decision) {
    }

    Outcome repair(List<Divergence> diverged) {
        List<Pending> pending = new ArrayList<>();
        for (Divergence divergence : diverged) {
            ConflictPolicy policy = rules.policyFor(divergence.key());
            Optional<RepairWinner.Decision> decision = RepairWinner.choose(policy, divergence.touchedAt());
            if (decision.isEmpty()) {
                listener.notRepaired(divergence, policy);
                continue;
            }
            InstanceClient winner = reader.instances().stream()
                    .filter(instance -> instance.id().equals(decision.get().instance())).findFirst().orElseThrow();
            winner.select(divergence.db());
            winner.republish(divergence.key());
            listener.republished(divergence, decision.get());
            pending.add(new Pending(divergence, decision.get()));
        }
        int republished = pending.size();
        int repaired = 0;
        long deadline = System.nanoTime() + timeout.toNanos();
        Map<Pending, String> stillDiffering = new LinkedHashMap<>();
        while (!pending.isEmpty()) {
            stillDiffering.clear();
            Set<Pending> converged = Collections.newSetFromMap(new IdentityHashMap<>());
            Map<Integer, List<Pending>> byDb = pending.stream()
                    .collect(Collectors.groupingBy(p -> p.divergence().db(), TreeMap::new, Collectors.toList()));
            for (Map.Entry<Integer, List<Pending>> db : byDb.entrySet()) {
                List<Map<String, KeyCopy>> copies = reader.read(db.getKey(),
                        db.getValue().stream().map(p -> p.divergence().key()).toList());
                for (int k = 0; k < copies.size(); k++) {
                    Pending next = db.getValue().get(k);
                    Optional<String> difference = comparator.difference(copies.get(k));
                    if (difference.isEmpty()) {
                        listener.repaired(next.divergence(), next.decision());
                        repaired++;
                        converged.add(next);
                    } else {
                        stillDiffering.put(next, difference.get());
                    }
                }
            }
            pending.removeIf(converged::contains);
            if (pending.isEmpty() || System.nanoTime() - deadline >= 0) {
                break;
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(POLL_MILLIS));
        }
        stillDiffering.forEach((next, difference) -> listener.notConverged(next.divergence(), next.decision(), difference));
        return new Outcome(republished, repaired);
    }
}
