package io.ferry.cli.lifecycle;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What a running {@code ferry join} exports, so the dashboard and the alert rules see a join in progress:
 * ferry_join_in_progress (1 while it runs) and ferry_join_copied_keys_total, tagged with the joining
 * {@code instance} and the peer copied {@code from}.
 */
public final class JoinMetrics {

    private final AtomicInteger inProgress = new AtomicInteger();
    private final Counter copied;
    private long copiedSoFar;

    public JoinMetrics(MeterRegistry registry, String instance, String from) {
        Gauge.builder("ferry.join.in.progress", inProgress, AtomicInteger::get)
                .description("1 while ferry join seeds the instance from a peer (the instance is not live yet)")
                .tags("instance", instance, "from", from).register(registry);
        copied = Counter.builder("ferry.join.copied.keys").description("Keys ferry join has copied from the peer into the instance")
                .tags("instance", instance, "from", from).register(registry);
    }

    public void started() {
        inProgress.set(1);
    }

    /** The copy has reached {@code keys} keys in all. */
    public synchronized void copied(long keys) {
        if (keys > copiedSoFar) {
            copied.increment(keys - copiedSoFar);
            copiedSoFar = keys;
        }
    }

    public void finished() {
        inProgress.set(0);
    }
}
