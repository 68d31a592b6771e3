/* Stacked LSTM: forward values, back-propagation through time, the
 * overwrite convention for gradients and the batch-first layout. */
#include <math.h>
#include <string.h>

#include "mm-lstm.h"
#include "mm-test-util.h"

/* An LSTM with its own flat parameter / gradient blocks, inputs and a fixed
 * random projection @r, so that loss = Σ h ⊙ r and d(loss)/d(h) = r. */
typedef struct {
  MmLstm lstm;
  int batch, steps, in, out;
  float *params, *grads;
  size_t n_params;
  float *x, *dx, *h, *r, *ws;
} Fixture;

static float *
view (float *block, size_t *off, size_t n)
{
  float *p = block + *off;
  *off += n;
  return p;
}

/* @sizes: input width, then the hidden size of each of @n_layers layers. */
static Fixture *
fixture_new (int n_layers, const int *sizes, int batch, int steps)
{
  Fixture *f = g_new0 (Fixture, 1);
  size_t off = 0, goff = 0;

  f->lstm.n_layers = n_layers;
  f->batch = batch;
  f->steps = steps;
  f->in = sizes[0];
  f->out = sizes[n_layers];
  for (int k = 0; k < n_layers; k++) {
    int in = sizes[k], hd = sizes[k + 1];
    f->lstm.layer[k].in = in;
    f->lstm.layer[k].hidden = hd;
    f->n_params += (size_t) 4 * hd * (in + hd + 2);
  }
  f->params = g_new0 (float, f->n_params);
  f->grads = g_new0 (float, f->n_params);
  for (int k = 0; k < n_layers; k++) {
    MmLstmLayer *p = &f->lstm.layer[k];
    size_t g4 = (size_t) 4 * p->hidden;
    p->w_ih = view (f->params, &off, g4 * p->in);
    p->w_hh = view (f->params, &off, g4 * p->hidden);
    p->b_ih = view (f->params, &off, g4);
    p->b_hh = view (f->params, &off, g4);
    p->dw_ih = view (f->grads, &goff, g4 * p->in);
    p->dw_hh = view (f->grads, &goff, g4 * p->hidden);
    p->db_ih = view (f->grads, &goff, g4);
    p->db_hh = view (f->grads, &goff, g4);
  }
  f->x = g_new0 (float, (size_t) batch * steps * f->in);
  f->dx = g_new0 (float, (size_t) batch * steps * f->in);
  f->h = g_new0 (float, (size_t) batch * steps * f->out);
  f->r = g_new0 (float, (size_t) batch * steps * f->out);
  f->ws = g_new0 (float, mm_lstm_workspace_size (&f->lstm, batch, steps));
  return f;
}

static void
fixture_free (Fixture *f)
{
  g_free (f->params);
  g_free (f->grads);
  g_free (f->x);
  g_free (f->dx);
  g_free (f->h);
  g_free (f->r);
  g_free (f->ws);
  g_free (f);
}

/* Random weights somewhat beyond PyTorch's U(±1/√H) so the gates leave
 * their linear range; random inputs; r non-zero at every step or, as our
 * classifiers use it, only at the last one. */
static void
fixture_randomize (Fixture *f, gboolean last_step_only)
{
  size_t nx = (size_t) f->batch * f->steps * f->in;

  mm_test_fill_uniform (f->params, f->n_params, -0.8f, 0.8f, 11);
  mm_test_fill_uniform (f->x, nx, -1.0f, 1.0f, 12);
  mm_test_fill_uniform (f->r, (size_t) f->batch * f->steps * f->out,
      -1.0f, 1.0f, 13);
  if (last_step_only)
    for (int n = 0; n < f->batch; n++)
      memset (f->r + (size_t) n * f->steps * f->out, 0,
          sizeof (float) * (f->steps - 1) * f->out);
}

static double
fixture_loss (gpointer user_data)
{
  Fixture *f = user_data;
  size_t n = (size_t) f->batch * f->steps * f->out;
  double loss = 0;

  mm_lstm_forward (&f->lstm, f->batch, f->steps, f->x, f->h, f->ws);
  for (size_t i = 0; i < n; i++)
    loss += (double) f->h[i] * f->r[i];
  return loss;
}

static void
fixture_backward (Fixture *f, float *dx)
{
  fixture_loss (f);
  mm_lstm_backward (&f->lstm, f->batch, f->steps, f->x, f->r, dx, f->ws);
}

/* Checks dx and every parameter gradient of every layer. */
static void
check_all_gradients (Fixture *f)
{
  const double step = 1e-2, atol = 1e-4, rtol = 2e-3;
  char what[64];

  fixture_backward (f, f->dx);
  mm_test_grad_check ("dx", f->x, f->dx,
      (size_t) f->batch * f->steps * f->in, fixture_loss, f,
      step, atol, rtol, 1000);
  for (int k = 0; k < f->lstm.n_layers; k++) {
    MmLstmLayer *p = &f->lstm.layer[k];
    size_t g4 = (size_t) 4 * p->hidden;
    g_snprintf (what, sizeof what, "weight_ih_l%d", k);
    mm_test_grad_check (what, p->w_ih, p->dw_ih, g4 * p->in, fixture_loss, f,
        step, atol, rtol, 1000);
    g_snprintf (what, sizeof what, "weight_hh_l%d", k);
    mm_test_grad_check (what, p->w_hh, p->dw_hh, g4 * p->hidden,
        fixture_loss, f, step, atol, rtol, 1000);
    g_snprintf (what, sizeof what, "bias_ih_l%d", k);
    mm_test_grad_check (what, p->b_ih, p->db_ih, g4, fixture_loss, f,
        step, atol, rtol, 1000);
    g_snprintf (what, sizeof what, "bias_hh_l%d", k);
    mm_test_grad_check (what, p->b_hh, p->db_hh, g4, fixture_loss, f,
        step, atol, rtol, 1000);
  }
  fixture_free (f);
}

static const int small_sizes[] = { 5, 4, 4 };

START_TEST (test_lstm_backward_matches_finite_differences)
{
  Fixture *f = fixture_new (2, small_sizes, 3, 6);
  fixture_randomize (f, FALSE);
  check_all_gradients (f);
}
END_TEST

START_TEST (test_lstm_backward_matches_finite_differences_with_last_step_only)
{
  Fixture *f = fixture_new (2, small_sizes, 3, 6);
  fixture_randomize (f, TRUE);
  check_all_gradients (f);
}
END_TEST

/* Three layers of different widths: exercises the workspace layout and the
 * gradient hand-down between layers beyond the two our networks use. */
START_TEST (test_lstm_backward_matches_finite_differences_three_uneven_layers)
{
  static const int sizes[] = { 3, 5, 2, 4 };
  Fixture *f = fixture_new (3, sizes, 2, 5);
  fixture_randomize (f, FALSE);
  check_all_gradients (f);
}
END_TEST

/* One sample through three layers: the forward runs as a wavefront (layer k
 * one step behind layer k−1, on two threads where there are two) and
 * backward must see the same caches as after a batched forward. */
START_TEST (test_lstm_backward_matches_finite_differences_one_sample_wavefront)
{
  static const int sizes[] = { 3, 5, 2, 4 };
  Fixture *f = fixture_new (3, sizes, 1, 6);
  fixture_randomize (f, FALSE);
  check_all_gradients (f);
}
END_TEST

/* One unit, zero weights: the pre-activations are the bias sums, chosen so
 * that every gate has a distinct known value, i = σ(0) = 1/2,
 * f = σ(ln 3) = 3/4, g = tanh(ln 3) = 4/5, o = σ(−ln 3) = 1/4. Then
 * c_t = 3/4·c_{t−1} + 2/5 (c = 0.4, 0.7, 0.925, …) and h_t = tanh(c_t)/4.
 * A wrong gate order or a forgotten bias changes these. */
START_TEST (test_lstm_forward_matches_hand_computed_gates)
{
  static const int sizes[] = { 1, 1 };
  const float ln3 = logf (3.0f);
  Fixture *f = fixture_new (1, sizes, 1, 4);
  MmLstmLayer *p = &f->lstm.layer[0];
  const float b_ih[4] = { 1.0f, 2.0f * ln3, 0.5f, -2.0f };
  const float b_hh[4] = { -1.0f, -ln3, ln3 - 0.5f, 2.0f - ln3 };
  double c = 0;

  memcpy (p->b_ih, b_ih, sizeof b_ih);
  memcpy (p->b_hh, b_hh, sizeof b_hh);
  for (int t = 0; t < 4; t++)
    f->x[t] = 0.3f * (t + 1);      /* ignored: W_ih = 0 */
  fixture_loss (f);
  for (int t = 0; t < 4; t++) {
    c = 0.75 * c + 0.4;
    ck_assert_double_eq_tol (f->h[t], 0.25 * tanh (c), 1e-6);
  }
  ck_assert_double_eq_tol (f->h[0], 0.25 * tanh (0.4), 1e-6);
  ck_assert_double_eq_tol (f->h[2], 0.25 * tanh (0.925), 1e-6);
  fixture_free (f);
}
END_TEST

/* Batch first: running the samples one by one gives the same outputs as
 * running them as a batch. */
START_TEST (test_lstm_forward_batch_equals_samples_one_by_one)
{
  const int batch = 4, steps = 7;
  Fixture *f = fixture_new (2, small_sizes, batch, steps);
  Fixture *one = fixture_new (2, small_sizes, 1, steps);
  size_t nx = (size_t) steps * f->in, nh = (size_t) steps * f->out;

  fixture_randomize (f, FALSE);
  memcpy (one->params, f->params, sizeof (float) * f->n_params);
  fixture_loss (f);
  for (int n = 0; n < batch; n++) {
    memcpy (one->x, f->x + n * nx, sizeof (float) * nx);
    fixture_loss (one);
    for (size_t i = 0; i < nh; i++)
      ck_assert_float_eq_tol (one->h[i], f->h[n * nh + i], 1e-6f);
  }
  fixture_free (f);
  fixture_free (one);
}
END_TEST

/* Backward overwrites the parameter gradients (garbage or a previous
 * batch's values do not leak in) and dx = NULL changes nothing else. */
START_TEST (test_lstm_backward_overwrites_gradients)
{
  Fixture *f = fixture_new (2, small_sizes, 3, 6);
  float *first = g_new (float, f->n_params);

  fixture_randomize (f, FALSE);
  fixture_backward (f, f->dx);
  memcpy (first, f->grads, sizeof (float) * f->n_params);
  for (size_t i = 0; i < f->n_params; i++)
    f->grads[i] = NAN;
  fixture_backward (f, NULL);
  for (size_t i = 0; i < f->n_params; i++)
    ck_assert_float_eq_tol (f->grads[i], first[i], 1e-7f);
  fixture_backward (f, f->dx);
  for (size_t i = 0; i < f->n_params; i++)
    ck_assert_float_eq_tol (f->grads[i], first[i], 1e-7f);
  g_free (first);
  fixture_free (f);
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("lstm");
  TCase *tc = tcase_create ("lstm");
  tcase_add_test (tc, test_lstm_backward_matches_finite_differences);
  tcase_add_test (tc,
      test_lstm_backward_matches_finite_differences_with_last_step_only);
  tcase_add_test (tc,
      test_lstm_backward_matches_finite_differences_three_uneven_layers);
  tcase_add_test (tc,
      test_lstm_backward_matches_finite_differences_one_sample_wavefront);
  tcase_add_test (tc, test_lstm_forward_matches_hand_computed_gates);
  tcase_add_test (tc, test_lstm_forward_batch_equals_samples_one_by_one);
  tcase_add_test (tc, test_lstm_backward_overwrites_gradients);
  suite_add_tcase (s, tc);
  return mm_test_run_suite (s);
}
