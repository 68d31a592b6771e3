/* bench_layers — GFLOP/s of the conv kernels on the ImageNet_CNN shapes.
 *
 *   build-x/bench/bench_layers [batch] [repeats per round]
 *
 * Counts 2·cout·cin·9·h·w·batch flops per product (forward; the weight
 * gradient; the input gradient), as is usual; im2col, reorders and bias are
 * overhead inside the measured time. Runs with 1 OpenBLAS thread and with
 * the default number. */
#include <cblas.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>

#include "mm-layers.h"
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
  }
  return 0;
}
