/* mmdigits — internal: the process-wide worker pool behind the kernels.
 *
 * Not installed; the public knobs are mm_set_threads / mm_get_threads in
 * mm-threads.h. A parallel loop is split into tasks by the CALLER, from the
 * size of the problem only, never from the number of threads: which thread
 * runs a task is free, so results do not depend on the thread count (every
 * task writes its own outputs; partial sums are added afterwards in task
 * order).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef void (*MmTaskFunc) (gpointer data, int task);

/* Runs fn(data, 0 … n_tasks−1) and returns when all are done. Uses a pool
 * when more than one thread is configured: a free one, or a new one when
 * another caller (a second network in another thread) owns every pool;
 * otherwise (one thread, one task, a call from inside a task, or MAX_POOLS
 * callers at once) runs the tasks in the calling thread, in order. The
 * whole job, inline or not, runs in a single-threaded BLAS section. */
void mm_parallel_for (int n_tasks, MmTaskFunc fn, gpointer data);

/* The single-threaded BLAS section: OpenBLAS runs one thread while any
 * thread of the process is inside one, and the count the host had set
 * comes back when the last thread leaves. Why: OpenBLAS splits a product
 * over its threads in ways that change its rounding, and has one thread
 * count for the whole process (no per-thread setting in 0.3.21). Rules:
 * every BLAS call of a kernel is made inside a section (mm_parallel_for
 * opens one, so a kernel's tasks are); sections nest and may be open in
 * any number of threads at once, each leave matching an enter of the same
 * thread; a host that calls OpenBLAS itself while a network of ours runs
 * in another thread gets one OpenBLAS thread for that call, and must not
 * change OpenBLAS's thread count then (the last leave would set the count
 * saved by the first enter back). */
void mm_blas_section_enter (void);
void mm_blas_section_leave (void);

/* For a process whose every BLAS call is to run on one thread (batch's
 * workers: the parallelism is across files): OpenBLAS's count set to 1 and
 * its idle threads stopped. OpenBLAS starts them when it loads and they
 * spin (yielding) for a while before they sleep — a tenth of a second of
 * CPU at the start of every run, when nothing asks for them. It starts
 * them again by itself if its count is ever set afterwards. Not for a
 * host's process (the count is the host's). */
void mm_blas_one_thread (void);

/* Users of the pools (every MmNet holds one reference): when the last one
 * is dropped, every worker is stopped and joined, so a host that frees its
 * networks is left with none of our threads. Kernels called without a
 * reference still work; their workers live until the next drop to zero. */
void mm_parallel_ref   (void);
void mm_parallel_unref (void);
/* Worker threads currently running, over all pools (for tests). */
int  mm_parallel_n_workers (void);

/* Number of tasks to split @work units into: 1 below @min_work_per_task·2
 * (too small to pay a wake-up), else up to @max_tasks. Depends only on the
 * sizes, so the split is the same whatever the thread count. */
static inline int
mm_parallel_tasks (double work, double min_work_per_task, int max_tasks)
{
  int n = (int) (work / min_work_per_task);
  return n < 1 ? 1 : n > max_tasks ? max_tasks : n;
}

/* Waits until *@counter ≥ @value, which another task of the same job
 * publishes with __atomic_store_n (…, __ATOMIC_RELEASE), yielding the CPU
 * on every turn (see parallel.c for why not a pause loop). Only a task may wait for a
 * LOWER-numbered task of its job: tasks are claimed in order, so the one
 * waited for is running or done, whatever the number of threads. */
void mm_parallel_wait_for (const int *counter, int value);

G_END_DECLS
