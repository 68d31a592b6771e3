/* mmdigits tests — shared helpers. */
#pragma once

#include <check.h>
#include <glib.h>
#include <stddef.h>

/* The data directory, or NULL (then the test prints "skipped: no data"). */
char  *mm_test_data_dir (void);
/* Skip the whole test program (exit 77, meson's "skipped") when no data. */
char  *mm_test_require_data (void);
/* Path of a file in ../shared/testdata, or NULL when absent. */
char  *mm_test_testdata_path (const char *rel);

/* A new empty temporary directory named after @tag (fails the test if it
 * cannot be made), and its removal with everything in it. */
char  *mm_test_tmp_dir_new    (const char *tag);
void   mm_test_tmp_dir_remove (char *dir);

/* Fills @x with uniform values in [lo, hi) from a fixed seed. */
void   mm_test_fill_uniform (float *x, size_t n, float lo, float hi, guint64 seed);

/* Central-difference gradient check.
 * @loss_fn computes the scalar loss at the current values of @param;
 * @analytic holds d(loss)/d(param) computed by backward.
 * Checks max |analytic − numeric| ≤ atol + rtol·|numeric| for at most
 * @max_checks entries spread over the tensor; fails the Check test with the
 * worst index otherwise. Computation in float32 with step @h. */
typedef double (*MmLossFn) (gpointer user_data);
void   mm_test_grad_check (const char *what, float *param, const float *analytic,
                           size_t n, MmLossFn loss_fn, gpointer user_data,
                           double h, double atol, double rtol, int max_checks);

/* Directional check for whole networks: compares the finite difference of
 * the loss along a unit direction d with analytic·d, for d = the analytic
 * gradient itself (normalised) and for a random direction. Summing over the
 * whole tensor makes it robust to the few ReLU / max-pool kinks a step
 * crosses, where entry-wise central differences are meaningless; a wrong
 * gradient fails it (for d = g/|g| it measures g_true·g/|g| against |g|).
 * Passes when |numeric − analytic| ≤ atol + rtol·|analytic| for both. */
void   mm_test_directional_check (const char *what, float *param, const float *analytic,
                                  size_t n, MmLossFn loss_fn, gpointer user_data,
                                  double h, double atol, double rtol);

/* Run a Check suite and return the exit status for main(). */
int    mm_test_run_suite (Suite *s);
