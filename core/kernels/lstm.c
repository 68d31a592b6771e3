/* mmdigits — stacked LSTM, batch first, PyTorch semantics.
 *
 * Per layer and step (gate order i, f, g, o as in PyTorch):
 *   a  = x_t·W_ihᵀ + b_ih + h_{t-1}·W_hhᵀ + b_hh          [4H]
 *   i = σ(a_i), f = σ(a_f), g = tanh(a_g), o = σ(a_o)
 *   c_t = f⊙c_{t-1} + i⊙g,  h_t = o⊙tanh(c_t),  h_{-1} = c_{-1} = 0
 *
 * Speed: the input projection of every step of a layer is one GEMM
 * ([batch·steps × in]·[in × 4H]); only the recurrent product h_{t-1}·W_hhᵀ
 * runs per step. Everything stays batch first, [batch][steps][…], so the
 * per-step products are strided GEMMs (lda/ldc = steps·width) and no
 * transposition of the input or the output is needed. Backward mirrors
 * this: dW_ih, dW_hh, dx are each one GEMM over all steps.
 *
 * Workspace layout (floats; N = batch, T = steps, H_k = hidden of layer k,
 * G_k = 4·H_k, Hm = max H_k, Gm = 4·Hm). Cache written by forward, for each
 * layer k in order:
 *   gates_k [N][T][G_k]  activated gates i, f, g, o (after σ / tanh)
 *   c_k     [N][T][H_k]  cell states
 *   tc_k    [N][T][H_k]  tanh(c), so backward needs no transcendental
 *   h_k     [N][T][H_k]  hidden states (input of layer k+1; last one is
 *                        copied to the caller's output)
 * followed by backward scratch, sized for the widest layer and used
 * densely with the current layer's widths:
 *   dgates  [N][T][G_k]  d(loss)/d(pre-activation gates) of layer k
 *   hprev   [N][T][H_k]  h_k shifted one step later (zeros at t = 0), so
 *                        dW_hh is a single GEMM
 *   dup_a   [N][T][Hm]   d(loss)/d(h_k) handed down from layer k+1
 *                        (only with ≥ 2 layers)
 *   dup_b   [N][T][Hm]   (ping-pong with dup_a; only with ≥ 3 layers)
 *   dh      [N][H_k]     d(loss)/d(h_t) of the current step
 *   dc      [N][H_k]     d(loss)/d(c_t) carried backwards through time
 */
#include "mm-lstm.h"
#include "mm-parallel.h"
#include "mm-simd.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

typedef struct {
  float *gates, *c, *tc, *h;
} LayerCache;

typedef struct {
  LayerCache layer[MM_LSTM_MAX_LAYERS];
  float *dgates, *hprev, *dup_a, *dup_b, *dh, *dc;
} Workspace;

static int
max_hidden (const MmLstm *l)
{
  int hm = 0;
  for (int k = 0; k < l->n_layers; k++)
    hm = MAX (hm, l->layer[k].hidden);
  return hm;
}

/* Next @count floats of @ws at *@off (NULL when only measuring). */
static float *
take (float *ws, size_t *off, size_t count)
{
  float *p = ws ? ws + *off : NULL;
  *off += count;
  return p;
}

/* Carves @ws into the documented layout (any @ws, even NULL, to measure);
 * returns the floats it spans. */
static size_t
workspace_map (const MmLstm *l, int batch, int steps, float *ws, Workspace *w)
{
  size_t nt = (size_t) batch * steps, off = 0;
  size_t hm = (size_t) max_hidden (l);

  for (int k = 0; k < l->n_layers; k++) {
    size_t hk = (size_t) l->layer[k].hidden;
    LayerCache *lc = &w->layer[k];
    lc->gates = take (ws, &off, nt * 4 * hk);
    lc->c = take (ws, &off, nt * hk);
    lc->tc = take (ws, &off, nt * hk);
    lc->h = take (ws, &off, nt * hk);
  }
  w->dgates = take (ws, &off, nt * 4 * hm);
  w->hprev = take (ws, &off, nt * hm);
  w->dup_a = take (ws, &off, l->n_layers > 1 ? nt * hm : 0);
  w->dup_b = take (ws, &off, l->n_layers > 2 ? nt * hm : 0);
  w->dh = take (ws, &off, (size_t) batch * hm);
  w->dc = take (ws, &off, (size_t) batch * hm);
  return off;
}

size_t
mm_lstm_workspace_size (const MmLstm *l, int batch, int steps)
{
  Workspace w;
  return workspace_map (l, batch, steps, NULL, &w);
}

/* The gate nonlinearities run on 16-lane vectors (mm-simd.h): libm's
 * expf / tanhf (the latter via expm1f) took half of the whole
 * forward+backward time.
 *
 * e^x, branch-free: x = n·ln2 + r with |r| ≤ ln2/2, e^r by Cephes' expf
 * polynomial (within 2 ulp of expf), 2^n built in the exponent bits. x is
 * clamped to [-87, 88], where 2^n stays a normal float and 1 + e^x cannot
 * overflow. */
MM_VF_INLINE MmVF
vf_exp (MmVF x)
{
  const float round_magic = 12582912.0f;  /* 1.5·2^23: rounds to integer */
  MmVF n, r, y;

  x = mm_vf_select (x < -87.0f, MM_VF_SET (-87.0f), x);
  x = mm_vf_select (x > 88.0f, MM_VF_SET (88.0f), x);
  n = (x * 1.44269504088896341f + round_magic) - round_magic;
  r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  y = MM_VF_SET (1.9875691500e-4f);
  y = y * r + 1.3981999507e-3f;
  y = y * r + 8.3334519073e-3f;
  y = y * r + 4.1665795894e-2f;
  y = y * r + 1.6666665459e-1f;
  y = y * r + 5.0000001201e-1f;
  y = y * r * r + r + 1.0f;
  return y * (MmVF) ((__builtin_convertvector (n, MmVFi) + 127) << 23);
}

MM_VF_INLINE MmVF
vf_sigmoid (MmVF x)
{
  return 1.0f / (1.0f + vf_exp (-x));
}

/* Through e^(−2|x|) ≤ 1: nothing overflows, and near 0 the absolute error
 * stays at float rounding. */
MM_VF_INLINE MmVF
vf_tanh (MmVF x)
{
  MmVFi sign = (MmVFi) x & G_MININT32;
  MmVF e = vf_exp (-2.0f * (MmVF) ((MmVFi) x & G_MAXINT32));
  return (MmVF) ((MmVFi) ((1.0f - e) / (1.0f + e)) | sign);
}

/* Gates of step @t from their pre-activations (in place), then c_t and h_t. */
MM_VECTOR_CLONES static void
forward_pointwise (const MmLstmLayer *p, int batch, int steps, int t,
    const LayerCache *lc)
{
  int hd = p->hidden;

  for (int n = 0; n < batch; n++) {
    size_t row = (size_t) n * steps + t;
    float *a = lc->gates + row * 4 * hd;
    float *c = lc->c + row * hd, *tc = lc->tc + row * hd, *h = lc->h + row * hd;
    const float *cp = t > 0 ? c - hd : NULL;

    for (int j = 0; j < hd; j += MM_VW) {
      int m = MIN (MM_VW, hd - j);
      MmVF i = vf_sigmoid (mm_vf_load_n (a + j, m));
      MmVF f = vf_sigmoid (mm_vf_load_n (a + hd + j, m));
      MmVF g = vf_tanh (mm_vf_load_n (a + 2 * hd + j, m));
      MmVF o = vf_sigmoid (mm_vf_load_n (a + 3 * hd + j, m));
      MmVF cv = i * g, tcv;
      if (cp)
        cv += f * mm_vf_load_n (cp + j, m);
      tcv = vf_tanh (cv);
      mm_vf_store_n (a + j, i, m);
      mm_vf_store_n (a + hd + j, f, m);
      mm_vf_store_n (a + 2 * hd + j, g, m);
      mm_vf_store_n (a + 3 * hd + j, o, m);
      mm_vf_store_n (c + j, cv, m);
      mm_vf_store_n (tc + j, tcv, m);
      mm_vf_store_n (h + j, o * tcv, m);
    }
  }
}

/* a[i] = b_ih[i] + b_hh[i] for the gate rows [r0, r1) of one step */
static inline void
set_biases (const MmLstmLayer *p, float *a, int r0, int r1)
{
  for (int i = r0; i < r1; i++)
    a[i] = p->b_ih[i] + p->b_hh[i];
}

/* gates[r] = b_ih + b_hh + W_ih·x[r] for the @nt rows of x [nt][in]: the
 * biases first, then the input projection of all rows as one GEMM. */
static void
input_projection (const MmLstmLayer *p, size_t nt, const float *x, float *gates)
{
  int in = p->in, g4 = 4 * p->hidden;

  for (size_t r = 0; r < nt; r++)
    set_biases (p, gates + r * g4, 0, g4);
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, (int) nt, g4, in,
      1.0f, x, in, p->w_ih, in, 1.0f, gates, g4);
}

/* One sample: gates[t] += W_hh·h[t−1] */
static void
recurrent_product (const MmLstmLayer *p, const LayerCache *lc, int t)
{
  int hd = p->hidden;

  cblas_sgemv (CblasRowMajor, CblasNoTrans, 4 * hd, hd, 1.0f, p->w_hh, hd,
      lc->h + (size_t) (t - 1) * hd, 1, 1.0f, lc->gates + (size_t) t * 4 * hd, 1);
}

static void
layer_forward (const MmLstmLayer *p, int batch, int steps, const float *x,
    const LayerCache *lc)
{
  int hd = p->hidden, g4 = 4 * hd;
  size_t nt = (size_t) batch * steps;

  input_projection (p, nt, x, lc->gates);
  for (int t = 0; t < steps; t++) {
    if (t > 0 && batch == 1)
      recurrent_product (p, lc, t);
    else if (t > 0)
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, batch, g4, hd,
          1.0f, lc->h + (size_t) (t - 1) * hd, steps * hd, p->w_hh, hd,
          1.0f, lc->gates + (size_t) t * g4, steps * g4);
    forward_pointwise (p, batch, steps, t, lc);
  }
}

/* ---- one sample through several layers: a wavefront ----
 *
 * At batch 1 a layer's recurrence is a chain of small matrix-vector
 * products that no split of one product speeds up, but layer k can run
 * step t while layer k−1 runs step t+1. So layer k is task k of one job and
 * follows layer k−1 one step behind, through ready[k] (steps done).
 * Layer k ≥ 1 projects its input step by step, as it arrives (layer 0's
 * input is all there: one GEMM). That projection is shared out: layer k−1
 * computes its first half of the gate rows right after h_{k−1}[t], layer k
 * the other half, so that each task has one and a half matrix-vector
 * products per step instead of one and two (AudioNet_LSTM batch-1 latency
 * 0.096 → 0.082 ms on two threads).
 * Tasks are claimed in order and a layer only waits for the one below, so
 * with one thread (or a busy pool) the layers simply run one after the
 * other, with the same floats. */
typedef struct {
  const MmLstm *l;
  int steps;
  const float *x;
  Workspace w;
  int *ready;           /* ready[k · READY_STRIDE]: one cache line per layer */
} WavefrontJob;

#define READY_STRIDE 16

/* gate rows [r0, r1) of step @t of layer @k: bias + W_ih·h_{k−1}[t] */
static void
project_step (const MmLstm *l, const Workspace *w, int k, int t, int r0, int r1)
{
  const MmLstmLayer *p = &l->layer[k];
  int in = p->in;
  float *a = w->layer[k].gates + (size_t) t * 4 * p->hidden;

  set_biases (p, a, r0, r1);
  cblas_sgemv (CblasRowMajor, CblasNoTrans, r1 - r0, in, 1.0f,
      p->w_ih + (size_t) r0 * in, in, w->layer[k - 1].h + (size_t) t * in, 1,
      1.0f, a + r0, 1);
}

static void
wavefront_task (gpointer data, int k)
{
  const WavefrontJob *j = data;
  const MmLstmLayer *p = &j->l->layer[k];
  const LayerCache *lc = &j->w.layer[k];
  gboolean above = k + 1 < j->l->n_layers;
  int half = 2 * p->hidden, half_above = above ? 2 * j->l->layer[k + 1].hidden : 0;

  if (k == 0)
    input_projection (p, (size_t) j->steps, j->x, lc->gates);
  for (int t = 0; t < j->steps; t++) {
    if (k > 0) {
      mm_parallel_wait_for (&j->ready[(k - 1) * READY_STRIDE], t + 1);
      project_step (j->l, &j->w, k, t, half, 2 * half);
    }
    if (t > 0)
      recurrent_product (p, lc, t);
    forward_pointwise (p, 1, j->steps, t, lc);
    if (above)
      project_step (j->l, &j->w, k + 1, t, 0, half_above);
    __atomic_store_n (&j->ready[k * READY_STRIDE], t + 1, __ATOMIC_RELEASE);
  }
}

/* Parallelism: samples are independent through the whole recurrence, so
 * the batch is cut into blocks of contiguous samples (from the sizes only)
 * that run the forward, and the backward through time, as parallel tasks;
 * the weight gradients, sums over every sample, are products cut along the
 * gate rows. */
#define LSTM_MIN_TASK_MACS 4.0e6
#define LSTM_MAX_TASKS 4

static int
lstm_blocks (const MmLstm *l, int batch, int steps, int *per)
{
  double macs = 0;
  int n;

  for (int k = 0; k < l->n_layers; k++)
    macs += (double) batch * steps * 4 * l->layer[k].hidden
        * (l->layer[k].in + l->layer[k].hidden);
  n = MIN (batch, mm_parallel_tasks (macs, LSTM_MIN_TASK_MACS, LSTM_MAX_TASKS));
  *per = (batch + n - 1) / n;
  return (batch + *per - 1) / *per;
}

/* The forward caches of samples [b0, …) as a workspace of their own:
 * every cache is [batch][steps][…], so that is an offset. */
static void
workspace_offset (const MmLstm *l, const Workspace *w, int b0, int steps,
    Workspace *o)
{
  size_t r = (size_t) b0 * steps;

  *o = *w;
  for (int k = 0; k < l->n_layers; k++) {
    size_t hk = (size_t) l->layer[k].hidden;
    o->layer[k].gates = w->layer[k].gates + r * 4 * hk;
    o->layer[k].c = w->layer[k].c + r * hk;
    o->layer[k].tc = w->layer[k].tc + r * hk;
    o->layer[k].h = w->layer[k].h + r * hk;
  }
}

typedef struct {
  const MmLstm *l;
  int batch, steps, per, k;
  const float *x, *dup;
  float *h, *dx;
  Workspace w;
} LstmJob;

static void
forward_task (gpointer data, int task)
{
  const LstmJob *j = data;
  int b0 = task * j->per, nb = MIN (j->per, j->batch - b0);
  const float *in = j->x + (size_t) b0 * j->steps * j->l->layer[0].in;
  Workspace o;

  workspace_offset (j->l, &j->w, b0, j->steps, &o);
  for (int k = 0; k < j->l->n_layers; k++) {
    layer_forward (&j->l->layer[k], nb, j->steps, in, &o.layer[k]);
    in = o.layer[k].h;
  }
}

static void
lstm_forward (const MmLstm *l, int batch, int steps, const float *x, float *h,
    float *ws, gboolean wavefront)
{
  LstmJob j = { .l = l, .batch = batch, .steps = steps, .x = x, .h = h };
  const MmLstmLayer *top = &l->layer[l->n_layers - 1];
  int n;

  if (batch <= 0 || steps <= 0)
    return;
  workspace_map (l, batch, steps, ws, &j.w);
  if (wavefront && batch == 1 && l->n_layers > 1) {
    int ready[MM_LSTM_MAX_LAYERS * READY_STRIDE] __attribute__ ((aligned (64))) = { 0 };
    WavefrontJob wj = { l, steps, x, j.w, ready };
    mm_parallel_for (l->n_layers, wavefront_task, &wj);
  } else {
    n = lstm_blocks (l, batch, steps, &j.per);
    mm_parallel_for (n, forward_task, &j);
  }
  memcpy (h, j.w.layer[l->n_layers - 1].h,
      sizeof (float) * batch * steps * top->hidden);
}

void
mm_lstm_forward (const MmLstm *l, int batch, int steps, const float *x,
    float *h, float *ws)
{
  lstm_forward (l, batch, steps, x, h, ws, TRUE);
}

void
mm_lstm_forward_in_turn (const MmLstm *l, int batch, int steps, const float *x,
    float *h, float *ws)
{
  lstm_forward (l, batch, steps, x, h, ws, FALSE);
}

/* d(loss)/d(pre-activation gates) of step @t from w->dh (this step's
 * d(loss)/d(h_t)) and w->dc (d(loss)/d(c_t) via c_{t+1}), which is updated
 * to d(loss)/d(c_{t-1}). */
MM_VECTOR_CLONES static void
backward_pointwise (const MmLstmLayer *p, int batch, int steps, int t,
    const LayerCache *lc, const Workspace *w)
{
  int hd = p->hidden;

  for (int n = 0; n < batch; n++) {
    size_t row = (size_t) n * steps + t;
    const float *a = lc->gates + row * 4 * hd;
    const float *tc = lc->tc + row * hd;
    const float *cp = t > 0 ? lc->c + (row - 1) * hd : NULL;
    const float *dh = w->dh + (size_t) n * hd;
    float *dc = w->dc + (size_t) n * hd;
    float *da = w->dgates + row * 4 * hd;

    for (int j = 0; j < hd; j += MM_VW) {
      int m = MIN (MM_VW, hd - j);
      MmVF i = mm_vf_load_n (a + j, m), f = mm_vf_load_n (a + hd + j, m);
      MmVF g = mm_vf_load_n (a + 2 * hd + j, m), o = mm_vf_load_n (a + 3 * hd + j, m);
      MmVF tcv = mm_vf_load_n (tc + j, m), dhv = mm_vf_load_n (dh + j, m);
      MmVF cpv = cp ? mm_vf_load_n (cp + j, m) : MM_VF_SET (0.0f);
      MmVF dcv = mm_vf_load_n (dc + j, m) + dhv * o * (1.0f - tcv * tcv);
      mm_vf_store_n (da + j, dcv * g * i * (1.0f - i), m);
      mm_vf_store_n (da + hd + j, dcv * cpv * f * (1.0f - f), m);
      mm_vf_store_n (da + 2 * hd + j, dcv * i * (1.0f - g * g), m);
      mm_vf_store_n (da + 3 * hd + j, dhv * tcv * o * (1.0f - o), m);
      mm_vf_store_n (dc + j, dcv * f, m);
    }
  }
}

/* Back-propagation through time of layer j->k for the samples of @task:
 * their dgates, their rows of hprev and of dx. */
static void
backward_block_task (gpointer data, int task)
{
  const LstmJob *j = data;
  const MmLstmLayer *p = &j->l->layer[j->k];
  int steps = j->steps, in = p->in, hd = p->hidden, g4 = 4 * hd;
  int b0 = task * j->per, batch = MIN (j->per, j->batch - b0);
  size_t r0 = (size_t) b0 * steps;
  const float *dup = j->dup + r0 * hd;
  LayerCache lc;
  Workspace w = j->w;

  lc.gates = j->w.layer[j->k].gates + r0 * g4;
  lc.c = j->w.layer[j->k].c + r0 * hd;
  lc.tc = j->w.layer[j->k].tc + r0 * hd;
  lc.h = j->w.layer[j->k].h + r0 * hd;
  w.dgates += r0 * g4;
  w.hprev += r0 * hd;
  w.dh += (size_t) b0 * hd;
  w.dc += (size_t) b0 * hd;

  memset (w.dc, 0, sizeof (float) * batch * hd);
  for (int t = steps - 1; t >= 0; t--) {
    for (int n = 0; n < batch; n++)
      memcpy (w.dh + (size_t) n * hd, dup + ((size_t) n * steps + t) * hd,
          sizeof (float) * hd);
    /* h_t also fed step t+1: add dgates_{t+1}·W_hh. */
    if (t < steps - 1)
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, hd, g4,
          1.0f, w.dgates + (size_t) (t + 1) * g4, steps * g4, p->w_hh, hd,
          1.0f, w.dh, hd);
    backward_pointwise (p, batch, steps, t, &lc, &w);
  }

  /* h shifted by one step, so that dW_hh is a single GEMM */
  for (int n = 0; n < batch; n++) {
    float *dst = w.hprev + (size_t) n * steps * hd;
    memset (dst, 0, sizeof (float) * hd);
    memcpy (dst + hd, lc.h + (size_t) n * steps * hd,
        sizeof (float) * (steps - 1) * hd);
  }
  if (j->dx)
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans,
        batch * steps, in, g4, 1.0f, w.dgates, g4, p->w_ih, in, 0.0f,
        j->dx + r0 * in, in);
}

/* Rows [16·task, …) of dW_ih = dgatesᵀ·x and dW_hh = dgatesᵀ·h_{t-1}, and
 * the same rows of the bias gradient (both biases see the sum of dgates). */
static void
weights_task (gpointer data, int task)
{
  const LstmJob *j = data;
  const MmLstmLayer *p = &j->l->layer[j->k];
  int in = p->in, hd = p->hidden, g4 = 4 * hd;
  int rows = (g4 + j->per - 1) / j->per;   /* here per = tasks */
  int g0 = MIN (g4, task * rows), g1 = MIN (g4, g0 + rows);
  size_t nt = (size_t) j->batch * j->steps;

  if (g1 <= g0)
    return;
  cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, g1 - g0, in, (int) nt,
      1.0f, j->w.dgates + g0, g4, j->x, in, 0.0f, p->dw_ih + (size_t) g0 * in, in);
  cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, g1 - g0, hd, (int) nt,
      1.0f, j->w.dgates + g0, g4, j->w.hprev, hd, 0.0f,
      p->dw_hh + (size_t) g0 * hd, hd);
  memset (p->db_ih + g0, 0, sizeof (float) * (g1 - g0));
  for (size_t r = 0; r < nt; r++) {
    const float *da = j->w.dgates + r * g4;
    for (int g = g0; g < g1; g++)
      p->db_ih[g] += da[g];
  }
  memcpy (p->db_hh + g0, p->db_ih + g0, sizeof (float) * (g1 - g0));
}

/* Back-propagates layer @k: @dup [N][T][H] is d(loss)/d(h) from above; @x
 * its forward input; writes the parameter gradients and, when @dx is not
 * NULL, d(loss)/d(x). */
static void
layer_backward (const MmLstm *l, int k, int batch, int steps, const float *x,
    const float *dup, float *dx, const Workspace *w)
{
  const MmLstmLayer *p = &l->layer[k];
  LstmJob j = { .l = l, .batch = batch, .steps = steps, .k = k, .x = x,
    .dup = dup, .dx = dx, .w = *w };
  int n = lstm_blocks (l, batch, steps, &j.per), nw;

  mm_parallel_for (n, backward_block_task, &j);
  /* the weight products: cut the 4H gate rows in blocks of 16 or more */
  nw = MIN (n, 4 * p->hidden / 16);
  j.per = MAX (nw, 1);
  mm_parallel_for (j.per, weights_task, &j);
}

void
mm_lstm_backward (const MmLstm *l, int batch, int steps, const float *x,
    const float *dh, float *dx, float *ws)
{
  Workspace w;
  const float *dup = dh;

  if (batch <= 0 || steps <= 0)
    return;
  workspace_map (l, batch, steps, ws, &w);
  for (int k = l->n_layers - 1; k >= 0; k--) {
    const float *in = k > 0 ? w.layer[k - 1].h : x;
    /* Layer k's dx is layer k-1's dup: alternate two buffers so that the
     * one being read is never the one being written. */
    float *down = k > 0 ? ((l->n_layers - 1 - k) % 2 ? w.dup_b : w.dup_a) : dx;
    layer_backward (l, k, batch, steps, in, dup, down, &w);
    dup = down;
  }
}
