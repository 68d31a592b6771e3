/* The fused batch-norm + ReLU + max-pool kernels (with and without the
 * full-size ReLU output) against the separate kernels they replace in the
 * CNN encoders: the results must be the same to the bit (net.c relies on it, and the parity and thread tests were written
 * against the separate kernels). The inputs hold ties: every seventh value
 * is equal, and the ReLU makes many zeros, so the first-maximum rule of the
 * pool is exercised. */
#include <string.h>

#include "mm-batchnorm.h"
#include "mm-pool.h"
#include "mm-rng.h"
#include "mm-test-util.h"

typedef struct {
  int batch, c, h, w;
} Shape;

/* the encoders' shapes (image, audio; both blocks), odd sizes, tiny planes */
static const Shape shapes[] = {
  { 3, 32, 28, 28 }, { 2, 64, 14, 14 }, { 3, 32, 13, 39 }, { 2, 64, 6, 19 },
  { 1, 5, 7, 9 }, { 2, 3, 1, 5 }, { 2, 2, 3, 7 },
};

/* gamma, beta, dgamma, dbeta, running mean / var, save mean / invstd */
#define BN_FIELDS 8

static MmBatchNorm
make_bn (int c, float *par)
{
  MmBatchNorm l = { c, 0.1f, 1e-5f, par, par + c, par + 2 * c, par + 3 * c,
    par + 4 * c, par + 5 * c, par + 6 * c, par + 7 * c };
  return l;
}

static void
check_shape (const Shape *sh, gboolean training)
{
  int c = sh->c;
  size_t n = (size_t) sh->batch * c * sh->h * sh->w;
  size_t np = (size_t) sh->batch * c * (sh->h / 2) * (sh->w / 2);
  float *x = g_new (float, n), *y1 = g_new (float, n), *y2 = g_new (float, n);
  float *p1 = g_new (float, np + 1), *p2 = g_new (float, np + 1);
  float *par1 = g_new (float, BN_FIELDS * c), *par2 = g_new (float, BN_FIELDS * c);
  float *par0 = g_new (float, BN_FIELDS * c);   /* before any forward */
  gint32 *a1 = g_new (gint32, np + 1), *a2 = g_new (gint32, np + 1);
  MmBatchNorm l1 = make_bn (c, par1), l2 = make_bn (c, par2);

  mm_test_fill_uniform (x, n, -0.5f, 0.5f, 11 + c);
  for (size_t i = 0; i < n; i += 7)
    x[i] = 0.25f;
  /* gamma of both signs, positive running variance */
  mm_test_fill_uniform (par1, BN_FIELDS * c, -0.3f, 0.7f, 5 + c);
  for (int i = 0; i < c; i++)
    l1.running_var[i] += 0.5f;
  memcpy (par2, par1, BN_FIELDS * c * sizeof (float));
  memcpy (par0, par1, BN_FIELDS * c * sizeof (float));

  mm_batchnorm_relu_forward (&l1, sh->batch, sh->h * sh->w, x, y1, training);
  mm_maxpool2_forward (sh->batch, c, sh->h, sh->w, y1, p1, a1);
  mm_batchnorm_relu_maxpool2_forward (&l2, sh->batch, sh->h, sh->w, x, y2, p2,
      a2, training);
  ck_assert_msg (memcmp (y1, y2, n * sizeof (float)) == 0, "bn+relu output differs");
  ck_assert_msg (memcmp (p1, p2, np * sizeof (float)) == 0, "pooled values differ");
  ck_assert_msg (memcmp (a1, a2, np * sizeof (gint32)) == 0, "argmax differs");
  ck_assert_msg (memcmp (par1, par2, BN_FIELDS * c * sizeof (float)) == 0,
      "statistics differ");
  if (!training) {
    /* the inference kernel pools before the affine map: same floats */
    memset (p2, 0xff, np * sizeof (float));
    mm_batchnorm_relu_maxpool2_infer (&l2, sh->batch, sh->h, sh->w, x, p2);
    ck_assert_msg (memcmp (p1, p2, np * sizeof (float)) == 0,
        "inference kernel's pooled values differ (%d×%d×%d×%d)", sh->batch, c,
        sh->h, sh->w);
  }

  if (training) {
    float *gp = g_new (float, np + 1), *dy = g_new (float, n);
    float *dx1 = g_new (float, n), *dx2 = g_new (float, n);

    mm_test_fill_uniform (gp, np + 1, -1.0f, 1.0f, 17 + c);
    mm_maxpool2_backward (sh->batch, c, sh->h, sh->w, gp, a1, dy);
    mm_batchnorm_relu_backward (&l1, sh->batch, sh->h * sh->w, x, y1, dy, dx1);
    mm_batchnorm_relu_maxpool2_backward (&l2, sh->batch, sh->h, sh->w, x, y2,
        gp, a2, dx2);
    ck_assert_msg (memcmp (dx1, dx2, n * sizeof (float)) == 0, "dx differs");
    ck_assert_msg (memcmp (l1.dgamma, l2.dgamma, c * sizeof (float)) == 0
        && memcmp (l1.dbeta, l2.dbeta, c * sizeof (float)) == 0,
        "dgamma / dbeta differ");

    /* without y: forward writes no ReLU output, backward recomputes its
     * mask from x and the saved statistics; a third layer that starts
     * from the same parameters must give the same floats */
    {
      float *par3 = g_new (float, BN_FIELDS * c), *p3 = g_new (float, np + 1);
      float *dx3 = g_new (float, n);
      gint32 *a3 = g_new (gint32, np + 1);
      MmBatchNorm l3 = make_bn (c, par3);

      memcpy (par3, par0, BN_FIELDS * c * sizeof (float));
      mm_batchnorm_relu_maxpool2_forward (&l3, sh->batch, sh->h, sh->w, x, NULL, p3,
          a3, TRUE);
      ck_assert_msg (memcmp (p1, p3, np * sizeof (float)) == 0
          && memcmp (a1, a3, np * sizeof (gint32)) == 0, "pooled / argmax differ without y");
      mm_batchnorm_relu_maxpool2_backward (&l3, sh->batch, sh->h, sh->w, x, NULL,
          gp, a3, dx3);
      ck_assert_msg (memcmp (dx1, dx3, n * sizeof (float)) == 0, "dx differs without y");
      ck_assert_msg (memcmp (l1.dgamma, l3.dgamma, c * sizeof (float)) == 0
          && memcmp (l1.dbeta, l3.dbeta, c * sizeof (float)) == 0,
          "dgamma / dbeta differ without y");
      g_free (par3);
      g_free (p3);
      g_free (dx3);
      g_free (a3);
    }
    g_free (gp);
    g_free (dy);
    g_free (dx1);
    g_free (dx2);
  }
  g_free (x);
  g_free (y1);
  g_free (y2);
  g_free (p1);
  g_free (p2);
  g_free (par0);
  g_free (par1);
  g_free (par2);
  g_free (a1);
  g_free (a2);
}

START_TEST (test_fused_bn_relu_pool_training_matches_separate_kernels_bitwise)
{
  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    check_shape (&shapes[i], TRUE);
}
END_TEST

/* evaluation: the fused kernel and the inference-only kernel */
START_TEST (test_fused_bn_relu_pool_evaluation_matches_separate_kernels_bitwise)
{
  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    check_shape (&shapes[i], FALSE);
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("fused");
  TCase *tc = tcase_create ("bn_relu_pool");
  tcase_add_test (tc, test_fused_bn_relu_pool_training_matches_separate_kernels_bitwise);
  tcase_add_test (tc, test_fused_bn_relu_pool_evaluation_matches_separate_kernels_bitwise);
  suite_add_tcase (s, tc);
  return mm_test_run_suite (s);
}
