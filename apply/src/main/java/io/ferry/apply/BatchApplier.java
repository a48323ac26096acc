package io.ferry.apply;

import io.ferry.apply.batch.EventBatch;
import io.ferry.apply.batch.SlotSplitter;
import io.ferry.apply.conflict.ConflictPublisher;
import io.ferry.apply.convergence.Convergence;
import io.ferry.apply.deadletter.DeadLetterPublisher;
import io.ferry.apply.deadletter.Rejection;
import io.ferry.apply.findings.FindingsOutbox;
import io.ferry.apply.metrics.ApplyMetrics;
import io.ferry.apply.redis.RawCommand;
import io.ferry.apply.redis.RedisError;
import io.ferry.apply.redis.RedisTargetClient;
import io.ferry.apply.redis.RedisUnavailableException;
import io.ferry.apply.redis.Reply;
import io.ferry.apply.redis.ReplyClassifier;
import io.ferry.apply.redis.ReplyVerdict;
import io.ferry.apply.redis.TransactionReply;
import io.ferry.schemas.ChangeEvent;
import io.ferry.schemas.EventKind;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends batches (at most one per source partition, so each source stays in order) as pipelined
 * MULTI/EXEC transactions and settles every reply: results become conflicts and dead letters, an
 * EXECABORT is narrowed down to the commands Redis refused to queue and the rest is run again, and a
 * committed batch moves its partition's checkpoint.
 */
final class BatchApplier {

    private static final Logger LOG = LoggerFactory.getLogger(BatchApplier.class);
    private static final int MAX_NARROWING_ROUNDS = 8;

    private final RedisTargetClient redis;
    private final DeadLetterPublisher deadLetters;
    private final ConflictPublisher conflicts;
    private final ApplyMetrics metrics;
    private final Convergence convergence;
    private final FindingsOutbox findings;
    private final BooleanSupplier running;
    /** Splits batches per slot for a Redis Cluster target; null for a standalone Redis. */
    private final SlotSplitter slots;

    /**
     * @param convergence asks a write's origin for the key when the write missed here (null: only recorded)
     * @param findings    where deadLetters and conflicts send: no batch is sent while one of theirs is unacknowledged
     * @param running     false once the agent is asked to stop (waiting for Kafka gives up then)
     */
    BatchApplier(RedisTargetClient redis, DeadLetterPublisher deadLetters, ConflictPublisher conflicts, ApplyMetrics metrics,
                 Convergence convergence, FindingsOutbox findings, BooleanSupplier running, SlotSplitter slots) {
        this.slots = slots;
        this.convergence = convergence;
        this.findings = findings;
        this.running = running;
        this.redis = redis;
        this.deadLetters = deadLetters;
        this.conflicts = conflicts;
        this.metrics = metrics;
    }

    /** Batches sent to Redis whose replies are not settled yet. */
    static final class InFlight {
        private final List<EventBatch> batches;
        private final RedisTargetClient.Pending pending;

        private InFlight(List<EventBatch> batches, RedisTargetClient.Pending pending) {
            this.batches = batches;
            this.pending = pending;
        }
    }

    /** Applies the batches and settles them; throws {@link RedisUnavailableException} when Redis cannot take them now. */
    void apply(List<EventBatch> batches) {
        finish(send(batches));
    }

    /**
     * A cluster target's batches split per slot; a standalone target's without what its per-slot checkpoints
     * (left by a join from a cluster peer) cover.
     */
    private List<EventBatch> bySlot(List<EventBatch> batches) {
        if (slots == null) {
            return batches;
        }
        if (!redis.isCluster()) {
            return batches.stream().map(slots::withoutApplied).toList();
        }
        return batches.stream().flatMap(b -> slots.split(b).stream()).toList();
    }

    /**
     * Sends the batches without waiting, so the caller can build the next round meanwhile. Nothing else
     * may be sent for these partitions before {@link #finish(InFlight)}: an EXECABORT is re-run first.
     */
    InFlight send(List<EventBatch> batches) {
        List<EventBatch> toRun = new ArrayList<>();
        for (EventBatch batch : bySlot(batches)) {
            if (prepared(batch)) {
                toRun.add(batch);
            }
        }
        // Every error record found so far (these rejections, conflicts met while building) is in Kafka
        // before a checkpoint that passes it can be written.
        findings.awaitAcknowledged(running);
        return new InFlight(toRun, toRun.isEmpty() ? null : redis.submit(toRun.stream().map(EventBatch::body).toList()));
    }

    /** The transactions {@code batch} is sent as: one per slot on a cluster target, else one. */
    List<EventBatch> transactions(EventBatch batch) {
        return bySlot(List.of(batch));
    }

    /**
     * Whether {@code batch} has something to run. Records that never became commands are reported before anything
     * is written (at least once); an empty batch is settled at once.
     */
    private boolean prepared(EventBatch batch) {
        for (Rejection rejection : batch.rejections()) {
            deadLetter(batch, rejection);
        }
        if (batch.isEmpty()) {
            settled(batch);
            return false;
        }
        return true;
    }

    /** Reads the replies of {@code inFlight}, settles them and re-runs what an EXECABORT narrowed down. */
    void finish(InFlight inFlight) {
        if (inFlight.pending == null) {
            return;
        }
        settleAll(inFlight.batches, redis.await(inFlight.pending));
    }

    /**
     * Applies {@code transactions} ({@link #transactions}), each under its WATCH in {@code watches} where one is held.
     * Returns those that did not run, with nothing of them applied or reported: a watched key changed before EXEC, or
     * (on a cluster) their slot moved. The caller judges their keys again and sends them once more.
     */
    List<EventBatch> applyWatched(List<EventBatch> transactions, List<RedisTargetClient.Watch> watches) {
        List<EventBatch> sent = new ArrayList<>();
        List<RedisTargetClient.Watch> sentWatches = new ArrayList<>();
        for (int i = 0; i < transactions.size(); i++) {
            if (prepared(transactions.get(i))) {
                sent.add(transactions.get(i));
                sentWatches.add(watches.get(i));
            }
        }
        findings.awaitAcknowledged(running);
        if (sent.isEmpty()) {
            return List.of();
        }
        List<TransactionReply> replies = redis.executeWatched(sent.stream().map(EventBatch::body).toList(), sentWatches);
        List<EventBatch> ran = new ArrayList<>();
        List<TransactionReply> ranReplies = new ArrayList<>();
        List<EventBatch> notRun = new ArrayList<>();
        for (int i = 0; i < sent.size(); i++) {
            if (replies.get(i).aborted()) {
                notRun.add(sent.get(i));
            } else {
                ran.add(sent.get(i));
                ranReplies.add(replies.get(i));
            }
        }
        if (!ran.isEmpty()) {
            settleAll(ran, ranReplies);
        }
        return notRun;
    }

    private void settleAll(List<EventBatch> toRun, List<TransactionReply> replies) {
        for (int round = 1; ; round++) {
            List<EventBatch> again = new ArrayList<>();
            List<EventBatch> running = toRun;
            List<TransactionReply> answered = replies;
            // What committed transactions' replies reveal is journalled in Redis before anything else.
            findings.afterCommit(() -> {
                for (int i = 0; i < running.size(); i++) {
                    EventBatch retry = settle(running.get(i), answered.get(i));
                    if (retry != null) {
                        again.add(retry);
                    }
                }
            });
            findings.awaitAcknowledged(this.running);
            if (again.isEmpty()) {
                return;
            }
            if (round == MAX_NARROWING_ROUNDS) {
                throw new RedisUnavailableException("Redis keeps aborting the batch for "
                        + again.get(0).partition().partition() + " after " + round + " narrowing rounds", null);
            }
            toRun = again;
            replies = redis.execute(toRun.stream().map(EventBatch::body).toList());
        }
    }

    /** Handles one transaction's replies; returns the narrowed batch to run again after an EXECABORT. */
    private EventBatch settle(EventBatch batch, TransactionReply reply) {
        if (reply.committed()) {
            List<Object> results = reply.results();
            List<RawCommand> body = batch.body();
            for (int i = 0; i < body.size(); i++) {
                EventBatch.Source source = batch.source(i);
                Object result = results.get(i);
                if (source == null) {
                    if (Reply.isError(result)) {
                        // The data is in, the checkpoint is not: resume from the previous one is wrong, so stop here.
                        throw new IllegalStateException("Redis rejected Ferry's own " + body.get(i).name() + " in a committed batch: "
                                + result + "; the checkpoint of " + batch.partition().partition() + " may lag the data");
                    }
                    continue;
                }
                RawCommand command = body.get(i).unstaged(); // a staged big value is judged as the command it carries
                ReplyVerdict verdict = ReplyClassifier.classify(command, result);
                if (verdict.conflict() != null) {
                    if (convergence != null && ReplyClassifier.missedOnTarget(command, result)) {
                        List<byte[]> keys = "SMOVE".equals(command.name()) && command.args().size() > 1
                                ? command.args().subList(0, 2) : List.of(command.firstArg());
                        convergence.requestFromOrigin(verdict.conflict(), source.event(), source.command(), source.event().getDb(), keys);
                    } else {
                        conflicts.publish(verdict.conflict(), source.event(), source.command(), command.firstArg());
                    }
                }
                if (verdict.deadLetter()) {
                    deadLetter(batch, new Rejection(source.kafkaOffset(), verdict.deadLetterReason(), verdict.error(),
                            source.event(), source.command(), null));
                }
            }
            settled(batch);
            return null;
        }
        RedisError error = reply.execError();
        if (error == null || !"EXECABORT".equals(error.code())) {
            throw new RedisUnavailableException("EXEC answered " + Reply.describe(reply.exec()), null);
        }
        Set<Integer> refused = new HashSet<>();
        for (int i = 0; i < reply.queued().size(); i++) {
            Object queued = reply.queued().get(i);
            if (Reply.isError(queued)) {
                if (batch.source(i) == null) {
                    if (queued instanceof RedisError denied && "NOPERM".equals(denied.code())) {
                        // The ACL user's, not a passing state: retrying cannot help (Redis 6.2, where DRYRUN did not check at start).
                        throw new IllegalStateException("Redis user may not run Ferry's " + batch.body().get(i).name() + " ("
                                + denied.message() + "); grant it (the README's 'Redis users' has the ACL SETUSER line)");
                    }
                    // OOM, READONLY… on Ferry's own checkpoint: nothing can be applied; wait and retry.
                    throw new RedisUnavailableException("Redis refuses Ferry's " + batch.body().get(i).name() + ": " + queued, null);
                }
                refused.add(i);
            }
        }
        if (refused.isEmpty()) {
            throw new RedisUnavailableException("EXECABORT without a refused command: " + error, null);
        }
        for (int i : refused) {
            EventBatch.Source source = batch.source(i);
            RedisError queueError = (RedisError) reply.queued().get(i);
            String reason = ReplyClassifier.reasonOf(queueError);
            deadLetter(batch, new Rejection(source.kafkaOffset(), "ERR".equals(reason) ? "EXECABORT" : reason,
                    queueError.message() + " (refused while queueing: the rest of the batch is applied without it)",
                    source.event(), source.command(), null));
        }
        LOG.info("EXECABORT on {}: re-running the batch without {} refused command(s)", batch.partition().partition(), refused.size());
        return batch.without(refused);
    }

    private void settled(EventBatch batch) {
        batch.partition().advanceTo(batch.checkpointOffset());
        ApplyMetrics.Peer peer = metrics.peer(batch.partition().peer());
        peer.applied(batch.events().size(), batch.commandCount(), !batch.isEmpty());
        int partition = batch.partition().partition().partition();
        for (ChangeEvent event : batch.events()) {
            peer.captured(partition, event.getCaptureTimeMillis().toEpochMilli(), event.getKind() != EventKind.HEARTBEAT);
        }
        if (convergence != null) {
            convergence.applied(batch.partition().peer(), partition, batch.events());
        }
        if (batch.partition().retired()) {
            peer.retired(partition);
        }
    }

    private void deadLetter(EventBatch batch, Rejection rejection) {
        deadLetters.publish(batch.partition().peer(), batch.partition().partition().topic(),
                batch.partition().partition().partition(), rejection);
    }
}
