/* Layer kernels: every backward against central finite differences of its
 * forward (input and every parameter), and forwards against hand-computed or
 * directly computed values. Losses are Σ y ⊙ r with a fixed random r, so
 * that d(loss)/d(y) = r. */
#include <math.h>
#include <string.h>

#include "mm-activation.h"
#include "mm-batchnorm.h"
#include "mm-conv.h"
#include "mm-dropout.h"
#include "mm-linear.h"
#include "mm-pool.h"
#include "mm-test-util.h"

/* Σ a ⊙ b in double */
static double
dot (const float *a, const float *b, size_t n)
{
  double s = 0;
  for (size_t i = 0; i < n; i++)
    s += (double) a[i] * b[i];
  return s;
}

static float *
uniform_new (size_t n, float lo, float hi, guint64 seed)
{
  float *v = g_new (float, n);
  mm_test_fill_uniform (v, n, lo, hi, seed);
  return v;
}

/* ---- Conv2d ---- */

typedef struct {
  MmConv2d l;
  int batch, h, w;
  float *x, *y, *r, *dx, *ws;
} ConvCase;

static ConvCase *
conv_case_new (int batch, int cin, int cout, int h, int w, guint64 seed)
{
  ConvCase *c = g_new0 (ConvCase, 1);
  size_t nw = (size_t) cout * cin * 9, nx = (size_t) batch * cin * h * w;
  size_t ny = (size_t) batch * cout * h * w;

  c->l.cin = cin;
  c->l.cout = cout;
  c->batch = batch;
  c->h = h;
  c->w = w;
  c->l.w = uniform_new (nw, -0.5f, 0.5f, seed);
  c->l.b = uniform_new (cout, -0.5f, 0.5f, seed + 1);
  c->l.dw = g_new (float, nw);
  c->l.db = g_new (float, cout);
  c->x = uniform_new (nx, -1.0f, 1.0f, seed + 2);
  c->r = uniform_new (ny, -1.0f, 1.0f, seed + 3);
  c->y = g_new (float, ny);
  c->dx = g_new (float, nx);
  c->ws = g_new (float, mm_conv2d_workspace_size (&c->l, batch, h, w));
  return c;
}

static void
conv_case_free (ConvCase *c)
{
  g_free (c->l.w);
  g_free (c->l.b);
  g_free (c->l.dw);
  g_free (c->l.db);
  g_free (c->x);
  g_free (c->y);
  g_free (c->r);
  g_free (c->dx);
  g_free (c->ws);
  g_free (c);
}

static double
conv_loss (gpointer data)
{
  ConvCase *c = data;
  mm_conv2d_forward (&c->l, c->batch, c->h, c->w, c->x, c->y, c->ws);
  return dot (c->y, c->r, (size_t) c->batch * c->l.cout * c->h * c->w);
}

/* y of a direct (loop) cross-correlation, PyTorch's Conv2d, summed in
 * double: exact to well below float rounding for these sizes */
static double
conv_direct_exact (const ConvCase *c, int b, int co, int oy, int ox)
{
  double s = c->l.b[co];
  for (int ci = 0; ci < c->l.cin; ci++)
    for (int ky = 0; ky < 3; ky++)
      for (int kx = 0; kx < 3; kx++) {
        int iy = oy + ky - 1, ix = ox + kx - 1;
        if (iy < 0 || iy >= c->h || ix < 0 || ix >= c->w)
          continue;
        s += (double) c->l.w[((co * c->l.cin + ci) * 3 + ky) * 3 + kx]
            * c->x[(((size_t) b * c->l.cin + ci) * c->h + iy) * c->w + ix];
      }
  return s;
}

static float
conv_direct (const ConvCase *c, int b, int co, int oy, int ox)
{
  return (float) conv_direct_exact (c, b, co, oy, ox);
}

static void
check_conv_gradients (int batch, int cin, int cout, int h, int w)
{
  ConvCase *c = conv_case_new (batch, cin, cout, h, w, 100 + cin);
  size_t nx = (size_t) batch * cin * h * w;

  conv_loss (c);
  /* garbage in the outputs proves backward overwrites rather than adds */
  for (size_t i = 0; i < (size_t) cout * cin * 9; i++)
    c->l.dw[i] = 1e3f;
  for (int i = 0; i < cout; i++)
    c->l.db[i] = 1e3f;
  for (size_t i = 0; i < nx; i++)
    c->dx[i] = 1e3f;
  mm_conv2d_backward (&c->l, batch, h, w, c->x, c->r, c->dx, c->ws);
  /* the loss is linear in every value: errors are float rounding only */
  mm_test_grad_check ("conv dx", c->x, c->dx, nx, conv_loss, c,
      1e-2, 2e-3, 1e-3, 150);
  mm_test_grad_check ("conv dw", c->l.w, c->l.dw, (size_t) cout * cin * 9,
      conv_loss, c, 1e-2, 2e-3, 1e-3, 150);
  mm_test_grad_check ("conv db", c->l.b, c->l.db, cout, conv_loss, c,
      1e-2, 2e-3, 1e-3, 150);
  conv_case_free (c);
}

START_TEST (test_conv2d_backward_matches_finite_differences)
{
  /* one chunk of several samples (the reorder path) */
  check_conv_gradients (2, 3, 4, 5, 6);
}
END_TEST

START_TEST (test_conv2d_backward_matches_finite_differences_across_chunks)
{
  /* 14×14: a chunk of 16 samples, then a one-sample tail that takes the
   * direct NCHW path, so dw is accumulated over chunks */
  check_conv_gradients (17, 2, 3, 14, 14);
}
END_TEST

START_TEST (test_conv2d_backward_single_input_channel)
{
  check_conv_gradients (2, 1, 4, 7, 5);
  /* 28×28, several samples: still one sample per GEMM */
  check_conv_gradients (2, 1, 3, 28, 28);
}
END_TEST

START_TEST (test_conv2d_backward_without_dx_gives_same_weight_gradients)
{
  ConvCase *c = conv_case_new (3, 2, 3, 6, 4, 7);
  size_t nw = (size_t) 3 * 2 * 9;
  float *dw = g_new (float, nw), db[3];

  mm_conv2d_backward (&c->l, 3, 6, 4, c->x, c->r, c->dx, c->ws);
  memcpy (dw, c->l.dw, nw * sizeof (float));
  memcpy (db, c->l.db, sizeof db);
  mm_conv2d_backward (&c->l, 3, 6, 4, c->x, c->r, NULL, c->ws);
  for (size_t i = 0; i < nw; i++)
    ck_assert_float_eq_tol (c->l.dw[i], dw[i], 1e-6f);
  for (int i = 0; i < 3; i++)
    ck_assert_float_eq_tol (c->l.db[i], db[i], 1e-6f);
  g_free (dw);
  conv_case_free (c);
}
END_TEST

START_TEST (test_conv2d_forward_hand_computed_3x3)
{
  /* all-ones kernel: each output is the zero-padded 3×3 neighbourhood sum */
  float x[9] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
  float w[9], b = 0.5f, y[9], dw[9], db;
  float expect[9] = { 12, 21, 16, 27, 45, 33, 24, 39, 28 };
  MmConv2d l = { 1, 1, w, &b, dw, &db };
  float ws[1024];

  ck_assert_uint_le (mm_conv2d_workspace_size (&l, 1, 3, 3), G_N_ELEMENTS (ws));
  for (int i = 0; i < 9; i++)
    w[i] = 1.0f;
  mm_conv2d_forward (&l, 1, 3, 3, x, y, ws);
  for (int i = 0; i < 9; i++)
    ck_assert_float_eq_tol (y[i], expect[i] + 0.5f, 1e-5f);

  /* only w[ky=0][kx=0] set: cross-correlation (no flip) reads x[oy−1][ox−1] */
  memset (w, 0, sizeof w);
  w[0] = 2.0f;
  b = 0.0f;
  mm_conv2d_forward (&l, 1, 3, 3, x, y, ws);
  for (int oy = 0; oy < 3; oy++)
    for (int ox = 0; ox < 3; ox++) {
      float v = oy > 0 && ox > 0 ? 2.0f * x[(oy - 1) * 3 + ox - 1] : 0.0f;
      ck_assert_float_eq_tol (y[oy * 3 + ox], v, 1e-6f);
    }
}
END_TEST

START_TEST (test_conv2d_forward_matches_direct_convolution)
{
  /* shapes that take each path: one chunk, several chunks with a one-sample
   * tail, single input channel, one-pixel-wide images, and single samples
   * large enough to be cut into bands of rows (odd and even row counts, the
   * audio encoder's 6×19) */
  const int shapes[][5] = {
    { 2, 3, 4, 5, 6 }, { 5, 2, 3, 28, 28 }, { 3, 1, 5, 28, 28 },
    { 2, 2, 2, 1, 7 }, { 2, 2, 2, 7, 1 }, { 33, 4, 6, 14, 14 },
    { 1, 32, 48, 13, 11 }, { 1, 32, 64, 6, 19 }, { 1, 32, 64, 14, 14 },
  };

  for (size_t s = 0; s < G_N_ELEMENTS (shapes); s++) {
    const int *sh = shapes[s];
    ConvCase *c = conv_case_new (sh[0], sh[1], sh[2], sh[3], sh[4], 11 + s);
    mm_conv2d_forward (&c->l, c->batch, c->h, c->w, c->x, c->y, c->ws);
    for (int b = 0; b < c->batch; b++)
      for (int co = 0; co < c->l.cout; co++)
        for (int oy = 0; oy < c->h; oy++)
          for (int ox = 0; ox < c->w; ox++) {
            float got = c->y[(((size_t) b * c->l.cout + co) * c->h + oy) * c->w + ox];
            ck_assert_msg (fabsf (got - conv_direct (c, b, co, oy, ox)) < 1e-4f,
                "shape %zu: y[%d][%d][%d][%d] = %g, direct %g", s, b, co, oy,
                ox, got, conv_direct (c, b, co, oy, ox));
          }
    conv_case_free (c);
  }
}
END_TEST

/* The worst-case rounding bound of a float dot product of k terms, however
 * BLAS orders or blocks it: k·2⁻²⁴·Σ|wᵢxᵢ| (Higham, Accuracy and Stability
 * of Numerical Algorithms, §3.1), plus the bias added once. */
static double
conv_rounding_bound (const ConvCase *c, int b, int co, int oy, int ox)
{
  double abs_sum = fabs (c->l.b[co]);
  int k = c->l.cin * 9 + 1;
  for (int ci = 0; ci < c->l.cin; ci++)
    for (int ky = 0; ky < 3; ky++)
      for (int kx = 0; kx < 3; kx++) {
        int iy = oy + ky - 1, ix = ox + kx - 1;
        if (iy < 0 || iy >= c->h || ix < 0 || ix >= c->w)
          continue;
        abs_sum += fabs ((double) c->l.w[((co * c->l.cin + ci) * 3 + ky) * 3 + kx]
            * c->x[(((size_t) b * c->l.cin + ci) * c->h + iy) * c->w + ix]);
      }
  return k * ldexp (1.0, -24) * abs_sum;
}

START_TEST (test_conv2d_single_sample_matches_its_slot_in_a_batch)
{
  /* batch 1 goes through the band path (GEMMs over bands of rows), a batch
   * of 3 through the sample path (one GEMM per sample). OpenBLAS does not
   * promise the same floats for the two shapes (its kernels block k
   * differently on different CPUs), only a correctly rounded-enough dot
   * product: both must lie within the rounding bound of the exact sum. */
  ConvCase *c = conv_case_new (3, 32, 64, 14, 14, 77);
  size_t ny = (size_t) 64 * 14 * 14;
  float *y1 = g_new (float, ny);

  mm_conv2d_forward (&c->l, 3, 14, 14, c->x, c->y, c->ws);
  for (int b = 0; b < 3; b++) {
    mm_conv2d_forward (&c->l, 1, 14, 14, c->x + (size_t) b * 32 * 14 * 14, y1, c->ws);
    for (size_t i = 0; i < ny; i++) {
      int co = (int) (i / (14 * 14)), oy = (int) (i / 14 % 14), ox = (int) (i % 14);
      double exact = conv_direct_exact (c, b, co, oy, ox);
      double bound = conv_rounding_bound (c, b, co, oy, ox);
      ck_assert_msg (fabs (y1[i] - exact) <= bound && fabs (c->y[b * ny + i] - exact) <= bound,
          "sample %d, value %zu: alone %.9g, in the batch %.9g, exact %.9g, bound %.3g",
          b, i, y1[i], c->y[b * ny + i], exact, bound);
    }
  }
  g_free (y1);
  conv_case_free (c);
}
END_TEST

/* ---- BatchNorm ---- */

typedef struct {
  MmBatchNorm l;
  int batch, spatial;
  float *x, *y, *r, *dx;
  float p[8][16];   /* gamma, beta, dgamma, dbeta, rm, rv, save_mean, save_invstd */
} BnCase;

static BnCase *
bn_case_new (int batch, int c, int spatial, guint64 seed)
{
  BnCase *bc = g_new0 (BnCase, 1);
  size_t n = (size_t) batch * c * spatial;

  g_assert (c <= 16);
  bc->batch = batch;
  bc->spatial = spatial;
  bc->l.c = c;
  bc->l.momentum = 0.1f;
  bc->l.eps = 1e-5f;
  bc->l.gamma = bc->p[0];
  bc->l.beta = bc->p[1];
  bc->l.dgamma = bc->p[2];
  bc->l.dbeta = bc->p[3];
  bc->l.running_mean = bc->p[4];
  bc->l.running_var = bc->p[5];
  bc->l.save_mean = bc->p[6];
  bc->l.save_invstd = bc->p[7];
  mm_test_fill_uniform (bc->l.gamma, c, 0.5f, 1.5f, seed);
  mm_test_fill_uniform (bc->l.beta, c, -0.5f, 0.5f, seed + 1);
  for (int i = 0; i < c; i++)
    bc->l.running_var[i] = 1.0f;
  /* an offset and a scale that differ per channel */
  bc->x = uniform_new (n, -1.0f, 3.0f, seed + 2);
  bc->r = uniform_new (n, -1.0f, 1.0f, seed + 3);
  bc->y = g_new (float, n);
  bc->dx = g_new (float, n);
  return bc;
}

static void
bn_case_free (BnCase *bc)
{
  g_free (bc->x);
  g_free (bc->y);
  g_free (bc->r);
  g_free (bc->dx);
  g_free (bc);
}

static double
bn_loss (gpointer data)
{
  BnCase *bc = data;
  mm_batchnorm_forward (&bc->l, bc->batch, bc->spatial, bc->x, bc->y, TRUE);
  return dot (bc->y, bc->r, (size_t) bc->batch * bc->l.c * bc->spatial);
}

static void
check_bn_gradients (int batch, int c, int spatial)
{
  BnCase *bc = bn_case_new (batch, c, spatial, 30 + spatial);
  size_t n = (size_t) batch * c * spatial;

  bn_loss (bc);
  mm_batchnorm_backward (&bc->l, batch, spatial, bc->x, bc->r, bc->dx);
  /* non-linear in x: h small enough that the O(h²) error is below atol */
  mm_test_grad_check ("bn dx", bc->x, bc->dx, n, bn_loss, bc,
      3e-3, 2e-3, 5e-3, 200);
  mm_test_grad_check ("bn dgamma", bc->l.gamma, bc->l.dgamma, c, bn_loss, bc,
      3e-3, 2e-3, 5e-3, 200);
  mm_test_grad_check ("bn dbeta", bc->l.beta, bc->l.dbeta, c, bn_loss, bc,
      3e-3, 2e-3, 5e-3, 200);
  bn_case_free (bc);
}

START_TEST (test_batchnorm1d_backward_matches_finite_differences)
{
  check_bn_gradients (6, 5, 1);
}
END_TEST

START_TEST (test_batchnorm2d_backward_matches_finite_differences)
{
  check_bn_gradients (3, 4, 5 * 7);
}
END_TEST

START_TEST (test_batchnorm_training_step_updates_running_stats)
{
  /* BatchNorm1d, 2 channels, batch 4:
   *   ch0 = 1, 2, 3, 4:   mean 2.5, biased var 1.25, unbiased 5/3
   *   ch1 = 0, 0, 0, 8:   mean 2,   biased var 12,   unbiased 16 */
  float x[8] = { 1, 0, 2, 0, 3, 0, 4, 8 }, y[8];
  float g[2] = { 2.0f, 1.0f }, bt[2] = { 0.5f, 0.0f }, dg[2], db[2];
  float rm[2] = { 0, 0 }, rv[2] = { 1, 1 }, sm[2], si[2];
  MmBatchNorm l = { 2, 0.1f, 1e-5f, g, bt, dg, db, rm, rv, sm, si };
  double inv0 = 1.0 / sqrt (1.25 + 1e-5);

  mm_batchnorm_forward (&l, 4, 1, x, y, TRUE);
  ck_assert_float_eq_tol (rm[0], 0.25f, 1e-6f);
  ck_assert_float_eq_tol (rm[1], 0.2f, 1e-6f);
  ck_assert_float_eq_tol (rv[0], 0.9f + 0.1f * 5.0f / 3.0f, 1e-6f);
  ck_assert_float_eq_tol (rv[1], 0.9f + 0.1f * 16.0f, 1e-5f);
  /* normalised with the biased batch variance */
  for (int b = 0; b < 4; b++)
    ck_assert_float_eq_tol (y[b * 2], (float) (2.0 * (x[b * 2] - 2.5) * inv0 + 0.5),
        1e-5f);
  ck_assert_float_eq_tol (y[7], (float) (6.0 / sqrt (12.0 + 1e-5)), 1e-5f);

  /* evaluation uses the running statistics, and leaves them alone */
  mm_batchnorm_forward (&l, 4, 1, x, y, FALSE);
  ck_assert_float_eq_tol (rm[0], 0.25f, 1e-6f);
  ck_assert_float_eq_tol (y[0], (float) (2.0 * (1.0 - 0.25)
          / sqrt (0.9 + 0.5 / 3.0 + 1e-5) + 0.5), 1e-5f);
}
END_TEST

START_TEST (test_batchnorm2d_training_output_is_standardised)
{
  BnCase *bc = bn_case_new (4, 3, 6 * 5, 5);
  int c = 3, sp = 30;

  for (int ch = 0; ch < c; ch++) {
    bc->l.gamma[ch] = 1.0f;
    bc->l.beta[ch] = 0.0f;
  }
  mm_batchnorm_forward (&bc->l, 4, sp, bc->x, bc->y, TRUE);
  for (int ch = 0; ch < c; ch++) {
    double s = 0, ss = 0;
    for (int b = 0; b < 4; b++)
      for (int i = 0; i < sp; i++) {
        double v = bc->y[(b * c + ch) * sp + i];
        s += v;
        ss += v * v;
      }
    ck_assert_double_eq_tol (s / (4 * sp), 0.0, 1e-5);
    ck_assert_double_eq_tol (ss / (4 * sp), 1.0, 1e-3);
  }
  bn_case_free (bc);
}
END_TEST

/* ---- MaxPool ---- */

typedef struct {
  int batch, c, h, w;
  float *x, *y, *r;
  int32_t *arg;
} PoolCase;

static double
pool_loss (gpointer data)
{
  PoolCase *p = data;
  mm_maxpool2_forward (p->batch, p->c, p->h, p->w, p->x, p->y, p->arg);
  return dot (p->y, p->r, (size_t) p->batch * p->c * (p->h / 2) * (p->w / 2));
}

START_TEST (test_maxpool_backward_matches_finite_differences)
{
  PoolCase p = { 2, 3, 7, 6, NULL, NULL, NULL, NULL };
  size_t nx = 2 * 3 * 7 * 6, ny = 2 * 3 * 3 * 3;
  int *perm = g_new (int, nx);
  float *dx = g_new (float, nx);
  MmRng rng;

  /* distinct values 0.01 apart: a step of 1e-3 never changes the argmax */
  p.x = g_new (float, nx);
  mm_rng_seed (&rng, 3, 0);
  for (size_t i = 0; i < nx; i++)
    perm[i] = (int) i;
  mm_rng_shuffle (&rng, perm, (int) nx);
  for (size_t i = 0; i < nx; i++)
    p.x[i] = 0.01f * perm[i] - 1.0f;
  p.y = g_new (float, ny);
  p.arg = g_new (int32_t, ny);
  p.r = uniform_new (ny, -1.0f, 1.0f, 4);
  pool_loss (&p);
  for (size_t i = 0; i < nx; i++)
    dx[i] = 1e3f;
  mm_maxpool2_backward (2, 3, 7, 6, p.r, p.arg, dx);
  mm_test_grad_check ("maxpool dx", p.x, dx, nx, pool_loss, &p,
      1e-3, 1e-3, 1e-3, 1000);
  g_free (perm);
  g_free (dx);
  g_free (p.x);
  g_free (p.y);
  g_free (p.arg);
  g_free (p.r);
}
END_TEST

START_TEST (test_maxpool_13x39_gives_6x19_window_maxima)
{
  int h = 13, w = 39, oh = 6, ow = 19, c = 2;
  float *x = uniform_new ((size_t) c * h * w, -1.0f, 1.0f, 9);
  float y[2 * 6 * 19 + 1], dy[2 * 6 * 19], *dx = g_new (float, (size_t) c * h * w);
  int32_t arg[2 * 6 * 19 + 1];

  /* sentinels just past the 6×19 outputs must stay untouched */
  y[c * oh * ow] = 42.0f;
  arg[c * oh * ow] = -7;
  mm_maxpool2_forward (1, c, h, w, x, y, arg);
  ck_assert_float_eq (y[c * oh * ow], 42.0f);
  ck_assert_int_eq (arg[c * oh * ow], -7);
  for (int ch = 0; ch < c; ch++)
    for (int oy = 0; oy < oh; oy++)
      for (int ox = 0; ox < ow; ox++) {
        const float *pl = x + ch * h * w;
        int o = (ch * oh + oy) * ow + ox;
        float m = fmaxf (fmaxf (pl[2 * oy * w + 2 * ox], pl[2 * oy * w + 2 * ox + 1]),
            fmaxf (pl[(2 * oy + 1) * w + 2 * ox], pl[(2 * oy + 1) * w + 2 * ox + 1]));
        ck_assert_float_eq (y[o], m);
        ck_assert_float_eq (pl[arg[o]], m);
        dy[o] = 1.0f;
      }
  /* backward: one 1 per window, zeros elsewhere including the dropped
   * last row (12) and column (38) */
  mm_maxpool2_backward (1, c, h, w, dy, arg, dx);
  double s = 0;
  for (int ch = 0; ch < c; ch++) {
    for (int i = 0; i < h * w; i++)
      s += dx[ch * h * w + i];
    for (int ix = 0; ix < w; ix++)
      ck_assert_float_eq (dx[ch * h * w + 12 * w + ix], 0.0f);
    for (int iy = 0; iy < h; iy++)
      ck_assert_float_eq (dx[ch * h * w + iy * w + 38], 0.0f);
  }
  ck_assert_double_eq (s, c * oh * ow);
  g_free (x);
  g_free (dx);
}
END_TEST

START_TEST (test_maxpool_first_maximum_wins_ties)
{
  float x[4] = { 1, 3, 3, 3 }, y;
  int32_t arg;
  mm_maxpool2_forward (1, 1, 2, 2, x, &y, &arg);
  ck_assert_float_eq (y, 3.0f);
  ck_assert_int_eq (arg, 1);
}
END_TEST

START_TEST (test_maxpool_propagates_nan_and_handles_infinities)
{
  /* three 2×2 windows side by side in a 2×6 image:
   * {1, NaN; 5, 2}, {1, +inf; −inf, 2}, {−inf, −inf; −inf, −inf} */
  float x[12] = { 1, NAN, 1, INFINITY, -INFINITY, -INFINITY,
                  5, 2, -INFINITY, 2, -INFINITY, -INFINITY };
  float y[3];
  int32_t arg[3];

  mm_maxpool2_forward (1, 1, 2, 6, x, y, arg);
  ck_assert (isnan (y[0]));
  ck_assert_int_eq (arg[0], 1);
  ck_assert (isinf (y[1]) && y[1] > 0);
  ck_assert_int_eq (arg[1], 3);
  ck_assert (isinf (y[2]) && y[2] < 0);
  ck_assert_int_eq (arg[2], 4);
}
END_TEST

/* ---- Dropout ---- */

typedef struct {
  float p;
  size_t n;
  float *x, *y, *mask, *r;
} DropCase;

static double
drop_loss (gpointer data)
{
  DropCase *d = data;
  MmRng rng;
  /* same seed every call: the same mask */
  mm_rng_seed (&rng, 77, 2);
  mm_dropout_forward (d->p, d->n, d->x, d->y, d->mask, &rng);
  return dot (d->y, d->r, d->n);
}

START_TEST (test_dropout_backward_matches_finite_differences)
{
  DropCase d = { 0.3f, 200, NULL, NULL, NULL, NULL };
  float *dx = g_new (float, 200);

  d.x = uniform_new (d.n, -1.0f, 1.0f, 1);
  d.r = uniform_new (d.n, -1.0f, 1.0f, 2);
  d.y = g_new (float, d.n);
  d.mask = g_new (float, d.n);
  drop_loss (&d);
  mm_dropout_backward (d.n, d.r, d.mask, dx);
  mm_test_grad_check ("dropout dx", d.x, dx, d.n, drop_loss, &d,
      1e-2, 1e-4, 1e-3, 200);
  g_free (dx);
  g_free (d.x);
  g_free (d.r);
  g_free (d.y);
  g_free (d.mask);
}
END_TEST

START_TEST (test_dropout_keeps_expectation_and_drops_fraction_p)
{
  size_t n = 200000, zeros = 0;
  float *x = g_new (float, n), *mask = g_new (float, n);
  double s = 0;
  MmRng rng;

  for (size_t i = 0; i < n; i++)
    x[i] = 1.0f;
  mm_rng_seed (&rng, 5, 0);
  /* in place */
  mm_dropout_forward (0.25f, n, x, x, mask, &rng);
  for (size_t i = 0; i < n; i++) {
    ck_assert (x[i] == 0.0f || fabsf (x[i] - 4.0f / 3.0f) < 1e-6f);
    ck_assert_float_eq (x[i], mask[i]);
    zeros += x[i] == 0.0f;
    s += x[i];
  }
  /* standard errors: mean sqrt(1/3)/sqrt(n) ≈ 1.3e-3, fraction 9.7e-4 */
  ck_assert_double_eq_tol (s / n, 1.0, 6e-3);
  ck_assert_double_eq_tol ((double) zeros / n, 0.25, 5e-3);
  g_free (x);
  g_free (mask);
}
END_TEST

START_TEST (test_dropout_with_p_zero_is_identity)
{
  float x[64], y[64], mask[64], dx[64];
  MmRng rng;

  mm_test_fill_uniform (x, 64, -2.0f, 2.0f, 3);
  mm_rng_seed (&rng, 1, 1);
  mm_dropout_forward (0.0f, 64, x, y, mask, &rng);
  mm_dropout_backward (64, x, mask, dx);
  for (int i = 0; i < 64; i++) {
    ck_assert_float_eq (y[i], x[i]);
    ck_assert_float_eq (dx[i], x[i]);
  }
}
END_TEST

/* ---- Linear ---- */

typedef struct {
  MmLinear l;
  int batch;
  float *x, *y, *r;
} LinCase;

static double
lin_loss (gpointer data)
{
  LinCase *c = data;
  mm_linear_forward (&c->l, c->batch, c->x, c->y);
  return dot (c->y, c->r, (size_t) c->batch * c->l.out);
}

START_TEST (test_linear_backward_matches_finite_differences)
{
  int batch = 4, in = 7, out = 5;
  LinCase c = { { in, out, NULL, NULL, NULL, NULL }, batch, NULL, NULL, NULL };
  float *dx = g_new (float, batch * in);

  c.l.w = uniform_new (in * out, -1.0f, 1.0f, 1);
  c.l.b = uniform_new (out, -1.0f, 1.0f, 2);
  c.l.dw = g_new (float, in * out);
  c.l.db = g_new (float, out);
  c.x = uniform_new (batch * in, -1.0f, 1.0f, 3);
  c.r = uniform_new (batch * out, -1.0f, 1.0f, 4);
  c.y = g_new (float, batch * out);
  lin_loss (&c);
  for (int i = 0; i < out; i++)
    c.l.db[i] = 1e3f;
  mm_linear_backward (&c.l, batch, c.x, c.r, dx);
  mm_test_grad_check ("linear dx", c.x, dx, batch * in, lin_loss, &c,
      1e-2, 1e-4, 1e-3, 100);
  mm_test_grad_check ("linear dw", c.l.w, c.l.dw, in * out, lin_loss, &c,
      1e-2, 1e-4, 1e-3, 100);
  mm_test_grad_check ("linear db", c.l.b, c.l.db, out, lin_loss, &c,
      1e-2, 1e-4, 1e-3, 100);
  g_free (dx);
  g_free (c.l.w);
  g_free (c.l.b);
  g_free (c.l.dw);
  g_free (c.l.db);
  g_free (c.x);
  g_free (c.r);
  g_free (c.y);
}
END_TEST

START_TEST (test_linear_forward_hand_computed)
{
  /* W = [[1, 2, 3], [0, −1, 0.5]], b = [0.5, −1], x = [1, 1, 2] */
  float w[6] = { 1, 2, 3, 0, -1, 0.5f }, b[2] = { 0.5f, -1 };
  float x[3] = { 1, 1, 2 }, y[2], dw[6], db[2];
  MmLinear l = { 3, 2, w, b, dw, db };
  mm_linear_forward (&l, 1, x, y);
  ck_assert_float_eq_tol (y[0], 9.5f, 1e-6f);
  ck_assert_float_eq_tol (y[1], -1.0f, 1e-6f);
}
END_TEST

START_TEST (test_linear_single_row_matches_double_precision_sums)
{
  /* ImageNet_CNN's 3136 → 128 at batch 1 is cut into column blocks of W;
   * every output against a double-precision dot product */
  const int in = 3136, out = 128;
  float *w = uniform_new ((size_t) in * out, -0.05f, 0.05f, 5);
  float *b = uniform_new (out, -0.5f, 0.5f, 6), *x = uniform_new (in, 0.0f, 1.0f, 7);
  float y[128];
  MmLinear l = { in, out, w, b, NULL, NULL };

  mm_linear_forward (&l, 1, x, y);
  for (int o = 0; o < out; o++) {
    double ref = b[o];
    for (int i = 0; i < in; i++)
      ref += (double) w[(size_t) o * in + i] * x[i];
    ck_assert_msg (fabs (y[o] - ref) < 1e-4, "y[%d] = %.7g, reference %.7g", o, y[o], ref);
  }
  g_free (w);
  g_free (b);
  g_free (x);
}
END_TEST

/* ---- ReLU, softmax ---- */

typedef struct {
  size_t n;
  float *x, *y, *r;
} ReluCase;

static double
relu_loss (gpointer data)
{
  ReluCase *c = data;
  mm_relu_forward (c->n, c->x, c->y);
  return dot (c->y, c->r, c->n);
}

START_TEST (test_relu_backward_matches_finite_differences)
{
  float x[100], y[100], r[100], dx[100];
  ReluCase c = { 100, x, y, r };

  /* keep |x| ≥ 0.05 so no step crosses the kink */
  mm_test_fill_uniform (x, 100, 0.05f, 1.0f, 1);
  for (int i = 0; i < 100; i += 2)
    x[i] = -x[i];
  mm_test_fill_uniform (r, 100, -1.0f, 1.0f, 2);
  relu_loss (&c);
  /* in place, as the nets use it */
  memcpy (dx, r, sizeof dx);
  mm_relu_backward (100, y, dx, dx);
  for (int i = 0; i < 100; i++)
    ck_assert_float_eq (y[i], x[i] > 0 ? x[i] : 0.0f);
  mm_test_grad_check ("relu dx", x, dx, 100, relu_loss, &c,
      1e-2, 1e-4, 1e-3, 100);
}
END_TEST

typedef struct {
  int batch, classes;
  float *z;
  const int *labels;
  const float *smoothing;   /* [batch] or NULL */
} XentCase;

static double
xent_loss (gpointer data)
{
  XentCase *c = data;
  return mm_softmax_xent_smoothed (c->batch, c->classes, c->z, c->labels, c->smoothing,
      NULL, NULL);
}

START_TEST (test_softmax_xent_backward_matches_finite_differences)
{
  int labels[4] = { 3, 0, 9, 3 };
  float z[40], dz[40], p[40];
  XentCase c = { 4, 10, z, labels, NULL };

  mm_test_fill_uniform (z, 40, -3.0f, 3.0f, 8);
  mm_softmax_xent (4, 10, z, labels, p, dz);
  /* the loss comes back as float: 1e-7 relative noise over a step of 2h */
  mm_test_grad_check ("softmax_xent dlogits", z, dz, 40, xent_loss, &c,
      5e-3, 1e-4, 1e-2, 40);
}
END_TEST

START_TEST (test_softmax_xent_of_uniform_logits_is_ln10)
{
  int labels[3] = { 0, 4, 9 };
  float z[30], p[30], dz[30];
  float loss;

  for (int i = 0; i < 30; i++)
    z[i] = 2.5f;
  loss = mm_softmax_xent (3, 10, z, labels, p, dz);
  ck_assert_float_eq_tol (loss, (float) log (10.0), 1e-6f);
  for (int b = 0; b < 3; b++)
    for (int k = 0; k < 10; k++) {
      ck_assert_float_eq_tol (p[b * 10 + k], 0.1f, 1e-7f);
      ck_assert_float_eq_tol (dz[b * 10 + k],
          (0.1f - (k == labels[b] ? 1.0f : 0.0f)) / 3.0f, 1e-7f);
    }
  /* probs and dlogits are optional */
  ck_assert_float_eq_tol (mm_softmax_xent (3, 10, z, labels, NULL, NULL),
      (float) log (10.0), 1e-6f);
}
END_TEST

/* each sample its own smoothing, one of them none */
START_TEST (test_smoothed_xent_backward_matches_finite_differences)
{
  int labels[4] = { 3, 0, 9, 3 };
  const float smoothing[4] = { 0.1f, 0.0f, 0.45f, 0.9f };
  float z[40], dz[40];
  XentCase c = { 4, 10, z, labels, smoothing };

  mm_test_fill_uniform (z, 40, -3.0f, 3.0f, 8);
  mm_softmax_xent_smoothed (4, 10, z, labels, smoothing, NULL, dz);
  mm_test_grad_check ("smoothed softmax_xent dlogits", z, dz, 40, xent_loss, &c,
      5e-3, 1e-4, 1e-2, 40);
}
END_TEST

/* The loss against targets t = (1 − s_b)·onehot + s_b/10 is −Σ t·log p,
 * and its gradient p − t (per sample, before the mean over the batch);
 * with every s_b = 0 it is the unsmoothed function itself. */
START_TEST (test_smoothed_xent_is_cross_entropy_against_smoothed_targets)
{
  int labels[3] = { 2, 7, 7 };
  float z[30], p[30], dz[30], p0[30], dz0[30], dz_plain[30];
  const float s[3] = { 0.2f, 0.0f, 0.6f }, zeros[3] = { 0 };
  double want = 0;
  float loss;

  mm_test_fill_uniform (z, 30, -4.0f, 4.0f, 5);
  loss = mm_softmax_xent_smoothed (3, 10, z, labels, s, p, dz);
  for (int b = 0; b < 3; b++)
    for (int k = 0; k < 10; k++) {
      double t = (k == labels[b] ? 1.0 - s[b] : 0.0) + s[b] / 10.0;
      want -= t * log (p[b * 10 + k]) / 3.0;
      ck_assert_float_eq_tol (dz[b * 10 + k], (float) ((p[b * 10 + k] - t) / 3.0), 1e-7f);
    }
  ck_assert_float_eq_tol (loss, (float) want, 1e-5f);
  /* s = 0 leaves the smoothing terms out: the plain loss and gradient to the
   * bit (one function of ours computes both, so equality is promised) */
  ck_assert (mm_softmax_xent_smoothed (3, 10, z, labels, zeros, NULL, dz0)
      == mm_softmax_xent (3, 10, z, labels, p0, dz_plain));
  ck_assert_mem_eq (dz0, dz_plain, sizeof dz0);
}
END_TEST

typedef struct {
  float *z;
  const int *labels, *mix_labels;
  const float *smoothing, *mix;
} MixedXentCase;

static double
mixed_xent_loss (gpointer data)
{
  MixedXentCase *c = data;
  return mm_softmax_xent_mixed (4, 10, c->z, c->labels, c->smoothing, c->mix_labels, c->mix,
      NULL, NULL);
}

/* mixup's loss: every sample its own weight and smoothing, one mixed with
 * its own label, one not mixed */
START_TEST (test_mixed_xent_backward_matches_finite_differences)
{
  const int labels[4] = { 3, 0, 9, 3 }, mix_labels[4] = { 5, 0, 1, 8 };
  const float smoothing[4] = { 0.1f, 0.0f, 0.3f, 0.0f }, mix[4] = { 0.4f, 0.7f, 0.0f, 0.95f };
  float z[40], dz[40];
  MixedXentCase c = { z, labels, mix_labels, smoothing, mix };

  mm_test_fill_uniform (z, 40, -3.0f, 3.0f, 11);
  mm_softmax_xent_mixed (4, 10, z, labels, smoothing, mix_labels, mix, NULL, dz);
  mm_test_grad_check ("mixed softmax_xent dlogits", z, dz, 40, mixed_xent_loss, &c,
      5e-3, 1e-4, 1e-2, 40);
}
END_TEST

/* The loss is the cross-entropy against (1 − m)·t(label) + m·t(mix label),
 * t the smoothed target, and its gradient p minus that target; without
 * mixing it is the smoothed function's. */
START_TEST (test_mixed_xent_is_cross_entropy_against_mixed_targets)
{
  const int labels[3] = { 2, 7, 4 }, mix_labels[3] = { 6, 7, 0 };
  const float s[3] = { 0.2f, 0.0f, 0.0f }, m[3] = { 0.3f, 0.5f, 1.0f };
  float z[30], p[30], dz[30], dz_s[30];
  double want = 0;
  float loss;

  mm_test_fill_uniform (z, 30, -4.0f, 4.0f, 6);
  loss = mm_softmax_xent_mixed (3, 10, z, labels, s, mix_labels, m, p, dz);
  for (int b = 0; b < 3; b++)
    for (int k = 0; k < 10; k++) {
      double t = (1.0 - m[b]) * ((k == labels[b] ? 1.0 - s[b] : 0.0) + s[b] / 10.0)
          + m[b] * ((k == mix_labels[b] ? 1.0 - s[b] : 0.0) + s[b] / 10.0);
      want -= t * log (p[b * 10 + k]) / 3.0;
      ck_assert_float_eq_tol (dz[b * 10 + k], (float) ((p[b * 10 + k] - t) / 3.0), 1e-7f);
    }
  ck_assert_float_eq_tol (loss, (float) want, 1e-5f);
  ck_assert (mm_softmax_xent_mixed (3, 10, z, labels, s, NULL, NULL, NULL, dz)
      == mm_softmax_xent_smoothed (3, 10, z, labels, s, NULL, dz_s));
  ck_assert_mem_eq (dz, dz_s, sizeof dz);
}
END_TEST

START_TEST (test_softmax_is_stable_for_large_logits)
{
  float z[4] = { 1000.0f, 999.0f, -1000.0f, 1000.0f }, p[4];
  int label = 1;
  float loss;
  double e = exp (-1.0);

  loss = mm_softmax_xent (1, 4, z, &label, p, NULL);
  /* loss = log(2 + e⁻¹) + 1 */
  ck_assert_float_eq_tol (loss, (float) (log (2.0 + e) + 1.0), 1e-5f);
  ck_assert_float_eq_tol (p[0], (float) (1.0 / (2.0 + e)), 1e-6f);
  /* row-wise softmax, in place */
  mm_softmax (1, 4, z, z);
  ck_assert_float_eq_tol (z[0] + z[1] + z[2] + z[3], 1.0f, 1e-6f);
  ck_assert_float_eq_tol (z[1], (float) (e / (2.0 + e)), 1e-6f);
  ck_assert_float_eq (z[2], 0.0f);
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("layers");
  TCase *tc;

  tc = tcase_create ("conv2d");
  tcase_add_test (tc, test_conv2d_backward_matches_finite_differences);
  tcase_add_test (tc, test_conv2d_backward_matches_finite_differences_across_chunks);
  tcase_add_test (tc, test_conv2d_backward_single_input_channel);
  tcase_add_test (tc, test_conv2d_backward_without_dx_gives_same_weight_gradients);
  tcase_add_test (tc, test_conv2d_forward_hand_computed_3x3);
  tcase_add_test (tc, test_conv2d_forward_matches_direct_convolution);
  tcase_add_test (tc, test_conv2d_single_sample_matches_its_slot_in_a_batch);
  suite_add_tcase (s, tc);

  tc = tcase_create ("batchnorm");
  tcase_add_test (tc, test_batchnorm1d_backward_matches_finite_differences);
  tcase_add_test (tc, test_batchnorm2d_backward_matches_finite_differences);
  tcase_add_test (tc, test_batchnorm_training_step_updates_running_stats);
  tcase_add_test (tc, test_batchnorm2d_training_output_is_standardised);
  suite_add_tcase (s, tc);

  tc = tcase_create ("maxpool");
  tcase_add_test (tc, test_maxpool_backward_matches_finite_differences);
  tcase_add_test (tc, test_maxpool_13x39_gives_6x19_window_maxima);
  tcase_add_test (tc, test_maxpool_first_maximum_wins_ties);
  tcase_add_test (tc, test_maxpool_propagates_nan_and_handles_infinities);
  suite_add_tcase (s, tc);

  tc = tcase_create ("dropout");
  tcase_add_test (tc, test_dropout_backward_matches_finite_differences);
  tcase_add_test (tc, test_dropout_keeps_expectation_and_drops_fraction_p);
  tcase_add_test (tc, test_dropout_with_p_zero_is_identity);
  suite_add_tcase (s, tc);

  tc = tcase_create ("linear");
  tcase_add_test (tc, test_linear_backward_matches_finite_differences);
  tcase_add_test (tc, test_linear_forward_hand_computed);
  tcase_add_test (tc, test_linear_single_row_matches_double_precision_sums);
  suite_add_tcase (s, tc);

  tc = tcase_create ("activation");
  tcase_add_test (tc, test_relu_backward_matches_finite_differences);
  tcase_add_test (tc, test_softmax_xent_backward_matches_finite_differences);
  tcase_add_test (tc, test_softmax_xent_of_uniform_logits_is_ln10);
  tcase_add_test (tc, test_smoothed_xent_backward_matches_finite_differences);
  tcase_add_test (tc, test_smoothed_xent_is_cross_entropy_against_smoothed_targets);
  tcase_add_test (tc, test_mixed_xent_backward_matches_finite_differences);
  tcase_add_test (tc, test_mixed_xent_is_cross_entropy_against_mixed_targets);
  tcase_add_test (tc, test_softmax_is_stable_for_large_logits);
  suite_add_tcase (s, tc);

  return mm_test_run_suite (s);
}
