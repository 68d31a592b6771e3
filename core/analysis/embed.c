/* PCA, Barnes–Hut t-SNE, k-means++ and the scores of mm-embed.h.
 *
 * Where the definitions come from: t-SNE and k-means follow scikit-learn
 * (sklearn.manifold.TSNE with method="barnes_hut", sklearn.cluster.KMeans
 * with the Lloyd algorithm) step for step, so that our figures and theirs
 * can be compared; tests/embed_sklearn.py checks the outcome against them.
 * No C library for t-SNE is packaged in Debian, hence our own.
 *
 * Distances between input points go through a GEMM
 * (‖a − b‖² = ‖a‖² + ‖b‖² − 2a·b) in double precision, one block of rows per
 * task, so that the exact nearest-neighbour searches of t-SNE and of the
 * trustworthiness cost a few matrix products.
 */
#include "mm-embed.h"

#include <cblas.h>
#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mm-error.h"
#include "mm-parallel.h"
#include "mm-rng.h"

#define MAX_TASKS 64
#define ROW_BLOCK 64        /* rows of the distance matrix per task */

static gboolean
check_args (gboolean ok, GError **error, const char *what)
{
  if (!ok)
    g_set_error (error, MM_ERROR, MM_ERROR_INVALID, "%s", what);
  return ok;
}

static gboolean
all_finite (const float *x, size_t n, GError **error)
{
  for (size_t i = 0; i < n; i++)
    if (!isfinite (x[i])) {
      g_set_error (error, MM_ERROR, MM_ERROR_INVALID, "value %zu of the points is not finite", i);
      return FALSE;
    }
  return TRUE;
}

static double *
to_double (const float *x, size_t n)
{
  double *d = g_new (double, MAX (n, 1));
  for (size_t i = 0; i < n; i++)
    d[i] = x[i];
  return d;
}

static double *
row_norms (const double *x, int n, int dim)
{
  double *nrm = g_new (double, n);
  for (int i = 0; i < n; i++)
    nrm[i] = cblas_ddot (dim, x + (size_t) i * dim, 1, x + (size_t) i * dim, 1);
  return nrm;
}

/* Squared distances from rows [r0, r0 + rows) to all n points: @out
 * [rows][n]; tiny negatives from rounding become 0. */
static void
distance_block (const double *x, const double *nrm, int n, int dim, int r0, int rows,
    double *out)
{
  cblas_dgemm (CblasRowMajor, CblasNoTrans, CblasTrans, rows, n, dim, -2.0,
      x + (size_t) r0 * dim, dim, x, dim, 0.0, out, n);
  for (int r = 0; r < rows; r++)
    for (int j = 0; j < n; j++) {
      double d = out[(size_t) r * n + j] + nrm[r0 + r] + nrm[j];
      out[(size_t) r * n + j] = d > 0 ? d : 0;
    }
}

/* Inserts (d, j) into the ascending list @nd/@nj of @len ≤ k entries;
 * ties go by index, so the result is a function of the distances only. */
static int
insert_nearest (double *nd, int *nj, int len, int k, double d, int j)
{
  int pos;

  if (len == k && (d > nd[k - 1] || (d == nd[k - 1] && j > nj[k - 1])))
    return len;
  if (len < k)
    len++;
  for (pos = len - 1; pos > 0 && (nd[pos - 1] > d || (nd[pos - 1] == d && nj[pos - 1] > j));
      pos--) {
    nd[pos] = nd[pos - 1];
    nj[pos] = nj[pos - 1];
  }
  nd[pos] = d;
  nj[pos] = j;
  return len;
}

/* ---- PCA ---- */

gboolean
mm_pca (const float *x, int n, int dim, int k, float *out, double *explained, GError **error)
{
  double *xc, *mean, *cov, *w, *z, *proj;
  int *isuppz, found = 0, info;

  if (!check_args (n >= 2 && dim >= 1 && k >= 1 && k <= dim, error,
          "PCA needs at least 2 points and 1 ≤ components ≤ dimensions")
      || !all_finite (x, (size_t) n * dim, error))
    return FALSE;
  mean = g_new0 (double, dim);
  xc = to_double (x, (size_t) n * dim);
  for (int i = 0; i < n; i++)
    for (int d = 0; d < dim; d++)
      mean[d] += xc[(size_t) i * dim + d];
  for (int d = 0; d < dim; d++)
    mean[d] /= n;
  for (int i = 0; i < n; i++)
    for (int d = 0; d < dim; d++)
      xc[(size_t) i * dim + d] -= mean[d];
  cov = g_new (double, (size_t) dim * dim);
  cblas_dsyrk (CblasRowMajor, CblasUpper, CblasTrans, dim, n, 1.0 / (n - 1), xc, dim, 0.0,
      cov, dim);
  w = g_new (double, dim);
  z = g_new (double, (size_t) dim * k);
  isuppz = g_new (int, 2 * dim);
  /* the k largest eigenpairs (dsyevr numbers them 1..dim, ascending) */
  info = LAPACKE_dsyevr (LAPACK_ROW_MAJOR, 'V', 'I', 'U', dim, cov, dim, 0, 0, dim - k + 1, dim,
      0.0, &found, w, z, k, isuppz);
  if (info != 0 || found != k) {
    g_set_error (error, MM_ERROR, MM_ERROR_INVALID,
        "PCA: LAPACK's dsyevr failed (info %d, %d of %d eigenvalues)", info, found, k);
  } else {
    /* descending order, and the largest loading of each axis positive */
    proj = g_new (double, (size_t) dim * k);
    for (int c = 0; c < k; c++) {
      int src = k - 1 - c, big = 0;
      for (int d = 1; d < dim; d++)
        if (fabs (z[(size_t) d * k + src]) > fabs (z[(size_t) big * k + src]))
          big = d;
      double sign = z[(size_t) big * k + src] < 0 ? -1.0 : 1.0;
      for (int d = 0; d < dim; d++)
        proj[(size_t) d * k + c] = sign * z[(size_t) d * k + src];
      if (explained)
        explained[c] = w[src];
    }
    g_free (cov);
    cov = g_new (double, (size_t) n * k);
    cblas_dgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, n, k, dim, 1.0, xc, dim, proj, k,
        0.0, cov, k);
    for (size_t i = 0; i < (size_t) n * k; i++)
      out[i] = (float) cov[i];
    g_free (proj);
  }
  g_free (isuppz);
  g_free (z);
  g_free (w);
  g_free (cov);
  g_free (xc);
  g_free (mean);
  return info == 0 && found == k;
}

/* ---- exact k nearest neighbours (t-SNE's input affinities) ---- */

typedef struct {
  const double *x, *nrm;
  int n, dim, k;
  int *nbr;          /* [n][k] */
  double *d2;        /* [n][k] squared distances, ascending */
} KnnJob;

static void
knn_task (gpointer data, int task)
{
  KnnJob *j = data;
  int r0 = task * ROW_BLOCK, rows = MIN (ROW_BLOCK, j->n - r0);
  double *dist = g_new (double, (size_t) rows * j->n);

  distance_block (j->x, j->nrm, j->n, j->dim, r0, rows, dist);
  for (int r = 0; r < rows; r++) {
    int i = r0 + r, len = 0;
    double *nd = j->d2 + (size_t) i * j->k;
    int *nj = j->nbr + (size_t) i * j->k;
    for (int l = 0; l < j->n; l++)
      if (l != i)
        len = insert_nearest (nd, nj, len, j->k, dist[(size_t) r * j->n + l], l);
  }
  g_free (dist);
}

/* For each point its @k nearest others (distance row blocks run as tasks;
 * each task writes only its own rows). */
static void
knn_exact (const double *x, int n, int dim, int k, int *nbr, double *d2)
{
  double *nrm = row_norms (x, n, dim);
  KnnJob j = { x, nrm, n, dim, k, nbr, d2 };

  mm_parallel_for ((n + ROW_BLOCK - 1) / ROW_BLOCK, knn_task, &j);
  g_free (nrm);
}

/* ---- t-SNE ---- */

void
mm_tsne_params_init (MmTsneParams *p)
{
  p->perplexity = 30.0;
  p->n_iter = 1000;
  p->exaggeration_iter = 250;
  p->early_exaggeration = 12.0;
  p->learning_rate = 0.0;
  p->theta = 0.5;
  p->random_init = FALSE;
  p->seed = 1;
}

/* Conditional affinities p(j|i) over the k neighbours, with the Gaussian's
 * precision found by bisection so that the entropy is log(perplexity)
 * (sklearn's _binary_search_perplexity: 100 steps, tolerance 1e-5). */
static void
perplexity_search (const double *d2, int n, int k, double perplexity, double *p)
{
  const double target = log (perplexity);

  for (int i = 0; i < n; i++) {
    const double *d = d2 + (size_t) i * k;
    double *pi = p + (size_t) i * k;
    double beta = 1.0, lo = -INFINITY, hi = INFINITY;

    for (int step = 0; step < 100; step++) {
      double sum = 0, dsum = 0, entropy;
      for (int j = 0; j < k; j++)
        sum += pi[j] = exp (-d[j] * beta);
      if (sum == 0)
        sum = 1e-8;
      for (int j = 0; j < k; j++) {
        pi[j] /= sum;
        dsum += d[j] * pi[j];
      }
      entropy = log (sum) + beta * dsum;
      if (fabs (entropy - target) <= 1e-5)
        break;
      if (entropy > target) {
        lo = beta;
        beta = isinf (hi) ? beta * 2 : (beta + hi) / 2;
      } else {
        hi = beta;
        beta = isinf (lo) ? beta / 2 : (beta + lo) / 2;
      }
    }
  }
}

/* The joint P = (P + Pᵀ) / sum as compressed rows (column indices ascending). */
typedef struct {
  int n;
  int *rowptr, *col;
  double *val;
} Sparse;

static void
sparse_clear (Sparse *s)
{
  g_free (s->rowptr);
  g_free (s->col);
  g_free (s->val);
}

static void
symmetrize (const int *nbr, const double *pc, int n, int k, Sparse *s)
{
  int *count = g_new0 (int, n + 1), *fill;
  int *col;
  double *val, total = 0;
  size_t nnz = (size_t) 2 * n * k;

  for (int i = 0; i < n; i++)
    for (int j = 0; j < k; j++) {
      count[i]++;
      count[nbr[(size_t) i * k + j]]++;
    }
  s->n = n;
  s->rowptr = g_new (int, n + 1);
  s->rowptr[0] = 0;
  for (int i = 0; i < n; i++)
    s->rowptr[i + 1] = s->rowptr[i] + count[i];
  fill = g_new (int, n);
  memcpy (fill, s->rowptr, sizeof (int) * n);
  col = g_new (int, nnz);
  val = g_new (double, nnz);
  for (int i = 0; i < n; i++)
    for (int j = 0; j < k; j++) {
      int t = nbr[(size_t) i * k + j];
      double v = pc[(size_t) i * k + j];
      col[fill[i]] = t;
      val[fill[i]++] = v;
      col[fill[t]] = i;
      val[fill[t]++] = v;
    }
  /* sort each row by column (pairs, through an index) and merge duplicates */
  s->col = g_new (int, nnz);
  s->val = g_new (double, nnz);
  {
    int out = 0;
    int *order = g_new (int, 2 * k + n);
    for (int i = 0; i < n; i++) {
      int a = s->rowptr[i], len = s->rowptr[i + 1] - a;
      for (int e = 0; e < len; e++)
        order[e] = e;
      /* insertion sort: rows hold about 2k entries */
      for (int e = 1; e < len; e++) {
        int o = order[e], f = e;
        while (f > 0 && col[a + order[f - 1]] > col[a + o]) {
          order[f] = order[f - 1];
          f--;
        }
        order[f] = o;
      }
      s->rowptr[i] = out;
      for (int e = 0; e < len; e++) {
        int c = col[a + order[e]];
        if (out > s->rowptr[i] && s->col[out - 1] == c) {
          s->val[out - 1] += val[a + order[e]];
        } else {
          s->col[out] = c;
          s->val[out++] = val[a + order[e]];
        }
      }
    }
    s->rowptr[n] = out;
    g_free (order);
  }
  for (int e = 0; e < s->rowptr[n]; e++)
    total += s->val[e];
  for (int e = 0; e < s->rowptr[n]; e++)
    s->val[e] /= MAX (total, 1e-300);
  g_free (count);
  g_free (fill);
  g_free (col);
  g_free (val);
}

/* The quadtree over the current 2-D positions, rebuilt every iteration.
 * Children of a node are contiguous; a leaf holds one point or several at
 * the same place. Built by recursive partition of a permutation of the
 * points, which also gives a visiting order where neighbours in space are
 * neighbours in memory. */
typedef struct {
  double cx, cy;       /* centre of mass */
  double w2;           /* squared width of the cell */
  int count;
  int first_child, n_children;   /* n_children 0: leaf */
} Node;

typedef struct {
  Node *nodes;
  int n_nodes, cap;
  int *perm, *tmp;
  const double *y;
} Tree;

#define MAX_DEPTH 48

static int
tree_alloc (Tree *t, int count)
{
  int first = t->n_nodes;
  if (t->n_nodes + count > t->cap) {
    t->cap = MAX (t->cap * 2, t->n_nodes + count);
    t->nodes = g_renew (Node, t->nodes, t->cap);
  }
  t->n_nodes += count;
  return first;
}

static void
tree_build_node (Tree *t, int node, int lo, int hi, double x0, double y0, double w, int depth)
{
  const double *y = t->y;
  double sx = 0, sy = 0, half = w / 2;
  int cnt[4] = { 0 }, start[4], nc = 0;
  Node *nd;

  for (int e = lo; e < hi; e++) {
    sx += y[2 * t->perm[e]];
    sy += y[2 * t->perm[e] + 1];
  }
  nd = &t->nodes[node];
  nd->cx = sx / (hi - lo);
  nd->cy = sy / (hi - lo);
  nd->w2 = w * w;
  nd->count = hi - lo;
  nd->first_child = -1;
  nd->n_children = 0;
  if (hi - lo == 1 || depth == MAX_DEPTH)
    return;
  /* quadrant q = (y ≥ mid) · 2 + (x ≥ mid); stable partition through tmp */
  for (int e = lo; e < hi; e++) {
    const double *p = y + 2 * t->perm[e];
    cnt[(p[1] >= y0 + half) * 2 + (p[0] >= x0 + half)]++;
  }
  start[0] = lo;
  for (int q = 1; q < 4; q++)
    start[q] = start[q - 1] + cnt[q - 1];
  {
    int pos[4] = { start[0], start[1], start[2], start[3] };
    for (int e = lo; e < hi; e++) {
      const double *p = y + 2 * t->perm[e];
      t->tmp[pos[(p[1] >= y0 + half) * 2 + (p[0] >= x0 + half)]++] = t->perm[e];
    }
    memcpy (t->perm + lo, t->tmp + lo, sizeof (int) * (hi - lo));
  }
  for (int q = 0; q < 4; q++)
    nc += cnt[q] > 0;
  {
    int first = tree_alloc (t, nc), c = 0;
    t->nodes[node].first_child = first;
    t->nodes[node].n_children = nc;
    for (int q = 0; q < 4; q++)
      if (cnt[q] > 0)
        tree_build_node (t, first + c++, start[q], start[q] + cnt[q],
            x0 + (q & 1) * half, y0 + (q >> 1) * half, half, depth + 1);
  }
}

static void
tree_build (Tree *t, const double *y, int n)
{
  double minx = y[0], maxx = y[0], miny = y[1], maxy = y[1], w;

  for (int i = 1; i < n; i++) {
    minx = MIN (minx, y[2 * i]);
    maxx = MAX (maxx, y[2 * i]);
    miny = MIN (miny, y[2 * i + 1]);
    maxy = MAX (maxy, y[2 * i + 1]);
  }
  w = MAX (maxx - minx, maxy - miny);
  w = w * (1 + 1e-6) + 1e-12;   /* every point strictly inside */
  t->y = y;
  t->n_nodes = 0;
  tree_alloc (t, 1);
  tree_build_node (t, 0, 0, n, minx, miny, w, 0);
}

typedef struct {
  const Tree *tree;
  const Sparse *P;
  const double *y;
  double exaggeration, theta2;
  int n, n_tasks;
  double *pos, *neg;     /* [n][2] */
  double *z;             /* [n_tasks] partial normalisers */
  double *kl;            /* [n_tasks] Σ p log p / q̃ (unnormalised q), or NULL */
} GradJob;

/* Repulsion on point i: Σ over summarised cells of count·q²·(yi − c), and
 * its share of the normaliser Σ count·q, with q = 1 / (1 + d²). A cell is
 * summarised when it is a leaf or width² / d² < θ². */
static double
repulsion (const Tree *t, const double *yi, double theta2, double *f)
{
  int stack[4 * MAX_DEPTH + 8], sp = 0;
  double z = 0, fx = 0, fy = 0;

  stack[sp++] = 0;
  while (sp > 0) {
    const Node *nd = &t->nodes[stack[--sp]];
    double dx = yi[0] - nd->cx, dy = yi[1] - nd->cy, d2 = dx * dx + dy * dy;
    if (nd->n_children == 0 || nd->w2 < theta2 * d2) {
      double q, m;
      if (nd->n_children == 0 && d2 <= 1e-5) {
        /* the point's own leaf: no force, but its duplicates (q = 1) belong
         * in the normaliser (sklearn leaves them out, which makes Z too
         * small when points coincide) */
        z += nd->count - 1;
        continue;
      }
      q = 1.0 / (1.0 + d2);
      m = nd->count * q;
      z += m;
      m *= q;
      fx += m * dx;
      fy += m * dy;
    } else {
      for (int c = nd->n_children - 1; c >= 0; c--)
        stack[sp++] = nd->first_child + c;
    }
  }
  f[0] = fx;
  f[1] = fy;
  return z;
}

static void
grad_task (gpointer data, int task)
{
  GradJob *j = data;
  int lo = (int) ((gint64) j->n * task / j->n_tasks);
  int hi = (int) ((gint64) j->n * (task + 1) / j->n_tasks);
  double z = 0, kl = 0;

  for (int e = lo; e < hi; e++) {
    int i = j->tree->perm[e];     /* tree order: neighbours in space run together */
    const double *yi = j->y + 2 * i;
    double px = 0, py = 0;
    for (int a = j->P->rowptr[i]; a < j->P->rowptr[i + 1]; a++) {
      const double *yj = j->y + 2 * j->P->col[a];
      double dx = yi[0] - yj[0], dy = yi[1] - yj[1];
      double q = 1.0 / (1.0 + dx * dx + dy * dy), pij = j->P->val[a] * j->exaggeration;
      px += pij * q * dx;
      py += pij * q * dy;
      if (j->kl && pij > 0)
        kl += pij * log (pij / q);
    }
    j->pos[2 * i] = px;
    j->pos[2 * i + 1] = py;
    z += repulsion (j->tree, yi, j->theta2, j->neg + 2 * i);
  }
  j->z[task] = z;
  if (j->kl)
    j->kl[task] = kl;
}

typedef struct {
  int n, k, n_tasks;
  Sparse P;
  Tree tree;
  double *y, *update, *gains, *grad, *pos, *neg, *z, *kl;
  double lr;
} Tsne;

/* The gradient 4·(F_attr − F_rep / Z) into t->grad (sklearn's scaling);
 * returns the KL divergence when @want_kl (else 0). Partial sums are added
 * in task order. */
static double
tsne_gradient (Tsne *t, double exaggeration, double theta, gboolean want_kl)
{
  GradJob j = { &t->tree, &t->P, t->y, exaggeration, theta * theta, t->n, t->n_tasks,
    t->pos, t->neg, t->z, want_kl ? t->kl : NULL };
  double z = 0, kl = 0;

  tree_build (&t->tree, t->y, t->n);
  mm_parallel_for (t->n_tasks, grad_task, &j);
  for (int task = 0; task < t->n_tasks; task++) {
    z += t->z[task];
    kl += want_kl ? t->kl[task] : 0;
  }
  for (int c = 0; c < 2 * t->n; c++)
    t->grad[c] = 4.0 * (t->pos[c] - t->neg[c] / z);
  /* Σ p log(p / (q̃/Z)) = Σ p log(p/q̃) + log Z (P sums to the exaggeration) */
  return want_kl ? kl / exaggeration + log (z) : 0;
}

/* sklearn's PCA initialisation: the two leading components, scaled so the
 * first has standard deviation 1e-4. */
static gboolean
tsne_init (Tsne *t, const float *x, int dim, const MmTsneParams *p, GError **error)
{
  int n = t->n;

  if (p->random_init) {
    MmRng rng;
    mm_rng_seed (&rng, p->seed, 0x75e);
    for (int c = 0; c < 2 * n; c++) {
      double u1 = (mm_rng_u32 (&rng) + 1.0) / 4294967297.0, u2 = mm_rng_uniform (&rng);
      t->y[c] = 1e-4 * sqrt (-2 * log (u1)) * cos (2 * G_PI * u2);
    }
    return TRUE;
  } else {
    float *init = g_new (float, 2 * (size_t) n);
    double mean = 0, var = 0, scale;
    gboolean ok = mm_pca (x, n, dim, MIN (2, dim), init, NULL, error);
    for (int i = 0; ok && i < n; i++) {
      t->y[2 * i] = init[(size_t) i * MIN (2, dim)];
      t->y[2 * i + 1] = dim >= 2 ? init[(size_t) i * 2 + 1] : 0;
      mean += t->y[2 * i];
    }
    mean /= n;
    for (int i = 0; ok && i < n; i++)
      var += (t->y[2 * i] - mean) * (t->y[2 * i] - mean);
    scale = var > 0 ? 1e-4 / sqrt (var / n) : 1.0;
    for (int c = 0; ok && c < 2 * n; c++)
      t->y[c] *= scale;
    g_free (init);
    return ok;
  }
}

/* One step of sklearn's _gradient_descent: delta-bar-delta gains (+0.2 when
 * the gradient's sign opposes the last update, ×0.8 otherwise, at least
 * 0.01), momentum, learning rate. Returns the gradient norm. */
static double
tsne_step (Tsne *t, double momentum)
{
  double norm = 0;

  for (int c = 0; c < 2 * t->n; c++) {
    double g = t->grad[c];
    norm += g * g;
    t->gains[c] = t->update[c] * g < 0 ? t->gains[c] + 0.2 : MAX (t->gains[c] * 0.8, 0.01);
    t->update[c] = momentum * t->update[c] - t->lr * g * t->gains[c];
    t->y[c] += t->update[c];
  }
  return sqrt (norm);
}

gboolean
mm_tsne (const float *x, int n, int dim, const MmTsneParams *p, float *y, double *kl,
    GError **error)
{
  MmTsneParams defaults;
  Tsne t = { 0 };
  int *nbr;
  double *xd, *d2, *pc;
  gboolean ok;

  if (!p) {
    mm_tsne_params_init (&defaults);
    p = &defaults;
  }
  if (!check_args (n >= 4 && dim >= 1, error, "t-SNE needs at least 4 points")
      || !check_args (p->perplexity > 0 && p->n_iter >= 0 && p->theta >= 0
          && p->early_exaggeration > 0 && p->learning_rate >= 0
          && p->exaggeration_iter >= 0, error, "t-SNE: a parameter is out of range")
      || !all_finite (x, (size_t) n * dim, error))
    return FALSE;
  t.n = n;
  t.k = MIN (n - 1, (int) (3 * p->perplexity + 1));
  t.n_tasks = mm_parallel_tasks (n, 256, MAX_TASKS);
  t.y = g_new (double, 2 * (size_t) n);
  if (!tsne_init (&t, x, dim, p, error)) {
    g_free (t.y);
    return FALSE;
  }
  xd = to_double (x, (size_t) n * dim);
  nbr = g_new (int, (size_t) n * t.k);
  d2 = g_new (double, (size_t) n * t.k);
  pc = g_new (double, (size_t) n * t.k);
  knn_exact (xd, n, dim, t.k, nbr, d2);
  perplexity_search (d2, n, t.k, p->perplexity, pc);
  symmetrize (nbr, pc, n, t.k, &t.P);
  g_free (xd);
  g_free (nbr);
  g_free (d2);
  g_free (pc);

  t.lr = p->learning_rate > 0 ? p->learning_rate : MAX (n / p->early_exaggeration / 4, 50.0);
  t.update = g_new0 (double, 2 * (size_t) n);
  t.gains = g_new (double, 2 * (size_t) n);
  for (int c = 0; c < 2 * n; c++)
    t.gains[c] = 1.0;
  t.grad = g_new (double, 2 * (size_t) n);
  t.pos = g_new (double, 2 * (size_t) n);
  t.neg = g_new (double, 2 * (size_t) n);
  t.z = g_new (double, t.n_tasks);
  t.kl = g_new (double, t.n_tasks);
  t.tree.perm = g_new (int, n);
  t.tree.tmp = g_new (int, n);
  for (int i = 0; i < n; i++)
    t.tree.perm[i] = i;

  for (int it = 0; it < p->n_iter; it++) {
    gboolean exploring = it < p->exaggeration_iter;
    tsne_gradient (&t, exploring ? p->early_exaggeration : 1.0, p->theta, FALSE);
    /* sklearn's min_grad_norm */
    if (tsne_step (&t, exploring ? 0.5 : 0.8) < 1e-7)
      break;
  }
  if (kl)
    *kl = tsne_gradient (&t, 1.0, p->theta, TRUE);
  for (int c = 0; c < 2 * n; c++)
    y[c] = (float) t.y[c];
  ok = TRUE;

  sparse_clear (&t.P);
  g_free (t.tree.nodes);
  g_free (t.tree.perm);
  g_free (t.tree.tmp);
  g_free (t.y);
  g_free (t.update);
  g_free (t.gains);
  g_free (t.grad);
  g_free (t.pos);
  g_free (t.neg);
  g_free (t.z);
  g_free (t.kl);
  return ok;
}

/* ---- k-means ---- */

void
mm_kmeans_params_init (MmKmeansParams *p)
{
  p->k = 10;
  p->n_init = 10;
  p->max_iter = 300;
  p->tol = 1e-4;
  p->seed = 1;
}

static double
sqdist (const float *a, const double *c, int dim)
{
  double s = 0;
  for (int d = 0; d < dim; d++) {
    double v = a[d] - c[d];
    s += v * v;
  }
  return s;
}

static double
rng_double (MmRng *rng)
{
  return ((guint64) mm_rng_u32 (rng) << 21 ^ mm_rng_u32 (rng) >> 11) * (1.0 / 9007199254740992.0);
}

/* sklearn's greedy k-means++: each new centre is the best (lowest total
 * potential) of 2 + ⌊ln k⌋ candidates drawn with probability ∝ D². */
static void
kmeanspp (const float *x, int n, int dim, int k, MmRng *rng, double *centers)
{
  int trials = 2 + (int) log (k);
  double *closest = g_new (double, n), *cand = g_new (double, (size_t) trials * n);
  double pot = 0;
  int first = mm_rng_below (rng, n);

  for (int d = 0; d < dim; d++)
    centers[d] = x[(size_t) first * dim + d];
  for (int i = 0; i < n; i++)
    pot += closest[i] = sqdist (x + (size_t) i * dim, centers, dim);
  for (int c = 1; c < k; c++) {
    int best = -1;
    double best_pot = INFINITY;
    for (int t = 0; t < trials; t++) {
      double r = rng_double (rng) * pot, acc = 0, tp = 0;
      int id = n - 1;
      double cc[dim];
      for (int i = 0; i < n; i++) {
        acc += closest[i];
        if (acc > r) {
          id = i;
          break;
        }
      }
      for (int d = 0; d < dim; d++)
        cc[d] = x[(size_t) id * dim + d];
      for (int i = 0; i < n; i++) {
        double v = MIN (closest[i], sqdist (x + (size_t) i * dim, cc, dim));
        cand[(size_t) t * n + i] = v;
        tp += v;
      }
      if (tp < best_pot) {
        best_pot = tp;
        best = t;
        memcpy (centers + (size_t) c * dim, cc, sizeof (double) * dim);
      }
    }
    memcpy (closest, cand + (size_t) best * n, sizeof (double) * n);
    pot = best_pot;
  }
  g_free (closest);
  g_free (cand);
}

typedef struct {
  const float *x;
  int n, dim, k, n_tasks;
  const double *centers;
  int *labels;
  double *dist;        /* [n] squared distance to the assigned centre */
  double *sums;        /* [n_tasks][k][dim] */
  int *counts;         /* [n_tasks][k] */
} AssignJob;

static void
assign_task (gpointer data, int task)
{
  AssignJob *j = data;
  int lo = (int) ((gint64) j->n * task / j->n_tasks);
  int hi = (int) ((gint64) j->n * (task + 1) / j->n_tasks);
  double *sums = j->sums + (size_t) task * j->k * j->dim;
  int *counts = j->counts + (size_t) task * j->k;

  memset (sums, 0, sizeof (double) * j->k * j->dim);
  memset (counts, 0, sizeof (int) * j->k);
  for (int i = lo; i < hi; i++) {
    const float *xi = j->x + (size_t) i * j->dim;
    int best = 0;
    double bd = sqdist (xi, j->centers, j->dim);
    for (int c = 1; c < j->k; c++) {
      double d = sqdist (xi, j->centers + (size_t) c * j->dim, j->dim);
      if (d < bd) {
        bd = d;
        best = c;
      }
    }
    j->labels[i] = best;
    j->dist[i] = bd;
    counts[best]++;
    for (int d = 0; d < j->dim; d++)
      sums[(size_t) best * j->dim + d] += xi[d];
  }
}

/* Lloyd iterations from @centers until the squared centre shift is at most
 * @tol (absolute) or the labels stop changing; returns the inertia of the
 * final assignment. An emptied cluster takes the point farthest from its
 * centre. */
static double
lloyd (AssignJob *j, double *centers, int max_iter, double tol)
{
  int *old = g_new (int, j->n);
  double inertia = 0, *next = g_new (double, (size_t) j->k * j->dim);

  j->centers = centers;
  for (int it = 0; it < max_iter; it++) {
    double shift = 0;
    gboolean same = it > 0;

    memcpy (old, j->labels, sizeof (int) * j->n);
    mm_parallel_for (j->n_tasks, assign_task, j);
    for (int i = 0; same && i < j->n; i++)
      same = old[i] == j->labels[i];
    if (same)
      break;
    for (int c = 0; c < j->k; c++) {
      int cnt = 0;
      for (int t = 0; t < j->n_tasks; t++)
        cnt += j->counts[(size_t) t * j->k + c];
      for (int d = 0; d < j->dim; d++) {
        double s = 0;
        for (int t = 0; t < j->n_tasks; t++)
          s += j->sums[((size_t) t * j->k + c) * j->dim + d];
        next[(size_t) c * j->dim + d] = cnt ? s / cnt : centers[(size_t) c * j->dim + d];
      }
      if (cnt == 0) {
        int far = 0;
        for (int i = 1; i < j->n; i++)
          if (j->dist[i] > j->dist[far])
            far = i;
        for (int d = 0; d < j->dim; d++)
          next[(size_t) c * j->dim + d] = j->x[(size_t) far * j->dim + d];
        j->dist[far] = 0;
      }
    }
    for (size_t e = 0; e < (size_t) j->k * j->dim; e++) {
      double v = next[e] - centers[e];
      shift += v * v;
    }
    memcpy (centers, next, sizeof (double) * j->k * j->dim);
    if (shift <= tol) {
      mm_parallel_for (j->n_tasks, assign_task, j);
      break;
    }
  }
  for (int i = 0; i < j->n; i++)
    inertia += j->dist[i];
  g_free (old);
  g_free (next);
  return inertia;
}

gboolean
mm_kmeans (const float *x, int n, int dim, const MmKmeansParams *p, int *labels,
    float *centers, double *inertia, GError **error)
{
  MmKmeansParams defaults;
  AssignJob j;
  double *c, *best_c, best = INFINITY, tol = 0;
  int *lab;
  MmRng rng;

  if (!p) {
    mm_kmeans_params_init (&defaults);
    p = &defaults;
  }
  if (!check_args (p->k >= 1 && n >= p->k && dim >= 1 && p->n_init >= 1 && p->max_iter >= 1
          && p->tol >= 0, error, "k-means needs 1 ≤ k ≤ points and positive run counts")
      || !all_finite (x, (size_t) n * dim, error))
    return FALSE;
  /* sklearn's tolerance: tol × the mean of the per-dimension variances */
  for (int d = 0; d < dim; d++) {
    double m = 0, v = 0;
    for (int i = 0; i < n; i++)
      m += x[(size_t) i * dim + d];
    m /= n;
    for (int i = 0; i < n; i++)
      v += (x[(size_t) i * dim + d] - m) * (x[(size_t) i * dim + d] - m);
    tol += v / n;
  }
  tol = tol / dim * p->tol;
  j = (AssignJob) { x, n, dim, p->k, mm_parallel_tasks (n, 512, MAX_TASKS), NULL, NULL,
    g_new (double, n), NULL, NULL };
  j.sums = g_new (double, (size_t) j.n_tasks * p->k * dim);
  j.counts = g_new (int, (size_t) j.n_tasks * p->k);
  lab = g_new0 (int, n);
  j.labels = lab;
  c = g_new (double, (size_t) p->k * dim);
  best_c = g_new (double, (size_t) p->k * dim);
  mm_rng_seed (&rng, p->seed, 0x6b6d);
  for (int run = 0; run < p->n_init; run++) {
    double in;
    kmeanspp (x, n, dim, p->k, &rng, c);
    in = lloyd (&j, c, p->max_iter, tol);
    if (in < best) {
      best = in;
      memcpy (labels, lab, sizeof (int) * n);
      memcpy (best_c, c, sizeof (double) * p->k * dim);
    }
  }
  if (centers)
    for (size_t e = 0; e < (size_t) p->k * dim; e++)
      centers[e] = (float) best_c[e];
  if (inertia)
    *inertia = best;
  g_free (lab);
  g_free (c);
  g_free (best_c);
  g_free (j.dist);
  g_free (j.sums);
  g_free (j.counts);
  return TRUE;
}

/* ---- scores ---- */

static int
compare_int (const void *a, const void *b)
{
  int x = *(const int *) a, y = *(const int *) b;
  return (x > y) - (x < y);
}

/* Relabels @a as 0..m−1 in the order of its sorted distinct values;
 * returns m. */
static int
compact_labels (const int *a, int n, int *out)
{
  int *sorted = g_memdup2 (a, sizeof (int) * MAX (n, 1)), m = 0;

  qsort (sorted, n, sizeof (int), compare_int);
  for (int i = 0; i < n; i++)
    if (i == 0 || sorted[i] != sorted[i - 1])
      sorted[m++] = sorted[i];
  for (int i = 0; i < n; i++)
    out[i] = (int *) bsearch (&a[i], sorted, m, sizeof (int), compare_int) - sorted;
  g_free (sorted);
  return m;
}

/* The contingency table of two labelings: *@table [ma][mb] (g_free). */
static void
contingency (const int *a, const int *b, int n, int *ma, int *mb, double **table)
{
  int *ca = g_new (int, MAX (n, 1)), *cb = g_new (int, MAX (n, 1));

  *ma = compact_labels (a, n, ca);
  *mb = compact_labels (b, n, cb);
  *table = g_new0 (double, (size_t) MAX (*ma, 1) * MAX (*mb, 1));
  for (int i = 0; i < n; i++)
    (*table)[(size_t) ca[i] * *mb + cb[i]] += 1;
  g_free (ca);
  g_free (cb);
}

/* sklearn's pair-confusion form of the ARI. */
double
mm_adjusted_rand_index (const int *a, const int *b, int n)
{
  int ma, mb;
  double *t, ss = 0, sa = 0, sb = 0, tp, fp, fn, tn, nn = n;

  contingency (a, b, n, &ma, &mb, &t);
  for (int i = 0; i < ma; i++) {
    double row = 0;
    for (int j = 0; j < mb; j++) {
      row += t[(size_t) i * mb + j];
      ss += t[(size_t) i * mb + j] * t[(size_t) i * mb + j];
    }
    sa += row * row;
  }
  for (int j = 0; j < mb; j++) {
    double col = 0;
    for (int i = 0; i < ma; i++)
      col += t[(size_t) i * mb + j];
    sb += col * col;
  }
  g_free (t);
  tp = ss - nn;
  fp = sb - ss;
  fn = sa - ss;
  tn = nn * nn - fp - fn - ss;
  if (fn == 0 && fp == 0)
    return 1.0;
  return 2.0 * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn));
}

static double
entropy (const double *counts, int m, double n)
{
  double h = 0;
  for (int i = 0; i < m; i++)
    if (counts[i] > 0)
      h -= counts[i] / n * log (counts[i] / n);
  return h;
}

double
mm_normalized_mutual_info (const int *a, const int *b, int n)
{
  int ma, mb;
  double *t, *ra, *rb, mi = 0, ha, hb;

  contingency (a, b, n, &ma, &mb, &t);
  if ((ma == 1 && mb == 1) || n == 0) {
    g_free (t);
    return 1.0;
  }
  ra = g_new0 (double, ma);
  rb = g_new0 (double, mb);
  for (int i = 0; i < ma; i++)
    for (int j = 0; j < mb; j++) {
      ra[i] += t[(size_t) i * mb + j];
      rb[j] += t[(size_t) i * mb + j];
    }
  for (int i = 0; i < ma; i++)
    for (int j = 0; j < mb; j++) {
      double v = t[(size_t) i * mb + j];
      if (v > 0)
        mi += v / n * log (v * n / (ra[i] * rb[j]));
    }
  ha = entropy (ra, ma, n);
  hb = entropy (rb, mb, n);
  g_free (t);
  g_free (ra);
  g_free (rb);
  if (fabs (mi) < DBL_EPSILON)
    return 0.0;
  return mi / MAX ((ha + hb) / 2, DBL_EPSILON);
}

typedef struct {
  const double *x, *nrm;
  const float *y;
  int n, xdim, ydim, k;
  double *penalty;     /* [n]: Σ over the k embedded neighbours of max(0, rank − k) */
} TrustJob;

static void
trust_task (gpointer data, int task)
{
  TrustJob *j = data;
  int r0 = task * ROW_BLOCK, rows = MIN (ROW_BLOCK, j->n - r0);
  double *dist = g_new (double, (size_t) rows * j->n), nd[j->k];
  int nj[j->k];

  distance_block (j->x, j->nrm, j->n, j->xdim, r0, rows, dist);
  for (int r = 0; r < rows; r++) {
    int i = r0 + r, len = 0;
    const float *yi = j->y + (size_t) i * j->ydim;
    const double *di = dist + (size_t) r * j->n;
    double pen = 0;
    for (int l = 0; l < j->n; l++) {
      double d = 0;
      if (l == i)
        continue;
      for (int c = 0; c < j->ydim; c++) {
        double v = (double) yi[c] - j->y[(size_t) l * j->ydim + c];
        d += v * v;
      }
      len = insert_nearest (nd, nj, len, j->k, d, l);
    }
    /* rank of each embedded neighbour among i's neighbours in x (1 = nearest) */
    for (int e = 0; e < j->k; e++) {
      int m = nj[e], rank = 1;
      double dm = di[m];
      for (int l = 0; l < j->n; l++)
        rank += l != i && (di[l] < dm || (di[l] == dm && l < m));
      pen += MAX (0, rank - j->k);
    }
    j->penalty[i] = pen;
  }
  g_free (dist);
}

gboolean
mm_trustworthiness (const float *x, int xdim, const float *y, int ydim, int n, int k,
    double *result, GError **error)
{
  TrustJob j;
  double sum = 0;

  if (!check_args (n >= 3 && k >= 1 && k < n / 2.0 && xdim >= 1 && ydim >= 1, error,
          "trustworthiness needs 1 ≤ neighbours < points / 2")
      || !all_finite (x, (size_t) n * xdim, error) || !all_finite (y, (size_t) n * ydim, error))
    return FALSE;
  j = (TrustJob) { to_double (x, (size_t) n * xdim), NULL, y, n, xdim, ydim, k,
    g_new (double, n) };
  j.nrm = row_norms (j.x, n, xdim);
  mm_parallel_for ((n + ROW_BLOCK - 1) / ROW_BLOCK, trust_task, &j);
  for (int i = 0; i < n; i++)
    sum += j.penalty[i];
  *result = 1.0 - sum * 2.0 / ((double) n * k * (2.0 * n - 3.0 * k - 1.0));
  g_free ((double *) j.x);
  g_free ((double *) j.nrm);
  g_free (j.penalty);
  return TRUE;
}
