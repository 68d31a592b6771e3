/* Small persistent worker pools shared by the networks of the process.
 *
 * Why our own and not OpenBLAS's threads: the products of a batch are many
 * small GEMMs (one per chunk of samples, one per LSTM step), too small for
 * OpenBLAS to split well, while the chunks themselves are independent. So
 * the kernels split their work into tasks and hand them to a pool; each
 * task calls OpenBLAS single-threaded.
 *
 * Design: workers poll briefly, then sleep on a condition variable; a job
 * is (fn, data, n_tasks) plus a generation number. Tasks are claimed one at a time under
 * the pool lock (a job has at most a few dozen tasks), and the caller takes
 * tasks too, then waits until every task is DONE (not until every worker has
 * woken): on a loaded machine a worker that is not scheduled in time simply
 * takes no task, and the caller finishes alone. One caller at a time owns
 * a pool (busy lock, try-lock only); a caller that finds every pool busy
 * (a second network in another thread) gets a pool of its own, up to
 * MAX_POOLS, so two networks in two threads both run in parallel and never
 * wait on each other. A call made from inside a task runs inline.
 *
 * A host process is left as it was: OpenBLAS runs one thread only while a
 * job of ours is running somewhere in the process (the single-threaded BLAS
 * section below) and the host's setting comes back when the last one ends,
 * and the workers are stopped and joined when the last user
 * (mm_parallel_ref: every MmNet holds one) is gone. */
#include "mm-parallel.h"

#include <cblas.h>

#include "mm-threads.h"

/* How long (µs) a worker keeps polling for the next job after one ends,
 * and the caller for its helpers' last tasks, before sleeping on a
 * condition variable. Why: a batch-1 layer lasts a few microseconds and the
 * next one follows at once, while waking a sleeping thread costs 5–50 µs,
 * as much as the layer (measured: ImageNet_CNN batch-1 latency 140 µs on two
 * threads with sleeping workers, slower than one thread's 118). Every poll
 * turn yields the CPU, so on a busy machine polling costs others little;
 * between the frames of a stream the workers sleep. */
#define POLL_US 300

/* Pools a process may have at once: one per thread running a network at
 * the same moment; a caller beyond that runs its tasks inline. */
#define MAX_POOLS 8

typedef struct {
  GMutex busy;          /* held by the caller that owns the pool */
  GMutex lock;          /* guards the fields below */
  GCond wake, done;
  GThread *workers[MM_MAX_THREADS];
  int n_workers;        /* threads started, joined by pool_free */
  gboolean stop;        /* set by pool_free: workers return */
  guint64 generation;   /* bumped for every job */
  MmTaskFunc fn;
  gpointer data;
  int n_tasks, next, finished, helpers;
} Pool;

static GMutex pools_lock;   /* guards pools, n_pools and users */
static Pool *pools[MAX_POOLS];
static int n_pools, users;
/* TRUE in a worker, and in a caller while it runs tasks: a kernel called
 * from a task runs its own tasks inline instead of taking another pool */
static __thread gboolean in_task;

/* The single-threaded BLAS section. Every BLAS call of the kernels runs
 * inside a job (mm_parallel_for), and a job runs OpenBLAS on one thread:
 * with its own threads too, concurrent GEMMs would queue on its level-3
 * lock and oversubscribe the cores, and a product split over OpenBLAS's
 * threads may round differently from the same product on one thread (every
 * network but ImageNet_CNN trained to other bits at OPENBLAS_NUM_THREADS=2
 * than at 1), so the floats would depend on the host's setting. OpenBLAS
 * 0.3.21 (Debian 12) has only a process-wide thread count, so the section
 * is counted over the process: the first thread to open one saves the
 * host's count and sets 1, the last to close sets the saved count back.
 * Two networks in two threads (two mmclassify of a host) thus never undo
 * each other's setting, and the host's comes back once neither runs.
 * Nested sections of one thread are counted in blas_nested, without the
 * lock. */
static GMutex blas_lock;     /* guards blas_open and blas_host */
static int blas_open;        /* threads inside a section */
static int blas_host;        /* the host's count, set back by the last */
static __thread int blas_nested;

void
mm_blas_section_enter (void)
{
  if (blas_nested++ > 0)
    return;
  g_mutex_lock (&blas_lock);
  if (blas_open++ == 0) {
    blas_host = openblas_get_num_threads ();
    if (blas_host != 1)
      openblas_set_num_threads (1);
  }
  g_mutex_unlock (&blas_lock);
}

/* OpenBLAS's own call (its fork handler's) to stop its threads; weak, so
 * that a BLAS without it (serial, OpenMP) keeps whatever it has. */
extern int blas_thread_shutdown_ (void) __attribute__ ((weak));

void
mm_blas_one_thread (void)
{
  g_mutex_lock (&blas_lock);
  openblas_set_num_threads (1);
  if (blas_thread_shutdown_)
    blas_thread_shutdown_ ();
  g_mutex_unlock (&blas_lock);
}

void
mm_blas_section_leave (void)
{
  g_return_if_fail (blas_nested > 0);
  if (--blas_nested > 0)
    return;
  g_mutex_lock (&blas_lock);
  if (--blas_open == 0 && blas_host != 1)
    openblas_set_num_threads (blas_host);
  g_mutex_unlock (&blas_lock);
}

/* Claims and runs tasks of job @gen until none is left; pool->lock held on
 * entry and on return. */
static void
run_tasks (Pool *pool, guint64 gen)
{
  while (pool->generation == gen && pool->next < pool->n_tasks) {
    int t = pool->next++;
    MmTaskFunc fn = pool->fn;
    gpointer data = pool->data;

    g_mutex_unlock (&pool->lock);
    fn (data, t);
    g_mutex_lock (&pool->lock);
    if (__atomic_add_fetch (&pool->finished, 1, __ATOMIC_RELEASE) == pool->n_tasks)
      g_cond_broadcast (&pool->done);
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

typedef struct {
  Pool *pool;
  int index;
} WorkerArgs;

static gpointer
worker_main (gpointer user_data)
{
  WorkerArgs *args = user_data;
  Pool *pool = args->pool;
  int index = args->index;
  guint64 seen = 0;

  g_free (args);
  in_task = TRUE;
  g_mutex_lock (&pool->lock);
  for (;;) {
    if (pool->generation == seen) {
      gint64 end = 0;
      int turn = 0;
      g_mutex_unlock (&pool->lock);
      while (__atomic_load_n (&pool->generation, __ATOMIC_ACQUIRE) == seen
          && poll_turn (&end, &turn));
      g_mutex_lock (&pool->lock);
    }
    while (pool->generation == seen)
      g_cond_wait (&pool->wake, &pool->lock);
    if (pool->stop)
      break;
    seen = pool->generation;
    if (index < pool->helpers)
      run_tasks (pool, seen);
  }
  g_mutex_unlock (&pool->lock);
  return NULL;
}

/* Starts workers up to @n; pool->busy held. Returns how many exist (a
 * thread that cannot be created only means less parallelism). */
static int
ensure_workers (Pool *pool, int n)
{
  while (pool->n_workers < n) {
    WorkerArgs *args = g_new (WorkerArgs, 1);
    GThread *t;

    *args = (WorkerArgs) { pool, pool->n_workers };
    t = g_thread_try_new ("mm-worker", worker_main, args, NULL);
    if (!t) {
      g_free (args);
      break;
    }
    pool->workers[pool->n_workers++] = t;
  }
  return MIN (n, pool->n_workers);
}

static Pool *
pool_new (void)
{
  Pool *pool = g_new0 (Pool, 1);

  g_mutex_init (&pool->busy);
  g_mutex_init (&pool->lock);
  g_cond_init (&pool->wake);
  g_cond_init (&pool->done);
  return pool;
}

/* Stops and joins the workers of a pool no caller owns, and frees it. */
static void
pool_free (Pool *pool)
{
  g_mutex_lock (&pool->busy);
  g_mutex_lock (&pool->lock);
  pool->stop = TRUE;
  __atomic_add_fetch (&pool->generation, 1, __ATOMIC_RELEASE);
  g_cond_broadcast (&pool->wake);
  g_mutex_unlock (&pool->lock);
  for (int i = 0; i < pool->n_workers; i++)
    g_thread_join (pool->workers[i]);
  g_mutex_unlock (&pool->busy);
  g_mutex_clear (&pool->busy);
  g_mutex_clear (&pool->lock);
  g_cond_clear (&pool->wake);
  g_cond_clear (&pool->done);
  g_free (pool);
}

/* A pool whose busy lock the caller now holds: a free one, else a new one;
 * NULL when MAX_POOLS are all busy. */
static Pool *
pool_acquire (void)
{
  Pool *got = NULL;

  g_mutex_lock (&pools_lock);
  for (int i = 0; i < n_pools && !got; i++)
    if (g_mutex_trylock (&pools[i]->busy))
      got = pools[i];
  if (!got && n_pools < MAX_POOLS) {
    got = pools[n_pools++] = pool_new ();
    g_mutex_lock (&got->busy);
  }
  g_mutex_unlock (&pools_lock);
  return got;
}

void
mm_parallel_ref (void)
{
  g_mutex_lock (&pools_lock);
  users++;
  g_mutex_unlock (&pools_lock);
}

void
mm_parallel_unref (void)
{
  g_mutex_lock (&pools_lock);
  g_return_if_fail (users > 0);
  if (--users == 0) {
    for (int i = 0; i < n_pools; i++)
      pool_free (pools[i]);
    n_pools = 0;
  }
  g_mutex_unlock (&pools_lock);
}

int
mm_parallel_n_workers (void)
{
  int n = 0;

  g_mutex_lock (&pools_lock);
  for (int i = 0; i < n_pools; i++)
    n += pools[i]->n_workers;
  g_mutex_unlock (&pools_lock);
  return n;
}

static void
run_inline (int n_tasks, MmTaskFunc fn, gpointer data)
{
  for (int t = 0; t < n_tasks; t++)
    fn (data, t);
}

/* Runs a job on @pool, whose busy lock the caller holds, and releases it. */
static void
run_job (Pool *pool, int threads, int n_tasks, MmTaskFunc fn, gpointer data)
{
  int helpers = ensure_workers (pool, threads - 1);
  guint64 gen;

  g_mutex_lock (&pool->lock);
  pool->fn = fn;
  pool->data = data;
  pool->n_tasks = n_tasks;
  pool->next = pool->finished = 0;
  pool->helpers = helpers;
  gen = __atomic_add_fetch (&pool->generation, 1, __ATOMIC_RELEASE);
  g_cond_broadcast (&pool->wake);
  in_task = TRUE;
  run_tasks (pool, gen);
  in_task = FALSE;
  if (pool->finished < n_tasks) {
    gint64 end = 0;
    int turn = 0;
    g_mutex_unlock (&pool->lock);
    while (__atomic_load_n (&pool->finished, __ATOMIC_ACQUIRE) < n_tasks
        && poll_turn (&end, &turn));
    g_mutex_lock (&pool->lock);
  }
  while (pool->finished < n_tasks)
    g_cond_wait (&pool->done, &pool->lock);
  g_mutex_unlock (&pool->lock);
  g_mutex_unlock (&pool->busy);
}

void
mm_parallel_for (int n_tasks, MmTaskFunc fn, gpointer data)
{
  int threads = MIN (mm_get_threads (), n_tasks);
  Pool *pool;

  /* a task runs inside its caller's section, whichever thread runs it */
  if (in_task) {
    run_inline (n_tasks, fn, data);
    return;
  }
  mm_blas_section_enter ();
  if (threads <= 1 || !(pool = pool_acquire ()))
    run_inline (n_tasks, fn, data);
  else
    run_job (pool, threads, n_tasks, fn, data);
  mm_blas_section_leave ();
}
