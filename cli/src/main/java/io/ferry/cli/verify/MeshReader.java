package io.ferry.cli.verify;

import io.ferry.cli.ExitCode;
import io.ferry.cli.OperatorException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Reads a batch of keys from every instance at once, one thread per instance, so comparing a key costs
 * the slowest instance's round trips, not their sum. Each instance still reads its keys in order.
 */
final class MeshReader implements AutoCloseable {

    /** Keys pipelined to an instance at once (as many as a SCAN page holds). */
    private static final int BATCH = 100;

    private final List<InstanceClient> instances;
    private final ExecutorService threads;

    MeshReader(List<InstanceClient> instances) {
        this.instances = List.copyOf(instances);
        this.threads = Executors.newFixedThreadPool(instances.size(), runnable -> {
            Thread thread = new Thread(runnable, "ferry-verify-read");
            thread.setDaemon(true);
            return thread;
        });
    }

    List<InstanceClient> instances() {
        return instances;
    }

    /** For each key (in order), every instance's copy in {@code db}, by instance id in instance order. */
    List<Map<String, KeyCopy>> read(int db, List<byte[]> keys) {
        List<Map<String, KeyCopy>> copies = new ArrayList<>(keys.size());
        for (int from = 0; from < keys.size(); from += BATCH) {
            copies.addAll(readBatch(db, keys.subList(from, Math.min(keys.size(), from + BATCH))));
        }
        return copies;
    }

    private List<Map<String, KeyCopy>> readBatch(int db, List<byte[]> keys) {
        List<Map<String, KeyCopy>> copies = new ArrayList<>(keys.size());
        List<CompletableFuture<List<KeyCopy>>> reads = instances.stream().map(instance -> CompletableFuture.supplyAsync(() -> {
            instance.select(db);
            return instance.read(keys);
        }, threads)).toList();
        List<List<KeyCopy>> byInstance = new ArrayList<>();
        for (CompletableFuture<List<KeyCopy>> read : reads) {
            byInstance.add(join(read));
        }
        for (int k = 0; k < keys.size(); k++) {
            Map<String, KeyCopy> key = new LinkedHashMap<>();
            for (int i = 0; i < instances.size(); i++) {
                key.put(instances.get(i).id(), byInstance.get(i).get(k));
            }
            copies.add(key);
        }
        return copies;
    }

    private static <T> T join(CompletableFuture<T> read) {
        try {
            return read.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException failure) {
                throw failure;
            }
            throw new OperatorException(ExitCode.FAILED, "reading keys failed: " + e.getCause(), e.getCause());
        }
    }

    @Override
    public void close() {
        threads.shutdownNow();
    }
}
