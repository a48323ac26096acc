package io.ferry.topology;

import io.ferry.schemas.ReplicationPolicy;

/**
 * One member of the mesh: its Redis, the Kafka its topic lives in, and the ports its agents serve
 * /metrics, /healthz and /readyz on.
 */
public record InstanceConfig(String id, RedisEndpoint redis, KafkaEndpoint kafka, int captureHttpPort, int applyHttpPort) {

    /** The topic this instance's capture writes and every peer reads. */
    public String changesTopic() {
        return ReplicationPolicy.changesTopic(id);
    }
}
