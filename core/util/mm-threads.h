/* mmdigits — how many threads the kernels use (threads.c).
 *
 * Process-wide and thread-safe. The worker pools behind it are internal
 * (mm-parallel.h).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* ---- Threads ---- */
/* Threads the kernels may use, the caller included: @n ≤ 0 restores the
 * default, which is the environment variable MMDIGITS_THREADS if it is
 * valid (mm_threads_env), else the number of cores. Process-wide and thread-safe; takes effect at the
 * next kernel call. A kernel called while another thread's kernel owns a
 * pool gets a pool of its own, so several networks in several threads each
 * run in parallel; the workers stop when the last MmNet is freed. */
void mm_set_threads (int n);
int  mm_get_threads (void);
/* The most threads the pool runs (a larger @n is clamped to it). */
#define MM_MAX_THREADS 64
/* The one reading of MMDIGITS_THREADS. TRUE with *@n = 0 when it is unset
 * or empty, TRUE with *@n its value when it is a whole number from 1 to
 * MM_MAX_THREADS; otherwise ("abc", "0", "-3", "99999", " 2") FALSE with
 * MM_ERROR_INVALID and a message naming the value, and the default ignores
 * it (the number of cores). The core never prints: the CLI refuses such a
 * value (exit 2) and the elements that run networks post a warning. */
gboolean mm_threads_env (int *n, GError **error);

G_END_DECLS
