package io.ferry.e2e.ops;

import io.ferry.apply.metrics.ApplyMetrics;
import io.ferry.capture.CaptureMetrics;
import io.ferry.cli.lifecycle.JoinMetrics;
import io.ferry.schemas.EventKind;
import io.ferry.topology.AgentHttpServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The metric names Ferry's agents export (the contract the dashboard and the alert rules are written
 * against), and the agents' real meter classes ({@link CaptureMetrics}, {@link ApplyMetrics}) driven
 * with made-up activity, so tests can check that contract against what the code registers and let a
 * real Prometheus scrape it without running Redis or Kafka.
 */
final class AgentMeters {

    /** Every name the dashboard and the rules may use: the agents' metrics plus Prometheus's own {@code up}. */
    static final Set<String> EXPORTED = Set.of(
            "ferry_capture_events_total", "ferry_capture_commands_total", "ferry_capture_bytes_total",
            "ferry_capture_lag_bytes", "ferry_capture_position_offset", "ferry_capture_full_resyncs_total",
            "ferry_capture_reconnects_total", "ferry_capture_filtered_commands_total", "ferry_capture_echoes_total",
            "ferry_capture_transactions_total", "ferry_capture_eviction_filter_active",
            "ferry_capture_source_wiped", "ferry_capture_backlog_headroom_seconds", "ferry_capture_source_keys",
            "ferry_apply_lag_seconds", "ferry_apply_lag_records", "ferry_apply_events_total", "ferry_apply_commands_total",
            "ferry_apply_batches_total", "ferry_apply_dead_letters_total", "ferry_apply_conflicts_total",
            "ferry_apply_latency_seconds_bucket", "ferry_apply_latency_seconds_sum", "ferry_apply_latency_seconds_count",
            "ferry_apply_reconnects_total",
            // conflict settling: these series appear only once a conflict, repair or causal wait happened, so
            // tick() makes each of them happen
            "ferry_apply_conflict_resolutions_total", "ferry_apply_repairs_total", "ferry_apply_causal_waits_total",
            "ferry_apply_conflict_window_keys", "ferry_apply_conflict_window_evictions_total",
            // a peer's full resync reconciled here: only after one happened
            "ferry_apply_resyncs_total", "ferry_apply_resync_keys_total",
            // keys peers asked this instance to re-publish after its own full resync
            "ferry_apply_republish_requests_total", "ferry_apply_republish_requests_waiting",
            // served by a running ferry join on the joining instance's capture port
            "ferry_join_in_progress", "ferry_join_copied_keys_total");

    static final Set<String> FROM_PROMETHEUS = Set.of("up");

    private static final Pattern SAMPLE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]", Pattern.MULTILINE);

    final String instance;
    final String peer;
    final PrometheusMeterRegistry captureRegistry = AgentHttpServer.newRegistry();
    final PrometheusMeterRegistry applyRegistry = AgentHttpServer.newRegistry();
    private final CaptureMetrics capture;
    private final ApplyMetrics apply;
    private final JoinMetrics join;
    private long offset = 1000;

    /** Meters of one instance's capture agent and of its apply agent applying {@code peer}. */
    AgentMeters(String instance, String peer) {
        this.instance = instance;
        this.peer = peer;
        capture = new CaptureMetrics(captureRegistry, instance);
        apply = new ApplyMetrics(applyRegistry, instance, 1000);
        join = new JoinMetrics(captureRegistry, instance, peer);
        // one resync snapshot applied conservatively long ago: the series exists, the alert on it stays quiet
        apply.peer(peer).resync("conservative");
    }

    /** Some activity of every kind, so every meter exists and every counter moves. */
    synchronized void tick() {
        offset += 512;
        capture.sourceOffset(offset + 128);
        for (EventKind kind : EventKind.values()) {
            capture.event(kind, 200, 2);
        }
        capture.transactionCommitted(offset);
        capture.fullResync();
        capture.reconnect();
        capture.filtered("FLUSHALL", "never replicated");
        capture.echo(peer);
        // a healthy source: not wiped, an hour of backlog headroom (the alerts on them stay quiet)
        capture.sourceWiped(false);
        capture.backlogHeadroom(3600 - offset % 60);
        capture.sourceKeys(10_000 + offset % 100);
        // a join that has finished (the alert on one in progress stays quiet)
        join.copied(offset);
        join.finished();

        ApplyMetrics.Peer fromPeer = apply.peer(peer);
        fromPeer.applied(5, 7, true);
        fromPeer.captured(0, System.currentTimeMillis() - 40, true);
        fromPeer.lagRecords(3);
        fromPeer.deadLetter("WRONGTYPE");
        fromPeer.conflict("setnx");
        fromPeer.conflict("VALUE");
        fromPeer.resolution("VALUE", "SKIPPED");
        fromPeer.resolution("VALUE", "REPAIRED");
        fromPeer.causalWait();
        fromPeer.resync("reconciled");
        fromPeer.resyncKeys("deleted", 2);
        apply.republishRequest("deferred");
        apply.republishWaiting(1);
        apply.repaired(true);
        apply.repaired(false);
        apply.windowKeys(40 + offset % 7);
        apply.windowEvicted(1);
        apply.reconnected();
    }

    /** Metric names in both agents' /metrics text. */
    Set<String> scrapedNames() {
        Set<String> names = new TreeSet<>();
        for (String text : List.of(captureRegistry.scrape(), applyRegistry.scrape())) {
            Matcher m = SAMPLE.matcher(text);
            while (m.find()) {
                names.add(m.group(1));
            }
        }
        return names;
    }
}
