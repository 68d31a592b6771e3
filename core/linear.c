/* Linear layer y = x·Wᵀ + b as OpenBLAS products (row-major, W [out][in]). */
#include <cblas.h>
#include <string.h>

#include "mm-layers.h"

void
mm_linear_forward (const MmLinear *l, int batch, const float *x, float *y)
{
  if (batch <= 0)
    return;
  /* start from the bias and let the product add onto it (beta = 1) */
  for (int b = 0; b < batch; b++)
    memcpy (y + (size_t) b * l->out, l->b, (size_t) l->out * sizeof (float));
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, batch, l->out, l->in,
      1.0f, x, l->in, l->w, l->in, 1.0f, y, l->out);
}

void
mm_linear_backward (const MmLinear *l, int batch, const float *x,
                    const float *dy, float *dx)
{
  /* db = Σ over the batch of dy's rows */
  memset (l->db, 0, (size_t) l->out * sizeof (float));
  for (int b = 0; b < batch; b++) {
    const float *row = dy + (size_t) b * l->out;
    for (int o = 0; o < l->out; o++)
      l->db[o] += row[o];
  }
  if (batch <= 0) {
    memset (l->dw, 0, (size_t) l->out * l->in * sizeof (float));
    return;
  }
  /* dW [out][in] = dyᵀ · x */
  cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, l->out, l->in, batch,
      1.0f, dy, l->out, x, l->in, 0.0f, l->dw, l->in);
  /* dx [batch][in] = dy · W */
  if (dx)
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, l->in,
        l->out, 1.0f, dy, l->out, l->w, l->in, 0.0f, dx, l->in);
}
