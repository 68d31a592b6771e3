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
 * Then y_chunk[co][n] = Σ_k w[co][k] · col[k][n].
 *
 * A single input channel (the first layer) is the cheap case: its columns
 * are nine shifted copies of the image (K = 9), it goes one sample per GEMM
 * (no reorder pass), and as the first layer's caller passes dx = NULL,
 * backward skips the input-gradient GEMM and col2im. */
#include <cblas.h>
#include <string.h>

#include "mm-layers.h"

/* Columns (samples × pixels) per GEMM we aim for: large enough for OpenBLAS
 * to amortise packing and split the product over two threads, small enough
 * that the columns stay cached (ImageNet_CNN conv2: 288 × 3136 floats).
 * Measured with bench/bench_layers on the ImageNet_CNN shapes at batch 32:
 * conv2 forward + backward on 2 threads 4.9 ms at 3136 (16 samples), 5.4 at
 * 784, 6.2 at one sample per GEMM, 5.6 for the whole batch at once; on one
 * thread all of these are within 3 % except the whole batch (+15–30 %). */
#define MM_CONV_TARGET_COLS 3136

static int
conv_chunk (const MmConv2d *l, int batch, int h, int w)
{
  int hw = h * w, nb;

  /* cin == 1: K = 9, so the product is as cheap as the pass that would
   * reorder its output to NCHW; one sample per GEMM writes NCHW directly
   * (measured: 0.24 ms against 0.26–0.39 for chunks, conv1 forward) */
  if (l->cin == 1)
    return 1;
  nb = hw >= MM_CONV_TARGET_COLS ? 1 : MM_CONV_TARGET_COLS / hw;
  return nb < batch ? nb : (batch > 0 ? batch : 1);
}

size_t
mm_conv2d_workspace_size (const MmConv2d *l, int batch, int h, int w)
{
  size_t ncols = (size_t) conv_chunk (l, batch, h, w) * (size_t) h * (size_t) w;
  /* columns (reused for their gradient) + the chunk's output / dy in
   * [cout][ncols] order */
  return ncols * ((size_t) l->cin * 9 + (size_t) l->cout);
}

/* Small loops written in blocks of 8 so that GCC's SLP vectoriser turns them
 * into vector code at -O2 (the loop vectoriser only runs at -O3). */
static inline void
add_bias_copy (float *restrict d, const float *restrict s, float b, size_t n)
{
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; j++)
      d[i + j] = s[i + j] + b;
  for (; i < n; i++)
    d[i] = s[i] + b;
}

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

/* col[k][s·hw + p] for the nb samples of a chunk, as in the comment on top */
static void
im2col (int nb, int cin, int h, int w, const float *x, float *col)
{
  size_t hw = (size_t) h * w, ncols = nb * hw;

  for (int s = 0; s < nb; s++)
    for (int ci = 0; ci < cin; ci++) {
      const float *src = x + ((size_t) s * cin + ci) * hw;
      for (int t = 0; t < 9; t++) {
        int ky = t / 3, kx = t % 3;
        float *dst = col + ((size_t) ci * 9 + t) * ncols + s * hw;
        ptrdiff_t p0, p1, off = tap_range (h, w, ky, kx, &p0, &p1);

        memset (dst, 0, (size_t) p0 * sizeof (float));
        memcpy (dst + p0, src + p0 + off, (size_t) (p1 - p0) * sizeof (float));
        memset (dst + p1, 0, (size_t) (hw - p1) * sizeof (float));
        if (kx != 1)
          for (int oy = 0; oy < h; oy++)
            dst[oy * w + (kx == 0 ? 0 : w - 1)] = 0.0f;
      }
    }
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

void
mm_conv2d_forward (const MmConv2d *l, int batch, int h, int w,
                   const float *x, float *y, float *ws)
{
  int nbmax = conv_chunk (l, batch, h, w);
  size_t hw = (size_t) h * w, k = (size_t) l->cin * 9;
  float *col = ws, *tmp = ws + k * nbmax * hw;

  for (int b0 = 0; b0 < batch; b0 += nbmax) {
    int nb = batch - b0 < nbmax ? batch - b0 : nbmax;
    size_t ncols = nb * hw;
    const float *xb = x + (size_t) b0 * l->cin * hw;
    float *yb = y + (size_t) b0 * l->cout * hw;

    im2col (nb, l->cin, h, w, xb, col);
    if (nb == 1) {
      /* [cout][hw] is already NCHW: start from the bias, add the product */
      for (int co = 0; co < l->cout; co++)
        fill (yb + co * hw, l->b[co], hw);
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, l->cout,
          (int) ncols, (int) k, 1.0f, l->w, (int) k, col, (int) ncols,
          1.0f, yb, (int) ncols);
      continue;
    }
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, l->cout,
        (int) ncols, (int) k, 1.0f, l->w, (int) k, col, (int) ncols,
        0.0f, tmp, (int) ncols);
    /* [cout][nb·hw] -> [nb][cout][hw], adding the bias on the way */
    for (int s = 0; s < nb; s++)
      for (int co = 0; co < l->cout; co++) {
        const float *src = tmp + (size_t) co * ncols + s * hw;
        float *dst = yb + ((size_t) s * l->cout + co) * hw;
        add_bias_copy (dst, src, l->b[co], hw);
      }
  }
}

void
mm_conv2d_backward (const MmConv2d *l, int batch, int h, int w,
                    const float *x, const float *dy, float *dx, float *ws)
{
  int nbmax = conv_chunk (l, batch, h, w);
  size_t hw = (size_t) h * w, k = (size_t) l->cin * 9;
  float *col = ws, *tmp = ws + k * nbmax * hw;

  /* db = Σ over samples and pixels of dy */
  for (int co = 0; co < l->cout; co++) {
    double total = 0;
    for (int s = 0; s < batch; s++)
      total += sum (dy + ((size_t) s * l->cout + co) * hw, hw);
    l->db[co] = (float) total;
  }
  if (batch <= 0) {
    memset (l->dw, 0, (size_t) l->cout * k * sizeof (float));
    return;
  }

  for (int b0 = 0; b0 < batch; b0 += nbmax) {
    int nb = batch - b0 < nbmax ? batch - b0 : nbmax;
    size_t ncols = nb * hw;
    const float *xb = x + (size_t) b0 * l->cin * hw;
    const float *dyb = dy + (size_t) b0 * l->cout * hw;
    const float *dyc = dyb;

    if (nb > 1) {
      /* [nb][cout][hw] -> [cout][nb·hw], the GEMM's layout */
      for (int s = 0; s < nb; s++)
        for (int co = 0; co < l->cout; co++)
          memcpy (tmp + (size_t) co * ncols + s * hw,
              dyb + ((size_t) s * l->cout + co) * hw, hw * sizeof (float));
      dyc = tmp;
    }
    im2col (nb, l->cin, h, w, xb, col);
    /* dw (+)= dy_chunk · colᵀ; the first chunk overwrites */
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, l->cout, (int) k,
        (int) ncols, 1.0f, dyc, (int) ncols, col, (int) ncols,
        b0 == 0 ? 0.0f : 1.0f, l->dw, (int) k);
    if (!dx)
      continue;
    /* dcol = wᵀ · dy_chunk, into the column buffer we no longer need */
    cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, (int) k,
        (int) ncols, l->cout, 1.0f, l->w, (int) k, dyc, (int) ncols,
        0.0f, col, (int) ncols);
    col2im (nb, l->cin, h, w, col, dx + (size_t) b0 * l->cin * hw);
  }
}
