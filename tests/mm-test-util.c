#include "mm-test-util.h"

#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mm-dataset.h"
#include "mm-rng.h"
#include "mm-test-models.h"

char *
mm_test_data_dir (void)
{
  const char *env = g_getenv ("MMDIGITS_DATA");
  const char *root = g_getenv ("MMDIGITS_SOURCE_ROOT");
  char *dir;

  if (env && *env)
    return g_file_test (env, G_FILE_TEST_IS_DIR) ? g_strdup (env) : NULL;
  if (root) {
    dir = g_build_filename (root, "..", "shared", "data", NULL);
    if (g_file_test (dir, G_FILE_TEST_IS_DIR))
      return dir;
    g_free (dir);
  }
  return NULL;
}

char *
mm_test_require_data (void)
{
  char *dir = mm_test_data_dir ();
  if (!dir) {
    printf ("skipped: no data (set MMDIGITS_DATA or put ../shared/data beside the source)\n");
    exit (77);
  }
  return dir;
}

char *
mm_test_testdata_path (const char *rel)
{
  const char *root = g_getenv ("MMDIGITS_SOURCE_ROOT");
  char *path;

  if (!root)
    return NULL;
  path = g_build_filename (root, "..", "shared", "testdata", rel, NULL);
  if (g_file_test (path, G_FILE_TEST_EXISTS))
    return path;
  g_free (path);
  return NULL;
}

char *
mm_test_tmp_dir_new (const char *tag)
{
  GError *err = NULL;
  char *tmpl = g_strdup_printf ("mm-test-%s-XXXXXX", tag);
  char *dir = g_dir_make_tmp (tmpl, &err);

  ck_assert_msg (dir != NULL, "g_dir_make_tmp: %s", err ? err->message : "");
  g_free (tmpl);
  return dir;
}

void
mm_test_tmp_dir_remove (char *dir)
{
  mm_test_remove_tree (dir);
  g_free (dir);
}

void
mm_test_fill_uniform (float *x, size_t n, float lo, float hi, guint64 seed)
{
  MmRng rng;
  mm_rng_seed (&rng, seed, 7);
  for (size_t i = 0; i < n; i++)
    x[i] = lo + (hi - lo) * mm_rng_uniform (&rng);
}

void
mm_test_grad_check (const char *what, float *param, const float *analytic,
                    size_t n, MmLossFn loss_fn, gpointer user_data,
                    double h, double atol, double rtol, int max_checks)
{
  size_t step = n > (size_t) max_checks ? n / (size_t) max_checks : 1;
  double worst = 0;
  size_t worst_i = 0;
  double worst_a = 0, worst_n = 0;

  for (size_t i = 0; i < n; i += step) {
    float saved = param[i];
    double lp, lm, numeric, err;

    param[i] = saved + (float) h;
    lp = loss_fn (user_data);
    param[i] = saved - (float) h;
    lm = loss_fn (user_data);
    param[i] = saved;
    /* the step actually taken in float32 */
    numeric = (lp - lm) / (((double) (saved + (float) h)) - ((double) (saved - (float) h)));
    err = fabs (analytic[i] - numeric) - (atol + rtol * fabs (numeric));
    if (err > worst) {
      worst = err;
      worst_i = i;
      worst_a = analytic[i];
      worst_n = numeric;
    }
  }
  ck_assert_msg (worst <= 0,
      "%s: gradient mismatch at %zu: analytic %.6g, numeric %.6g (atol %g, rtol %g)",
      what, worst_i, worst_a, worst_n, atol, rtol);
}

static double
directional (float *param, const float *dir, size_t n, double h, MmLossFn loss_fn,
    gpointer user_data)
{
  float *saved = g_memdup2 (param, n * sizeof (float));
  double lp, lm;

  for (size_t i = 0; i < n; i++)
    param[i] = saved[i] + (float) (h * dir[i]);
  lp = loss_fn (user_data);
  for (size_t i = 0; i < n; i++)
    param[i] = saved[i] - (float) (h * dir[i]);
  lm = loss_fn (user_data);
  memcpy (param, saved, n * sizeof (float));
  g_free (saved);
  return (lp - lm) / (2 * h);
}

void
mm_test_directional_check (const char *what, float *param, const float *analytic,
    size_t n, MmLossFn loss_fn, gpointer user_data, double h, double atol, double rtol)
{
  float *dir = g_new (float, n);
  double norm = 0, dot = 0, numeric;

  for (int pass = 0; pass < 2; pass++) {
    if (pass == 0)
      memcpy (dir, analytic, n * sizeof (float));
    else
      mm_test_fill_uniform (dir, n, -1, 1, 99);
    norm = 0;
    for (size_t i = 0; i < n; i++)
      norm += (double) dir[i] * dir[i];
    norm = sqrt (norm);
    if (norm == 0)
      continue;
    dot = 0;
    for (size_t i = 0; i < n; i++) {
      dir[i] = (float) (dir[i] / norm);
      dot += (double) dir[i] * analytic[i];
    }
    numeric = directional (param, dir, n, h, loss_fn, user_data);
    ck_assert_msg (fabs (numeric - dot) <= atol + rtol * fabs (dot),
        "%s: directional derivative along the %s direction: analytic %.6g, numeric %.6g",
        what, pass == 0 ? "gradient" : "random", dot, numeric);
  }
  g_free (dir);
}

int
mm_test_run_suite (Suite *s)
{
  SRunner *sr = srunner_create (s);
  int failed;

  srunner_run_all (sr, CK_NORMAL);
  failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
