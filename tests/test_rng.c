/* PCG32: reproducible for a seed, uniform enough for shuffling and dropout. */
#include <math.h>

#include "mm-rng.h"
#include "mm-test-util.h"

START_TEST (test_rng_same_seed_gives_same_sequence)
{
  MmRng a, b, c;
  gboolean differs = FALSE;
  mm_rng_seed (&a, 42, 1);
  mm_rng_seed (&b, 42, 1);
  mm_rng_seed (&c, 43, 1);
  for (int i = 0; i < 1000; i++) {
    guint32 x = mm_rng_u32 (&a);
    ck_assert_uint_eq (x, mm_rng_u32 (&b));
    differs |= x != mm_rng_u32 (&c);
  }
  ck_assert (differs);
}
END_TEST

START_TEST (test_rng_uniform_mean_and_range)
{
  MmRng r;
  double sum = 0;
  int n = 200000;
  mm_rng_seed (&r, 1, 0);
  for (int i = 0; i < n; i++) {
    float u = mm_rng_uniform (&r);
    ck_assert (u >= 0.0f && u < 1.0f);
    sum += u;
  }
  /* mean of U(0,1): 0.5, standard error 0.29/sqrt(n) ≈ 6.5e-4 */
  ck_assert_double_eq_tol (sum / n, 0.5, 0.004);
}
END_TEST

START_TEST (test_rng_shuffle_is_a_permutation)
{
  MmRng r;
  int idx[1000], seen[1000] = { 0 }, moved = 0;
  mm_rng_seed (&r, 5, 0);
  for (int i = 0; i < 1000; i++)
    idx[i] = i;
  mm_rng_shuffle (&r, idx, 1000);
  for (int i = 0; i < 1000; i++) {
    seen[idx[i]]++;
    moved += idx[i] != i;
  }
  for (int i = 0; i < 1000; i++)
    ck_assert_int_eq (seen[i], 1);
  ck_assert_int_gt (moved, 900);
}
END_TEST

START_TEST (test_rng_below_stays_in_range_and_hits_all)
{
  MmRng r;
  int hits[7] = { 0 };
  mm_rng_seed (&r, 9, 3);
  for (int i = 0; i < 7000; i++) {
    guint32 v = mm_rng_below (&r, 7);
    ck_assert_uint_lt (v, 7);
    hits[v]++;
  }
  for (int i = 0; i < 7; i++)
    ck_assert_int_gt (hits[i], 800);
}
END_TEST

START_TEST (test_rng_normal_mean_and_variance)
{
  MmRng r;
  double sum = 0, sq = 0;
  int n = 200000;
  mm_rng_seed (&r, 3, 7);
  for (int i = 0; i < n; i++) {
    double x = mm_rng_normal (&r);
    ck_assert (isfinite (x));
    sum += x;
    sq += x * x;
  }
  /* standard errors: 1/sqrt(n) ≈ 2.2e-3 for the mean, sqrt(2/n) ≈ 3.2e-3
   * for the variance */
  ck_assert_double_eq_tol (sum / n, 0.0, 0.015);
  ck_assert_double_eq_tol (sq / n, 1.0, 0.02);
}
END_TEST

/* Beta(a, a) has mean 1/2 and variance 1 / (4 (2a + 1)); a small a puts
 * most draws near 0 and 1 (where Gamma draws underflow), a large one near
 * 1/2. Every draw in [0, 1]. */
START_TEST (test_rng_beta_moments)
{
  const double as[] = { 0.05, 0.2, 1.0, 4.0 };
  for (size_t t = 0; t < G_N_ELEMENTS (as); t++) {
    double a = as[t], sum = 0, sq = 0, var = 1.0 / (4.0 * (2.0 * a + 1.0));
    int n = 100000;
    MmRng r;
    mm_rng_seed (&r, 11, t);
    for (int i = 0; i < n; i++) {
      double x = mm_rng_beta_sym (&r, a);
      ck_assert_msg (x >= 0.0 && x <= 1.0, "Beta(%g) gave %g", a, x);
      sum += x;
      sq += (x - 0.5) * (x - 0.5);
    }
    /* five standard errors of the mean and (at most, for a Beta) of the
     * variance, which are below 0.5/sqrt(n) and 0.25/sqrt(n) */
    ck_assert_msg (fabs (sum / n - 0.5) < 5 * 0.5 / sqrt (n), "Beta(%g) mean %g", a, sum / n);
    ck_assert_msg (fabs (sq / n - var) < 5 * 0.25 / sqrt (n), "Beta(%g) variance %g, want %g",
        a, sq / n, var);
  }
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("rng");
  TCase *tc = tcase_create ("pcg32");
  tcase_add_test (tc, test_rng_same_seed_gives_same_sequence);
  tcase_add_test (tc, test_rng_uniform_mean_and_range);
  tcase_add_test (tc, test_rng_shuffle_is_a_permutation);
  tcase_add_test (tc, test_rng_below_stays_in_range_and_hits_all);
  tcase_add_test (tc, test_rng_normal_mean_and_variance);
  tcase_add_test (tc, test_rng_beta_moments);
  suite_add_tcase (s, tc);
  return mm_test_run_suite (s);
}
