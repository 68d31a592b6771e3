/* A small persistent worker pool shared by every network of the process.
 *
 * Why our own and not OpenBLAS's threads: the products of a batch are many
 * small GEMMs (one per chunk of samples, one per LSTM step), too small for
 * OpenBLAS to split well, while the chunks themselves are independent. So
 * the kernels split their work into tasks and hand them to this pool; each
 * task calls OpenBLAS single-threaded.
 *
 * Design: workers poll briefly, then sleep on a condition variable; a job
 * is (fn, data, n_tasks) plus a generation number. Tasks are claimed one at a time under
 * the pool lock (a job has at most a few dozen tasks), and the caller takes
 * tasks too, then waits until every task is DONE (not until every worker has
 * woken): on a loaded machine a worker that is not scheduled in time simply
 * takes no task, and the caller finishes alone. One caller at a time owns
 * the pool (busy lock, try-lock only): any other caller runs its tasks
 * itself, so two networks in two threads never wait on each other and never
 * deadlock, and a nested call runs inline. */
#include "mm-layers.h"
#include "mm-parallel.h"

#include <cblas.h>
#include <stdlib.h>

#define MAX_THREADS 64

/* How long (µs) a worker keeps polling for the next job after one ends,
 * and the caller for its helpers' last tasks, before sleeping on a
 * condition variable. Why: a batch-1 layer lasts a few microseconds and the
 * next one follows at once, while waking a sleeping thread costs 5–50 µs,
 * as much as the layer (measured: ImageNet_CNN batch-1 latency 140 µs on two
 * threads with sleeping workers, slower than one thread's 118). Every poll
 * turn yields the CPU, so on a busy machine polling costs others little;
 * between the frames of a stream the workers sleep. */
#define POLL_US 300

typedef struct {
  GMutex busy;          /* held by the caller that owns the pool */
  GMutex lock;          /* guards the fields below */
  GCond wake, done;
  int n_workers;        /* threads started (never stopped) */
  guint64 generation;   /* bumped for every job */
  MmTaskFunc fn;
  gpointer data;
  int n_tasks, next, finished, helpers;
} Pool;

static Pool pool;
static gint n_threads;  /* 0 until first read: then env / cores */

static int
default_threads (void)
{
  const char *env = g_getenv ("MMDIGITS_THREADS");
  int n = env ? atoi (env) : 0;

  if (n <= 0)
    n = (int) g_get_num_processors ();
  return CLAMP (n, 1, MAX_THREADS);
}

void
mm_set_threads (int n)
{
  g_atomic_int_set (&n_threads, n > 0 ? MIN (n, MAX_THREADS) : default_threads ());
}

int
mm_get_threads (void)
{
  int n = g_atomic_int_get (&n_threads);

  if (n == 0) {
    n = default_threads ();
    g_atomic_int_compare_and_exchange (&n_threads, 0, n);
    n = g_atomic_int_get (&n_threads);
  }
  return n;
}

/* Claims and runs tasks of job @gen until none is left; pool.lock held on
 * entry and on return. */
static void
run_tasks (guint64 gen)
{
  while (pool.generation == gen && pool.next < pool.n_tasks) {
    int t = pool.next++;
    MmTaskFunc fn = pool.fn;
    gpointer data = pool.data;

    g_mutex_unlock (&pool.lock);
    fn (data, t);
    g_mutex_lock (&pool.lock);
    if (__atomic_add_fetch (&pool.finished, 1, __ATOMIC_RELEASE) == pool.n_tasks)
      g_cond_broadcast (&pool.done);
  }
}

/* A polling turn yields the CPU (a system call): it lets another thread
 * have the core at once. Why not spin on the CPU's pause hint first, as
 * OpenMP runtimes do: under a hypervisor a pause loop is trapped (pause-loop
 * exiting) and the virtual CPU may lose its slot. Measured here, three
 * alternations: a pause loop gave AudioNet_LSTM batch-1 latency 0.134–0.137
 * ms in two of them against 0.096–0.100 for yielding; eight pauses per turn
 * were no better than a yield. */
static inline void
poll_pause (void)
{
  g_thread_yield ();
}

/* One turn of a polling loop; FALSE once POLL_US have passed since the
 * first turn (@end starts at 0; the clock is read every 64 turns). Polling
 * happens without pool.lock; the poller re-checks under the lock
 * afterwards either way. */
static gboolean
poll_turn (gint64 *end, int *turn)
{
  if (*turn % 64 == 0) {
    gint64 now = g_get_monotonic_time ();
    if (*end == 0)
      *end = now + POLL_US;
    else if (now > *end)
      return FALSE;
  }
  (*turn)++;
  poll_pause ();
  return TRUE;
}

void
mm_parallel_wait_for (const int *counter, int value)
{
  while (__atomic_load_n (counter, __ATOMIC_ACQUIRE) < value)
    poll_pause ();
}

static gpointer
worker_main (gpointer user_data)
{
  int index = GPOINTER_TO_INT (user_data);
  guint64 seen = 0;

  g_mutex_lock (&pool.lock);
  for (;;) {
    if (pool.generation == seen) {
      gint64 end = 0;
      int turn = 0;
      g_mutex_unlock (&pool.lock);
      while (__atomic_load_n (&pool.generation, __ATOMIC_ACQUIRE) == seen
          && poll_turn (&end, &turn));
      g_mutex_lock (&pool.lock);
    }
    while (pool.generation == seen)
      g_cond_wait (&pool.wake, &pool.lock);
    seen = pool.generation;
    if (index < pool.helpers)
      run_tasks (seen);
  }
  return NULL;
}

/* Starts workers up to @n; pool.busy held. Returns how many exist (a
 * thread that cannot be created only means less parallelism). */
static int
ensure_workers (int n)
{
  while (pool.n_workers < n) {
    GThread *t = g_thread_try_new ("mm-worker", worker_main,
        GINT_TO_POINTER (pool.n_workers), NULL);
    if (!t)
      break;
    g_thread_unref (t);
    pool.n_workers++;
  }
  return MIN (n, pool.n_workers);
}

void
mm_parallel_for (int n_tasks, MmTaskFunc fn, gpointer data)
{
  int threads = MIN (mm_get_threads (), n_tasks), helpers;
  guint64 gen;

  if (threads <= 1 || !g_mutex_trylock (&pool.busy)) {
    for (int t = 0; t < n_tasks; t++)
      fn (data, t);
    return;
  }
  helpers = ensure_workers (threads - 1);
  /* the tasks call OpenBLAS: with its own threads too, two concurrent
   * GEMMs would queue on its level-3 lock and oversubscribe the cores */
  if (helpers > 0 && openblas_get_num_threads () > 1)
    openblas_set_num_threads (1);

  g_mutex_lock (&pool.lock);
  pool.fn = fn;
  pool.data = data;
  pool.n_tasks = n_tasks;
  pool.next = pool.finished = 0;
  pool.helpers = helpers;
  gen = __atomic_add_fetch (&pool.generation, 1, __ATOMIC_RELEASE);
  g_cond_broadcast (&pool.wake);
  run_tasks (gen);
  if (pool.finished < n_tasks) {
    gint64 end = 0;
    int turn = 0;
    g_mutex_unlock (&pool.lock);
    while (__atomic_load_n (&pool.finished, __ATOMIC_ACQUIRE) < n_tasks
        && poll_turn (&end, &turn));
    g_mutex_lock (&pool.lock);
  }
  while (pool.finished < n_tasks)
    g_cond_wait (&pool.done, &pool.lock);
  g_mutex_unlock (&pool.lock);
  g_mutex_unlock (&pool.busy);
}
