package io.ferry.capture;

import io.ferry.capture.cluster.ClusterCaptureService;
import io.ferry.topology.FerryAgent;
import io.ferry.topology.MeshConfig;
import io.micrometer.core.instrument.MeterRegistry;

/** The capture agent an instance needs: one stream for a standalone Redis, one per shard for a Redis Cluster. */
public final class CaptureAgents {

    private CaptureAgents() {
    }

    /** @param acceptWiped see {@link CaptureService#CaptureService(MeshConfig, String, MeterRegistry, String)} */
    public static FerryAgent forInstance(MeshConfig mesh, String instanceId, MeterRegistry registry, String acceptWiped) {
        return mesh.instance(instanceId).redis().cluster()
                ? new ClusterCaptureService(mesh, instanceId, registry, acceptWiped)
                : new CaptureService(mesh, instanceId, registry, acceptWiped);
    }
}
