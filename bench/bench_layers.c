/* bench_layers — GFLOP/s of the conv kernels on the ImageNet_CNN shapes.
 *
 *   build-x/bench/bench_layers [batch] [repeats per round]
 *
 * Counts 2·cout·cin·9·h·w·batch flops per product (forward; the weight
 * gradient; the input gradient), as is usual; im2col, reorders and bias are
 * overhead inside the measured time. Runs with 1 OpenBLAS thread and with
 * the default number; then the other kernels of the first block. */
#include <cblas.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>

#include "mm-activation.h"
#include "mm-batchnorm.h"
#include "mm-conv.h"
#include "mm-pool.h"
#include "mm-rng.h"

typedef struct {
  const char *name;
  int cin, cout, h, w;
  gboolean need_dx;   /* conv1 is the first layer: no input gradient */
} ConvShape;

static const ConvShape shapes[] = {
  { "conv1 1->32 28x28", 1, 32, 28, 28, FALSE },
  { "conv2 32->64 14x14", 32, 64, 14, 14, TRUE },
};

static float *
random_floats (size_t n, MmRng *rng)
{
  float *v = g_new (float, n);
  for (size_t i = 0; i < n; i++)
    v[i] = mm_rng_uniform (rng) - 0.5f;
  return v;
}

static void
bench_shape (const ConvShape *s, int batch, int repeats)
{
  MmRng rng;
  size_t nw = (size_t) s->cout * s->cin * 9;
  size_t nx = (size_t) batch * s->cin * s->h * s->w;
  size_t ny = (size_t) batch * s->cout * s->h * s->w;
  double flop = 2.0 * batch * s->cout * s->cin * 9.0 * s->h * s->w;
  MmConv2d l = { s->cin, s->cout, NULL, NULL, NULL, NULL };
  float *x, *y, *dy, *dx, *ws;
  double t0, tf, tb;

  mm_rng_seed (&rng, 1, 0);
  l.w = random_floats (nw, &rng);
  l.b = random_floats (s->cout, &rng);
  l.dw = g_new (float, nw);
  l.db = g_new (float, s->cout);
  x = random_floats (nx, &rng);
  dy = random_floats (ny, &rng);
  y = g_new (float, ny);
  dx = s->need_dx ? g_new (float, nx) : NULL;
  ws = g_new (float, mm_conv2d_workspace_size (&l, batch, s->h, s->w));

  /* warm up caches and OpenBLAS's threads */
  mm_conv2d_forward (&l, batch, s->h, s->w, x, y, ws);
  mm_conv2d_backward (&l, batch, s->h, s->w, x, dy, dx, ws);

  /* best of a few rounds: the machine may be shared, the minimum is what
   * the kernels can do */
  tf = tb = G_MAXDOUBLE;
  for (int round = 0; round < 5; round++) {
    double t;

    t0 = g_get_monotonic_time ();
    for (int r = 0; r < repeats; r++)
      mm_conv2d_forward (&l, batch, s->h, s->w, x, y, ws);
    t = (g_get_monotonic_time () - t0) / 1e6 / repeats;
    tf = MIN (tf, t);
    t0 = g_get_monotonic_time ();
    for (int r = 0; r < repeats; r++)
      mm_conv2d_backward (&l, batch, s->h, s->w, x, dy, dx, ws);
    t = (g_get_monotonic_time () - t0) / 1e6 / repeats;
    tb = MIN (tb, t);
  }

  printf ("  %-20s forward %7.3f ms %6.1f GFLOP/s   backward%s %7.3f ms %6.1f GFLOP/s\n",
      s->name, tf * 1e3, flop / tf / 1e9, s->need_dx ? "(dw,dx)" : "(dw)   ",
      tb * 1e3, flop * (s->need_dx ? 2 : 1) / tb / 1e9);

  g_free (l.w);
  g_free (l.b);
  g_free (l.dw);
  g_free (l.db);
  g_free (x);
  g_free (y);
  g_free (dy);
  g_free (dx);
  g_free (ws);
}

/* Best-of-5 milliseconds per call of @fn over @repeats calls. */
typedef void (*BenchFn) (gpointer data);

static double
best_ms (BenchFn fn, gpointer data, int repeats)
{
  double best = G_MAXDOUBLE;
  for (int round = 0; round < 5; round++) {
    gint64 t0 = g_get_monotonic_time ();
    for (int r = 0; r < repeats; r++)
      fn (data);
    best = MIN (best, (g_get_monotonic_time () - t0) / 1e3 / repeats);
  }
  return best;
}

/* The other kernels of ImageNet_CNN's first block (conv1's output,
 * 32 channels of 28×28): what they cost beside the convolutions. */
typedef struct {
  int batch;
  MmBatchNorm bn;
  float *x, *y, *dy, *dx;
  int32_t *arg;
} Block;

static void
run_bn (gpointer data)
{
  Block *b = data;
  mm_batchnorm_forward (&b->bn, b->batch, 28 * 28, b->x, b->y, TRUE);
  mm_batchnorm_backward (&b->bn, b->batch, 28 * 28, b->x, b->dy, b->dx);
}

static void
run_relu (gpointer data)
{
  Block *b = data;
  size_t n = (size_t) b->batch * 32 * 28 * 28;
  mm_relu_forward (n, b->y, b->y);
  mm_relu_backward (n, b->y, b->dy, b->dx);
}

static void
run_pool (gpointer data)
{
  Block *b = data;
  mm_maxpool2_forward (b->batch, 32, 28, 28, b->x, b->y, b->arg);
  mm_maxpool2_backward (b->batch, 32, 28, 28, b->dy, b->arg, b->dx);
}

static void
bench_block (int batch, int repeats)
{
  MmRng rng;
  size_t n = (size_t) batch * 32 * 28 * 28;
  float bnp[8][32];
  Block b = { batch, { 32, 0.1f, 1e-5f, bnp[0], bnp[1], bnp[2], bnp[3],
      bnp[4], bnp[5], bnp[6], bnp[7] }, NULL, NULL, NULL, NULL, NULL };

  mm_rng_seed (&rng, 2, 0);
  for (int c = 0; c < 32; c++) {
    bnp[0][c] = 1.0f;
    bnp[1][c] = bnp[4][c] = 0.0f;
    bnp[5][c] = 1.0f;
  }
  b.x = random_floats (n, &rng);
  b.y = g_new (float, n);
  b.dy = random_floats (n, &rng);
  b.dx = g_new (float, n);
  b.arg = g_new (int32_t, n / 4);
  printf ("  32x28x28 block:      batchnorm fwd+bwd %.3f ms, relu fwd+bwd %.3f ms, "
      "maxpool fwd+bwd %.3f ms\n", best_ms (run_bn, &b, repeats),
      best_ms (run_relu, &b, repeats), best_ms (run_pool, &b, repeats));
  g_free (b.x);
  g_free (b.y);
  g_free (b.dy);
  g_free (b.dx);
  g_free (b.arg);
}

int
main (int argc, char **argv)
{
  int batch = argc > 1 ? atoi (argv[1]) : 32;
  int repeats = argc > 2 ? atoi (argv[2]) : 40;
  int threads_default = openblas_get_num_threads ();
  int threads[2] = { 1, threads_default };

  if (batch <= 0 || repeats <= 0) {
    fprintf (stderr, "usage: bench_layers [batch > 0] [repeats > 0]\n");
    return 1;
  }
  for (int t = 0; t < (threads_default > 1 ? 2 : 1); t++) {
    openblas_set_num_threads (threads[t]);
    printf ("batch %d, %d OpenBLAS thread%s\n", batch, threads[t],
        threads[t] > 1 ? "s" : "");
    for (size_t i = 0; i < G_N_ELEMENTS (shapes); i++)
      bench_shape (&shapes[i], batch, repeats);
    if (t == 0)
      bench_block (batch, repeats);
  }
  return 0;
}
