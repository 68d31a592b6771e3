/* Linear layer y = x·Wᵀ + b as OpenBLAS products (row-major, W [out][in]).
 *
 * Large products are cut along a dimension that is not summed (the output
 * features for y and dW, the input features for dx) into column blocks
 * that run as parallel tasks; every element is still one dot product over
 * the same k, so the cut does not change the sums. */
#include <cblas.h>
#include <string.h>

#include "mm-linear.h"
#include "mm-parallel.h"

/* multiply-adds per task below which a product stays in one piece */
#define LINEAR_MIN_TASK_MACS 1.0e6
#define LINEAR_MAX_TASKS 4
/* batches of at most LINEAR_FEW_ROWS rows: weights (floats) per task */
#define LINEAR_FEW_ROWS 4
#define LINEAR_MIN_TASK_WEIGHTS 65536.0
#define LINEAR_MAX_TASKS_FEW_ROWS 2

typedef struct {
  const MmLinear *l;
  int batch, n_tasks;
  const float *x, *dy;
  float *y, *dx;
} LinearJob;

static int
linear_tasks (const MmLinear *l, int batch, int cut)
{
  int n = mm_parallel_tasks ((double) batch * l->in * l->out,
      LINEAR_MIN_TASK_MACS, LINEAR_MAX_TASKS);
  /* A few rows (batch-1 inference) read each weight once or twice: the
   * product is bound by reading W, not by arithmetic, so it is cut by the
   * size of W, and each core streams its share through its own cache. */
  if (batch <= LINEAR_FEW_ROWS)
    n = MAX (n, mm_parallel_tasks ((double) l->in * l->out, LINEAR_MIN_TASK_WEIGHTS,
            LINEAR_MAX_TASKS_FEW_ROWS));
  /* blocks of at least 16 columns (the GEMM kernels' width) */
  return MAX (1, MIN (n, cut / 16));
}

/* [c0, c1) of @n columns for @task of @n_tasks, multiples of 16 */
static void
block (int n, int task, int n_tasks, int *c0, int *c1)
{
  int per = ((n + n_tasks - 1) / n_tasks + 15) / 16 * 16;
  *c0 = MIN (n, task * per);
  *c1 = MIN (n, *c0 + per);
}

static void
forward_task (gpointer data, int task)
{
  const LinearJob *j = data;
  const MmLinear *l = j->l;
  int o0, o1;

  block (l->out, task, j->n_tasks, &o0, &o1);
  if (o1 <= o0)
    return;
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, j->batch, o1 - o0,
      l->in, 1.0f, j->x, l->in, l->w + (size_t) o0 * l->in, l->in, 1.0f,
      j->y + o0, l->out);
}

void
mm_linear_forward (const MmLinear *l, int batch, const float *x, float *y)
{
  LinearJob j = { l, batch, linear_tasks (l, batch, l->out), x, NULL, y, NULL };

  if (batch <= 0)
    return;
  /* start from the bias and let the product add onto it (beta = 1) */
  for (int b = 0; b < batch; b++)
    memcpy (y + (size_t) b * l->out, l->b, (size_t) l->out * sizeof (float));
  mm_parallel_for (j.n_tasks, forward_task, &j);
}

/* tasks [0, n) compute rows of dW [out][in] = dyᵀ · x; tasks [n, 2n)
 * columns of dx [batch][in] = dy · W */
static void
backward_task (gpointer data, int task)
{
  const LinearJob *j = data;
  const MmLinear *l = j->l;
  int c0, c1;

  if (task < j->n_tasks) {
    block (l->out, task, j->n_tasks, &c0, &c1);
    if (c1 > c0)
      cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, c1 - c0, l->in,
          j->batch, 1.0f, j->dy + c0, l->out, j->x, l->in, 0.0f,
          l->dw + (size_t) c0 * l->in, l->in);
    return;
  }
  block (l->in, task - j->n_tasks, j->n_tasks, &c0, &c1);
  if (c1 > c0)
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, j->batch, c1 - c0,
        l->out, 1.0f, j->dy, l->out, l->w + c0, l->in, 0.0f, j->dx + c0, l->in);
}

void
mm_linear_backward (const MmLinear *l, int batch, const float *x,
                    const float *dy, float *dx)
{
  LinearJob j = { l, batch, linear_tasks (l, batch, MIN (l->out, l->in)), x,
    dy, NULL, dx };

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
  mm_parallel_for (dx ? 2 * j.n_tasks : j.n_tasks, backward_task, &j);
}
