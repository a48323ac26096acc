# The one Ferry image: every role runs from it (`capture`, `apply`, `inspect`, `status`, `monitor`, …);
# `demo` is not in it (its broker and Redis binaries are in demo/target/ferry-demo.jar, for ./ferry demo).
#
#   mvn -B -ntp package -DskipTests                  # builds cli/target/ferry.jar (shaded)
#   docker build -t ferry:0.1.0 .
#   docker run --rm -v $PWD/mesh.yaml:/etc/ferry/mesh.yaml ferry:0.1.0 capture --config /etc/ferry/mesh.yaml --instance eu-1
#
# The Helm chart (helm/ferry) runs it as user 10001 with a read-only root file system; /tmp is a volume.
FROM eclipse-temurin:17-jre

LABEL org.opencontainers.image.title="ferry" \
      org.opencontainers.image.description="Kafka-backed active-active replication for Redis"

RUN groupadd --system --gid 10001 ferry \
 && useradd --system --uid 10001 --gid ferry --home-dir /opt/ferry --shell /usr/sbin/nologin ferry \
 && mkdir -p /etc/ferry

COPY --chown=root:root --chmod=0444 cli/target/ferry.jar /opt/ferry/ferry.jar

USER 10001:10001
WORKDIR /opt/ferry
# capture and apply agents serve /metrics, /healthz and /readyz here by default (9400 + 2i, 9401 + 2i)
EXPOSE 9400 9401

ENTRYPOINT ["java", "-XX:+ExitOnOutOfMemoryError", "-jar", "/opt/ferry/ferry.jar"]
CMD ["--help"]
