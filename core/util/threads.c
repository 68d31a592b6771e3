/* How many threads the kernels use (see mm-threads.h): one process-wide
 * number, read by the worker pools (parallel.c) at every job. */
#include "mm-threads.h"

#include "mm-error.h"

static gint n_threads;  /* 0 until first read: then env / cores */

gboolean
mm_threads_env (int *n, GError **error)
{
  const char *env = g_getenv ("MMDIGITS_THREADS");
  gint64 v;

  *n = 0;
  if (!env || !*env)
    return TRUE;
  if (!g_ascii_string_to_signed (env, 10, 1, MM_MAX_THREADS, &v, NULL)) {
    g_set_error (error, MM_ERROR, MM_ERROR_INVALID,
        "MMDIGITS_THREADS must be a whole number from 1 to %d, not '%s'", MM_MAX_THREADS, env);
    return FALSE;
  }
  *n = (int) v;
  return TRUE;
}

static int
default_threads (void)
{
  int n;

  if (!mm_threads_env (&n, NULL) || n == 0)
    n = (int) g_get_num_processors ();
  return CLAMP (n, 1, MM_MAX_THREADS);
}

void
mm_set_threads (int n)
{
  g_atomic_int_set (&n_threads, n > 0 ? MIN (n, MM_MAX_THREADS) : default_threads ());
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
