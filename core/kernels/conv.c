/* Conv2d 3×3, padding 1, stride 1, as im2col + one GEMM per chunk of samples
 * (darknet's shape, but over several samples at once).
 *
 * Why chunks: one GEMM over the whole batch gives OpenBLAS a large N to split
 * across threads, but its im2col matrix (cin·9 × batch·h·w floats) falls out
 * of the caches and its output needs a reorder pass to NCHW. A chunk of a
 * few samples keeps the GEMM large enough to be efficient while the columns
 * stay in L2/L3; with one sample per chunk the GEMM writes NCHW directly.
 *
 * Layout of the column matrix of a chunk of @nb samples:
 *   col[k][n], k = ci·9 + ky·3 + kx (the order of w[co][ci][ky][kx]),
 *              n = s·h·w + oy·w + ox (sample s of the chunk),
 *   col[k][n] = x[s][ci][oy + ky − 1][ox + kx − 1], 0 outside the image.
 * Then y_chunk[co][n] = Σ_k w[co][k] · col[k][n]. Forward uses chunks of
 * one sample (see forward_task); backward the chunks below, where the
 * weight gradient wants long sums.
 *
 * A single input channel (the first layer) is the cheap case: its columns
 * are nine shifted copies of the image (K = 9), its backward also goes one
 * sample per GEMM (no reorder pass), and as the first layer's caller passes
 * dx = NULL, backward skips the input-gradient GEMM and col2im. */
#include <cblas.h>
#include <string.h>

#include "mm-conv.h"
#include "mm-parallel.h"

/* Columns (samples × pixels) per backward GEMM we aim for (forward goes
 * sample by sample, see forward_task): large enough for OpenBLAS
 * to amortise packing and split the product over two threads, small enough
 * that the columns stay cached (ImageNet_CNN conv2: 288 × 3136 floats).
 * Measured with bench/bench_layers on the ImageNet_CNN shapes at batch 32:
 * conv2 forward + backward on 2 threads 4.9 ms at 3136 (16 samples), 5.4 at
 * 784, 6.2 at one sample per GEMM, 5.6 for the whole batch at once; on one
 * thread all of these are within 3 % except the whole batch (+15–30 %). */
#define MM_CONV_TARGET_COLS 3136

/* Below this many multiply-adds a convolution runs as one task: waking a
 * worker costs tens of microseconds on a loaded machine. */
#define MM_CONV_MIN_TASK_MACS 2.0e6

/* How a single-sample forward is cut into bands of output rows: at most
 * this many, of at least this many multiply-adds (the pool's workers poll
 * between jobs, so a task costs about a microsecond to hand over). */
#define MM_CONV_MAX_BAND_TASKS 2
#define MM_CONV_MIN_BAND_TASK_MACS 0.5e6

/* How a batch is cut into tasks, from the sizes only (never the thread
 * count, so the sums of the weight gradient are the same on any machine).
 * A task owns nb samples (the last one fewer) and one slot of the
 * workspace. With cin > 1 a task is one GEMM over its nb samples; with
 * cin == 1 it runs one GEMM per sample, which writes NCHW directly. */
typedef struct {
  int nb, n;            /* samples per task, tasks */
  size_t slot;          /* floats of workspace per task */
} Split;

static Split
conv_split (const MmConv2d *l, int batch, int h, int w)
{
  size_t hw = (size_t) h * w, k = (size_t) l->cin * 9;
  double macs = (double) batch * hw * k * l->cout;
  int n;
  Split s;

  if (batch <= 0) {
    s.nb = 1;
    s.n = 0;
  } else {
    /* cin == 1: K = 9, the product is as cheap as a reorder pass, so one
     * sample per GEMM; the tasks only share the batch out. Otherwise aim
     * at MM_CONV_TARGET_COLS columns per GEMM (cached, large enough for an
     * efficient product), and at least two, an even number, of tasks when
     * there is work enough for two threads. */
    n = l->cin == 1 ? 1 : (int) ((batch * hw + MM_CONV_TARGET_COLS - 1) / MM_CONV_TARGET_COLS);
    n = MAX (n, mm_parallel_tasks (macs, MM_CONV_MIN_TASK_MACS, l->cin == 1 ? 8 : 2));
    if (n > 1)
      n += n & 1;
    n = MIN (n, batch);
    s.nb = (batch + n - 1) / n;
    s.n = (batch + s.nb - 1) / s.nb;
  }
  /* columns (reused for their gradient), the chunk's output / dy in
   * [cout][ncols] order (cin > 1), the task's part of dw */
  if (l->cin == 1)
    s.slot = hw * k + (size_t) l->cout * k;
  else
    s.slot = (size_t) s.nb * hw * (k + (size_t) l->cout) + (size_t) l->cout * k;
  return s;
}

size_t
mm_conv2d_workspace_size (const MmConv2d *l, int batch, int h, int w)
{
  Split s = conv_split (l, batch, h, w);
  return (size_t) MAX (s.n, 1) * s.slot;
}

/* Small loops written in blocks of 8 so that GCC's SLP vectoriser turns them
 * into vector code at -O2 (the loop vectoriser only runs at -O3). */
static inline void
fill (float *d, float v, size_t n)
{
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; j++)
      d[i + j] = v;
  for (; i < n; i++)
    d[i] = v;
}

static inline void
add_to (float *restrict d, const float *restrict s, size_t n)
{
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; j++)
      d[i + j] += s[i + j];
  for (; i < n; i++)
    d[i] += s[i];
}

static inline float
sum (const float *s, size_t n)
{
  float acc[8] = { 0 }, total = 0.0f;
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; j++)
      acc[j] += s[i + j];
  for (; i < n; i++)
    total += s[i];
  for (int j = 0; j < 8; j++)
    total += acc[j];
  return total;
}

/* A tap (ky, kx) reads input pixel p + off for output pixel p, off =
 * (ky − 1)·w + (kx − 1). Within the output rows [*p0/w, *p1/w) whose input
 * row exists, that is one flat shifted copy of the plane, except that the
 * first (kx = 0) or last (kx = 2) column wraps to the neighbouring row and
 * must be zero. The range is clipped so the copy never leaves the plane
 * (the clipped elements are such edge columns). */
static inline ptrdiff_t
tap_range (int h, int w, int ky, int kx, ptrdiff_t *p0, ptrdiff_t *p1)
{
  ptrdiff_t hw = (ptrdiff_t) h * w, off = (ptrdiff_t) (ky - 1) * w + (kx - 1);
  *p0 = ky == 0 ? w : 0;
  *p1 = ky == 2 ? hw - w : hw;
  if (*p0 + off < 0)
    *p0 = -off;
  if (*p1 + off > hw)
    *p1 = hw - off;
  /* one-row or one-column images: nothing of the tap is inside */
  if (*p1 < *p0)
    *p0 = *p1 = 0;
  return off;
}

/* The columns of output pixels [q0, q1) of one sample x [cin][h][w] (q0, q1
 * multiples of w: whole rows): col[k][p − q0] with row stride @ld. */
static void
im2col_band (int cin, int h, int w, const float *x, ptrdiff_t q0, ptrdiff_t q1,
             float *col, size_t ld)
{
  size_t hw = (size_t) h * w;

  for (int ci = 0; ci < cin; ci++) {
    const float *src = x + ci * hw;
    for (int t = 0; t < 9; t++) {
      int ky = t / 3, kx = t % 3;
      float *dst = col + ((size_t) ci * 9 + t) * ld - q0;
      ptrdiff_t p0, p1, off = tap_range (h, w, ky, kx, &p0, &p1);

      p0 = CLAMP (p0, q0, q1);
      p1 = CLAMP (p1, p0, q1);
      memset (dst + q0, 0, (size_t) (p0 - q0) * sizeof (float));
      memcpy (dst + p0, src + p0 + off, (size_t) (p1 - p0) * sizeof (float));
      memset (dst + p1, 0, (size_t) (q1 - p1) * sizeof (float));
      if (kx != 1)
        for (ptrdiff_t q = q0 + (kx == 0 ? 0 : w - 1); q < q1; q += w)
          dst[q] = 0.0f;
    }
  }
}

/* col[k][s·hw + p] for the nb samples of a chunk, as in the comment on top */
static void
im2col (int nb, int cin, int h, int w, const float *x, float *col)
{
  size_t hw = (size_t) h * w;

  for (int s = 0; s < nb; s++)
    im2col_band (cin, h, w, x + (size_t) s * cin * hw, 0, (ptrdiff_t) hw,
        col + s * hw, nb * hw);
}

/* Adjoint of im2col: dx (nb samples) = Σ over taps of the shifted dcol
 * planes. Overwrites dx; clobbers the wrapped edge entries of dcol. */
static void
col2im (int nb, int cin, int h, int w, float *dcol, float *dx)
{
  size_t hw = (size_t) h * w, ncols = nb * hw;

  for (int s = 0; s < nb; s++)
    for (int ci = 0; ci < cin; ci++) {
      float *dst = dx + ((size_t) s * cin + ci) * hw;
      memset (dst, 0, hw * sizeof (float));
      for (int t = 0; t < 9; t++) {
        int ky = t / 3, kx = t % 3;
        float *src = dcol + ((size_t) ci * 9 + t) * ncols + s * hw;
        ptrdiff_t p0, p1, off = tap_range (h, w, ky, kx, &p0, &p1);

        /* the wrapped column reads outside the image: no contribution */
        if (kx != 1)
          for (int oy = 0; oy < h; oy++)
            src[oy * w + (kx == 0 ? 0 : w - 1)] = 0.0f;
        add_to (dst + p0 + off, src + p0, (size_t) (p1 - p0));
      }
    }
}

typedef struct {
  const MmConv2d *l;
  int batch, h, w;
  Split sp;
  const float *x, *dy;
  float *y, *dx, *ws;
  double *db_part;      /* backward: [task][cout] partial sums of dy */
} ConvJob;

/* Forward goes one sample per GEMM, cin == 1 or not: [cout][hw] is then
 * NCHW already (no reorder pass, no staging buffer), the columns of a
 * sample stay in L2, and with no weight gradient to sum nothing gains from
 * one large product. Measured on ImageNet_CNN training (batch 32): 8 %
 * more samples/s than 16-sample GEMMs with a reorder, on 1 and 2 threads. */
static void
forward_task (gpointer data, int task)
{
  const ConvJob *j = data;
  const MmConv2d *l = j->l;
  size_t hw = (size_t) j->h * j->w, k = (size_t) l->cin * 9;
  int b0 = task * j->sp.nb, nb = MIN (j->sp.nb, j->batch - b0);
  float *col = j->ws + task * j->sp.slot;

  for (int s = b0; s < b0 + nb; s++) {
    float *ys = j->y + (size_t) s * l->cout * hw;
    im2col (1, l->cin, j->h, j->w, j->x + (size_t) s * l->cin * hw, col);
    /* start from the bias, add the product (bias + product rounds as
     * product + bias) */
    for (int co = 0; co < l->cout; co++)
      fill (ys + co * hw, l->b[co], hw);
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, l->cout,
        (int) hw, (int) k, 1.0f, l->w, (int) k, col, (int) hw,
        1.0f, ys, (int) hw);
  }
}

/* One sample (batch-1 inference, the latency case): the output rows are
 * cut into bands, and each task builds the columns of its band and
 * multiplies them, so both cores work on one image. Why rows and not
 * output channels: with a channel cut every task reads the one column
 * matrix, which then moves between the cores' caches on every call and
 * costs more than the product gains. Each output is still one dot product
 * over the same k, but the GEMM shapes differ from the batch path's, and
 * OpenBLAS may block k differently for them (its Haswell and Zen kernels
 * do): a sample alone and in a batch agree to float rounding, not to the
 * bit. The band cut depends on sizes only, so one shape always gives the
 * same floats on one machine. */
static int
single_sample_tasks (const MmConv2d *l, int h, int w)
{
  double macs = (double) h * w * l->cin * 9 * l->cout;
  return MIN (h, mm_parallel_tasks (macs, MM_CONV_MIN_BAND_TASK_MACS,
          MM_CONV_MAX_BAND_TASKS));
}

static void
band_task (gpointer data, int task)
{
  const ConvJob *j = data;
  const MmConv2d *l = j->l;
  ptrdiff_t w = j->w, hw = (ptrdiff_t) j->h * w, k = (ptrdiff_t) l->cin * 9;
  ptrdiff_t q0 = (ptrdiff_t) j->h * task / j->sp.n * w;
  ptrdiff_t q1 = (ptrdiff_t) j->h * (task + 1) / j->sp.n * w, n = q1 - q0;
  /* the bands' columns tile one sample's (q0·k floats precede this one) */
  float *col = j->ws + q0 * k;

  if (n <= 0)
    return;
  im2col_band (l->cin, j->h, j->w, j->x, q0, q1, col, (size_t) n);
  for (int co = 0; co < l->cout; co++)
    fill (j->y + co * hw + q0, l->b[co], (size_t) n);
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, l->cout, (int) n, (int) k,
      1.0f, l->w, (int) k, col, (int) n, 1.0f, j->y + q0, (int) hw);
}

void
mm_conv2d_forward (const MmConv2d *l, int batch, int h, int w,
                   const float *x, float *y, float *ws)
{
  ConvJob j = { .l = l, .batch = batch, .h = h, .w = w, .x = x, .y = y, .ws = ws };
  int bands = batch == 1 && l->cin > 1 ? single_sample_tasks (l, h, w) : 1;

  if (bands > 1) {
    j.sp.n = bands;
    mm_parallel_for (bands, band_task, &j);
    return;
  }
  j.sp = conv_split (l, batch, h, w);
  mm_parallel_for (j.sp.n, forward_task, &j);
}

/* The task's dw part (into l->dw directly when there is one task) and its
 * samples' dx. */
static void
backward_task (gpointer data, int task)
{
  const ConvJob *j = data;
  const MmConv2d *l = j->l;
  size_t hw = (size_t) j->h * j->w, k = (size_t) l->cin * 9;
  int b0 = task * j->sp.nb, nb = MIN (j->sp.nb, j->batch - b0);
  float *col = j->ws + task * j->sp.slot;
  float *dwp = j->sp.n == 1 ? l->dw : col + j->sp.slot - (size_t) l->cout * k;
  double *dbp = j->db_part + (size_t) task * l->cout;

  /* the task's part of db (in the task, not serially after: the pass over
   * dy is as long as a small kernel) */
  for (int s = b0; s < b0 + nb; s++)
    for (int co = 0; co < l->cout; co++)
      dbp[co] += sum (j->dy + ((size_t) s * l->cout + co) * hw, hw);

  if (l->cin == 1) {
    /* dw (+)= dy_s · col_sᵀ sample by sample; dx of the first layer is
     * never asked for, but stay general */
    for (int s = b0; s < b0 + nb; s++) {
      const float *dys = j->dy + (size_t) s * l->cout * hw;
      im2col (1, 1, j->h, j->w, j->x + s * hw, col);
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, l->cout, (int) k,
          (int) hw, 1.0f, dys, (int) hw, col, (int) hw,
          s == b0 ? 0.0f : 1.0f, dwp, (int) k);
      if (!j->dx)
        continue;
      cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, (int) k,
          (int) hw, l->cout, 1.0f, l->w, (int) k, dys, (int) hw,
          0.0f, col, (int) hw);
      col2im (1, 1, j->h, j->w, col, j->dx + s * hw);
    }
    return;
  }
  {
    size_t ncols = nb * hw;
    float *tmp = col + k * j->sp.nb * hw;
    const float *dyb = j->dy + (size_t) b0 * l->cout * hw, *dyc = dyb;

    if (nb > 1) {
      /* [nb][cout][hw] -> [cout][nb·hw], the GEMM's layout */
      for (int s = 0; s < nb; s++)
        for (int co = 0; co < l->cout; co++)
          memcpy (tmp + (size_t) co * ncols + s * hw,
              dyb + ((size_t) s * l->cout + co) * hw, hw * sizeof (float));
      dyc = tmp;
    }
    im2col (nb, l->cin, j->h, j->w, j->x + (size_t) b0 * l->cin * hw, col);
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, l->cout, (int) k,
        (int) ncols, 1.0f, dyc, (int) ncols, col, (int) ncols,
        0.0f, dwp, (int) k);
    if (!j->dx)
      return;
    /* dcol = wᵀ · dy_chunk, into the column buffer we no longer need */
    cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, (int) k,
        (int) ncols, l->cout, 1.0f, l->w, (int) k, dyc, (int) ncols,
        0.0f, col, (int) ncols);
    col2im (nb, l->cin, j->h, j->w, col, j->dx + (size_t) b0 * l->cin * hw);
  }
}

void
mm_conv2d_backward (const MmConv2d *l, int batch, int h, int w,
                    const float *x, const float *dy, float *dx, float *ws)
{
  ConvJob j = { l, batch, h, w, conv_split (l, batch, h, w), x, dy, NULL, dx, ws,
    NULL };
  size_t nw = (size_t) l->cout * l->cin * 9;

  if (batch <= 0) {
    memset (l->dw, 0, nw * sizeof (float));
    memset (l->db, 0, l->cout * sizeof (float));
    return;
  }
  j.db_part = g_new0 (double, (size_t) j.sp.n * l->cout);
  mm_parallel_for (j.sp.n, backward_task, &j);
  /* db = Σ over samples and pixels of dy, the tasks' parts in task order */
  for (int co = 0; co < l->cout; co++) {
    double total = 0;
    for (int t = 0; t < j.sp.n; t++)
      total += j.db_part[(size_t) t * l->cout + co];
    l->db[co] = (float) total;
  }
  g_free (j.db_part);
  if (j.sp.n == 1)
    return;
  /* dw = Σ of the tasks' parts, in task order */
  memcpy (l->dw, ws + j.sp.slot - nw, nw * sizeof (float));
  for (int t = 1; t < j.sp.n; t++)
    add_to (l->dw, ws + (t + 1) * j.sp.slot - nw, nw);
}
