/* The worker pool behind the kernels (mm_set_threads): results must not
 * depend on the thread count, and nets in several threads must not
 * interfere. Training steps are compared bit for bit. */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "mm-adam.h"
#include "mm-error.h"
#include "mm-net.h"
#include "mm-parallel.h"
#include "mm-test-util.h"
#include "mm-threads.h"
#include "mm-train.h"

#define STEPS 2

typedef struct {
  MmArch arch;
  int batch;
  float *params;   /* out: parameters after STEPS training steps */
  float *logits;   /* out: logits of the last forward */
  size_t n;
} Run;

/* STEPS of forward + backward + Adam, dropout on, from fixed inputs */
static void
train_steps (Run *r)
{
  MmNet *net = mm_net_new (r->arch, 7);
  MmAdam *adam = mm_adam_new (mm_net_n_params (net), 1e-3f, 1e-5f);
  float *img = g_new (float, (size_t) r->batch * MM_IMAGE_PIXELS);
  float *aud = g_new (float, (size_t) r->batch * MM_AUDIO_VALUES);
  int *labels = g_new (int, r->batch);

  mm_test_fill_uniform (img, (size_t) r->batch * MM_IMAGE_PIXELS, -1, 1, 3);
  mm_test_fill_uniform (aud, (size_t) r->batch * MM_AUDIO_VALUES, -2, 2, 4);
  for (int i = 0; i < r->batch; i++)
    labels[i] = (i * 7) % MM_N_CLASSES;
  r->logits = g_new (float, (size_t) r->batch * MM_N_CLASSES);
  mm_net_set_training (net, TRUE);
  for (int s = 0; s < STEPS; s++) {
    mm_net_forward (net, r->batch, img, aud, r->logits);
    mm_net_backward (net, labels, NULL);
    mm_adam_step (adam, mm_net_params (net), mm_net_grads (net));
  }
  r->n = mm_net_n_params (net);
  r->params = g_memdup2 (mm_net_params (net), r->n * sizeof (float));
  mm_adam_free (adam);
  mm_net_free (net);
  g_free (img);
  g_free (aud);
  g_free (labels);
}

static gpointer
train_thread (gpointer data)
{
  train_steps (data);
  return NULL;
}

static void
run_clear (Run *r)
{
  g_free (r->params);
  g_free (r->logits);
}

static void
assert_same (const Run *a, const Run *b)
{
  ck_assert_uint_eq (a->n, b->n);
  ck_assert_msg (memcmp (a->params, b->params, a->n * sizeof (float)) == 0,
      "%s: parameters differ", mm_arch_name (a->arch));
  ck_assert_msg (memcmp (a->logits, b->logits,
          (size_t) a->batch * MM_N_CLASSES * sizeof (float)) == 0,
      "%s: logits differ", mm_arch_name (a->arch));
}

/* The floats depend on neither our thread count nor the host's OpenBLAS
 * setting: one thread of ours with a single-threaded OpenBLAS against two
 * and three with a host that set OpenBLAS to two threads (which the kernels
 * must not use: OpenBLAS's own split rounds differently). The host's
 * setting is the test's, not the environment's, so this holds under meson's
 * OPENBLAS_NUM_THREADS=1 and run directly alike. */
START_TEST (test_training_is_bit_identical_for_one_two_and_three_threads)
{
  MmTrainConfig cfg;
  Run one = { 0 }, two = { 0 }, three = { 0 };
  int host = openblas_get_num_threads ();

  mm_train_config_init (&cfg, (MmArch) _i);
  one.arch = two.arch = three.arch = (MmArch) _i;
  one.batch = two.batch = three.batch = cfg.batch;
  openblas_set_num_threads (1);
  mm_set_threads (1);
  train_steps (&one);
  openblas_set_num_threads (2);
  mm_set_threads (2);
  train_steps (&two);
  mm_set_threads (3);
  train_steps (&three);
  ck_assert_int_eq (openblas_get_num_threads (), 2);
  openblas_set_num_threads (host);
  mm_set_threads (0);
  assert_same (&one, &two);
  assert_same (&one, &three);
  run_clear (&one);
  run_clear (&two);
  run_clear (&three);
}
END_TEST

/* Two networks in two threads of a host that set OpenBLAS to two threads
 * (two mmclassify in two pipelines): each trains to the bits of a run
 * alone, so neither ran OpenBLAS multi-threaded when the other's job ended
 * first, and the host finds its setting afterwards, not one thread. */
START_TEST (test_two_nets_in_two_threads_match_serial_runs)
{
  Run serial[2] = { { MM_ARCH_IMAGENET_CNN, 32, NULL, NULL, 0 },
    { MM_ARCH_HYBRIDNET_CNN, 16, NULL, NULL, 0 } };
  Run conc[2] = { { MM_ARCH_IMAGENET_CNN, 32, NULL, NULL, 0 },
    { MM_ARCH_HYBRIDNET_CNN, 16, NULL, NULL, 0 } };
  GThread *t[2];
  int host = openblas_get_num_threads ();

  openblas_set_num_threads (2);
  mm_set_threads (2);
  for (int i = 0; i < 2; i++)
    train_steps (&serial[i]);
  for (int i = 0; i < 2; i++)
    t[i] = g_thread_new ("net", train_thread, &conc[i]);
  for (int i = 0; i < 2; i++) {
    g_thread_join (t[i]);
    assert_same (&serial[i], &conc[i]);
    run_clear (&serial[i]);
    run_clear (&conc[i]);
  }
  ck_assert_int_eq (openblas_get_num_threads (), 2);
  openblas_set_num_threads (host);
  mm_set_threads (0);
}
END_TEST

START_TEST (test_thread_count_defaults_to_environment_then_cores)
{
  g_setenv ("MMDIGITS_THREADS", "3", TRUE);
  mm_set_threads (0);
  ck_assert_int_eq (mm_get_threads (), 3);
  mm_set_threads (5);
  ck_assert_int_eq (mm_get_threads (), 5);
  g_unsetenv ("MMDIGITS_THREADS");
  mm_set_threads (0);
  ck_assert_int_eq (mm_get_threads (), (int) g_get_num_processors ());
}
END_TEST

/* A value that is not a thread count is reported (for the CLI and the
 * elements to show) and ignored: the default is then every core, never a
 * number read out of a typing error (atoi ("99999") used to give 64). */
START_TEST (test_invalid_thread_environment_is_reported_and_ignored)
{
  const char *bad[] = { "abc", "0", "-3", "99999", " 2", "2x", "1e3" };
  GError *err = NULL;
  int n = -1;

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_setenv ("MMDIGITS_THREADS", bad[i], TRUE);
    ck_assert_msg (!mm_threads_env (&n, &err), "'%s' was taken", bad[i]);
    ck_assert (g_error_matches (err, MM_ERROR, MM_ERROR_INVALID));
    ck_assert_msg (strstr (err->message, "MMDIGITS_THREADS") && strstr (err->message, bad[i]),
        "the message names neither the variable nor the value: %s", err->message);
    g_clear_error (&err);
    mm_set_threads (0);
    ck_assert_int_eq (mm_get_threads (), MIN ((int) g_get_num_processors (), MM_MAX_THREADS));
  }
  g_setenv ("MMDIGITS_THREADS", "", TRUE);
  ck_assert (mm_threads_env (&n, NULL) && n == 0);
  g_setenv ("MMDIGITS_THREADS", "64", TRUE);
  ck_assert (mm_threads_env (&n, NULL) && n == 64);
  g_unsetenv ("MMDIGITS_THREADS");
  ck_assert (mm_threads_env (&n, NULL) && n == 0);
  mm_set_threads (0);
}
END_TEST

/* ---- no process-wide surprises for a host ---- */

/* A host that set OpenBLAS to two threads finds two after our parallel
 * jobs (they run OpenBLAS single-threaded only while they last). */
START_TEST (test_host_openblas_threads_are_restored)
{
  Run r = { .arch = MM_ARCH_IMAGENET_CNN, .batch = 64 };

  openblas_set_num_threads (2);
  mm_set_threads (2);
  train_steps (&r);
  ck_assert_int_eq (openblas_get_num_threads (), 2);
  run_clear (&r);
  openblas_set_num_threads (1);
  mm_set_threads (0);
}
END_TEST

typedef struct {
  int rounds;
  int inside_not_one;   /* out: times OpenBLAS had >1 thread in a section */
} SectionRun;

static gpointer
section_thread (gpointer data)
{
  SectionRun *r = data;

  for (int i = 0; i < r->rounds; i++) {
    mm_blas_section_enter ();
    mm_blas_section_enter ();         /* nested, as a kernel in a kernel */
    if (openblas_get_num_threads () != 1)
      r->inside_not_one++;
    mm_blas_section_leave ();
    if (openblas_get_num_threads () != 1)
      r->inside_not_one++;
    g_thread_yield ();
    mm_blas_section_leave ();
  }
  return NULL;
}

/* Sections opened and closed by four threads at once: inside any of them
 * OpenBLAS has one thread, whatever the others do; after the last the
 * host's three are back. */
START_TEST (test_blas_sections_in_many_threads_hold_one_thread_and_restore)
{
  SectionRun runs[4];
  GThread *t[4];
  int host = openblas_get_num_threads ();

  openblas_set_num_threads (3);
  for (int i = 0; i < 4; i++) {
    runs[i] = (SectionRun) { 3000, 0 };
    t[i] = g_thread_new ("section", section_thread, &runs[i]);
  }
  for (int i = 0; i < 4; i++) {
    g_thread_join (t[i]);
    ck_assert_msg (runs[i].inside_not_one == 0,
        "thread %d: OpenBLAS ran more than one thread inside a section %d times",
        i, runs[i].inside_not_one);
  }
  ck_assert_int_eq (openblas_get_num_threads (), 3);
  openblas_set_num_threads (host);
}
END_TEST

/* Threads of this process, from /proc/self/task. */
static int
count_threads (void)
{
  GDir *dir = g_dir_open ("/proc/self/task", 0, NULL);
  int n = 0;

  ck_assert (dir != NULL);
  while (g_dir_read_name (dir))
    n++;
  g_dir_close (dir);
  return n;
}

START_TEST (test_workers_stop_when_the_last_net_is_freed)
{
  Run r = { .arch = MM_ARCH_IMAGENET_CNN, .batch = 64 };
  int before;
  MmNet *keep;

  /* OpenBLAS's own threads are the host's, and OpenBLAS starts them when
   * its count is set (as a section's end does): start them before counting */
  openblas_set_num_threads (openblas_get_num_threads ());
  before = count_threads ();
  mm_set_threads (2);
  keep = mm_net_new (MM_ARCH_AUDIONET_CNN, 1);
  train_steps (&r);     /* its own net, freed at the end; keep holds on */
  ck_assert_int_gt (mm_parallel_n_workers (), 0);
  mm_net_free (keep);
  ck_assert_int_eq (mm_parallel_n_workers (), 0);
  ck_assert_int_eq (count_threads (), before);
  run_clear (&r);
  mm_set_threads (0);
}
END_TEST

/* OpenBLAS's pthread build exports it; its OpenMP and serial builds (an
 * alternative Debian may select for libopenblas.so.0) do not. */
extern int blas_thread_shutdown_ (void) __attribute__ ((weak));

/* mm_blas_one_thread: OpenBLAS's threads are gone (two or more, as on
 * a machine of two cores), its count is 1, a product is still right and
 * brings none back. Where the BLAS has no shutdown call, only the count
 * and the product are checked. */
START_TEST (test_one_blas_thread_stops_openblas_threads)
{
  const float a[4] = { 1, 2, 3, 4 }, b[4] = { 5, 6, 7, 8 };
  float c[4] = { 0 };
  int before, after;

  openblas_set_num_threads (2);
  before = count_threads ();
  mm_blas_one_thread ();
  after = count_threads ();
  ck_assert_int_eq (openblas_get_num_threads (), 1);
  if (blas_thread_shutdown_)
    ck_assert_int_lt (after, before);
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, 2, 2, 2, 1.0f, a, 2, b, 2, 0.0f, c, 2);
  ck_assert (c[0] == 19 && c[1] == 22 && c[2] == 43 && c[3] == 50);
  ck_assert_int_eq (count_threads (), after);
}
END_TEST

typedef struct {
  GMutex lock;
  GThread *ran_on[2];
} Job;

static void
slow_task (gpointer data, int task)
{
  Job *job = data;

  g_usleep (100 * 1000);  /* long enough for the two callers to overlap */
  g_mutex_lock (&job->lock);
  job->ran_on[task] = g_thread_self ();
  g_mutex_unlock (&job->lock);
}

static gpointer
parallel_caller (gpointer data)
{
  mm_parallel_for (2, slow_task, data);
  return NULL;
}

/* Two callers in two threads at the same time (two networks of a host)
 * each get their tasks run by two threads, not one of them inline. */
START_TEST (test_two_callers_at_once_both_run_in_parallel)
{
  Job jobs[2] = { 0 };
  GThread *t[2];

  mm_set_threads (2);
  mm_parallel_ref ();
  for (int i = 0; i < 2; i++) {
    g_mutex_init (&jobs[i].lock);
    t[i] = g_thread_new ("caller", parallel_caller, &jobs[i]);
  }
  for (int i = 0; i < 2; i++) {
    g_thread_join (t[i]);
    ck_assert_msg (jobs[i].ran_on[0] != jobs[i].ran_on[1],
        "caller %d: both tasks ran on one thread", i);
    g_mutex_clear (&jobs[i].lock);
  }
  mm_parallel_unref ();
  mm_set_threads (0);
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("parallel");
  TCase *tc = tcase_create ("pool");
  tcase_set_timeout (tc, 60);
  tcase_add_loop_test (tc, test_training_is_bit_identical_for_one_two_and_three_threads,
      0, MM_N_ARCH);
  tcase_add_test (tc, test_two_nets_in_two_threads_match_serial_runs);
  tcase_add_test (tc, test_thread_count_defaults_to_environment_then_cores);
  tcase_add_test (tc, test_invalid_thread_environment_is_reported_and_ignored);
  tcase_add_test (tc, test_host_openblas_threads_are_restored);
  tcase_add_test (tc, test_blas_sections_in_many_threads_hold_one_thread_and_restore);
  tcase_add_test (tc, test_workers_stop_when_the_last_net_is_freed);
  tcase_add_test (tc, test_two_callers_at_once_both_run_in_parallel);
  tcase_add_test (tc, test_one_blas_thread_stops_openblas_threads);
  suite_add_tcase (s, tc);
  return mm_test_run_suite (s);
}
