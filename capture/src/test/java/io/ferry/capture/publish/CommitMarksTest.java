package io.ferry.capture.publish;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

class CommitMarksTest {

    private final CommitMarks marks = new CommitMarks();

    private static CompletableFuture<RecordMetadata> record(long offset) {
        return CompletableFuture.completedFuture(new RecordMetadata(new TopicPartition("ferry.A.changes", 1), offset, 0, 0, 0, 0));
    }

    @Test
    void aMarkAfterRecordsOfTheOpenTransactionIsAnsweredWithTheLastOfThemAtCommit() {
        marks.sent(record(10));
        marks.sent(record(11));
        CompletableFuture<Long> mark = new CompletableFuture<>();
        marks.mark(mark);
        marks.sent(record(12));
        assertFalse(mark.isDone(), "not committed yet");
        marks.committed();
        assertEquals(11L, mark.join(), "the record sent after the mark is not needed before it");
    }

    @Test
    void aMarkWithNothingSentSinceTheLastCommitIsAnsweredAtOnce() {
        marks.sent(record(20));
        marks.committed();
        CompletableFuture<Long> mark = new CompletableFuture<>();
        marks.mark(mark);
        assertEquals(20L, mark.join());
    }

    @Test
    void aWriterThatSentNothingKnowsNoRecordAndAnswersMinusOne() {
        assertFalse(marks.knowsARecord());
        CompletableFuture<Long> mark = new CompletableFuture<>();
        marks.mark(mark);
        assertEquals(-1L, mark.join());
        marks.sent(record(0));
        assertTrue(marks.knowsARecord());
    }

    @Test
    void marksOfAnAbortedTransactionFail() {
        marks.sent(record(30));
        CompletableFuture<Long> mark = new CompletableFuture<>();
        marks.mark(mark);
        marks.aborted("stopped");
        assertTrue(mark.isCompletedExceptionally());
    }
}
