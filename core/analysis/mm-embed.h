/* mmdigits — looking at what a network learned: PCA, t-SNE, k-means++ and
 * the scores that say how good a picture or a clustering is.
 *
 * Points are rows of a row-major float matrix x[n][dim]. Every function is
 * deterministic for given inputs and parameters: work is split into tasks
 * over the core's worker pool by problem size only (see mm-parallel.h), so
 * the thread count does not change a result. Arrays are owned by the caller
 * unless said otherwise. Functions that can fail return FALSE with @error
 * set in MM_ERROR (MM_ERROR_INVALID for a bad argument).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* ---- PCA (LAPACK's symmetric eigensolver on the covariance) ----
 * Projects the centred points onto the @k leading principal axes:
 * @out [n][k]. @k ≤ dim and n ≥ 2. Each axis's sign makes its largest
 * loading positive, so the result does not depend on the solver's choice.
 * @explained [k] (may be NULL): the variance along each axis (n − 1
 * denominator, as sklearn's explained_variance_). */
gboolean mm_pca (const float *x, int n, int dim, int k, float *out, double *explained,
                 GError **error);

/* ---- t-SNE (Barnes–Hut, van der Maaten 2014), as sklearn's TSNE ----
 * Input affinities from the 3·perplexity nearest neighbours (exact, Euclidean),
 * symmetrised and normalised; gradient descent with momentum and gains,
 * early exaggeration; repulsion through a quadtree with opening angle theta. */
typedef struct {
  double perplexity;          /* 30 */
  int n_iter;                 /* 1000 (total, including exaggeration) */
  int exaggeration_iter;      /* 250 */
  double early_exaggeration;  /* 12 */
  double learning_rate;       /* 0 = auto: max(n / early_exaggeration / 4, 50) */
  double theta;               /* 0.5 */
  gboolean random_init;       /* FALSE: PCA (sklearn's default); TRUE: N(0, 1e-4²) from @seed */
  guint64 seed;               /* 1 */
} MmTsneParams;

void     mm_tsne_params_init (MmTsneParams *p);   /* the defaults above */
/* @p: NULL = defaults. @y [n][2]; @kl (may be NULL): the Kullback–Leibler
 * divergence of the result (over the sparse P, with the Barnes–Hut
 * normaliser), as sklearn's kl_divergence_. Needs n ≥ 4; the neighbour
 * count is capped at n − 1. Bit-identical whatever the pool's thread count
 * when OpenBLAS runs single-threaded (its own threads may round the
 * neighbour search's products differently). */
gboolean mm_tsne (const float *x, int n, int dim, const MmTsneParams *p, float *y,
                  double *kl, GError **error);

/* ---- k-means (Lloyd) with k-means++ seeding, as sklearn's KMeans ---- */
typedef struct {
  int k;             /* 10 */
  int n_init;        /* 10 runs, the lowest inertia kept */
  int max_iter;      /* 300 */
  double tol;        /* 1e-4, relative to the mean per-dimension variance */
  guint64 seed;      /* 1 */
} MmKmeansParams;

void     mm_kmeans_params_init (MmKmeansParams *p);
/* @labels [n] in 0..k−1; @centers [k][dim] (may be NULL); @inertia (may be
 * NULL): sum of squared distances to the assigned centre. n ≥ k. */
gboolean mm_kmeans (const float *x, int n, int dim, const MmKmeansParams *p, int *labels,
                    float *centers, double *inertia, GError **error);

/* ---- scores ---- */
/* Adjusted Rand index of two labelings (labels ≥ 0), as sklearn's
 * adjusted_rand_score: 1 for identical partitions, about 0 for chance. */
double   mm_adjusted_rand_index (const int *a, const int *b, int n);
/* Normalised mutual information with the arithmetic mean of the two
 * entropies, as sklearn's normalized_mutual_info_score. */
double   mm_normalized_mutual_info (const int *a, const int *b, int n);
/* Trustworthiness of an embedding @y [n][ydim] of @x [n][xdim] for
 * @k neighbours (sklearn's trustworthiness, Euclidean): 1 when every
 * point's k nearest neighbours in @y are among its k nearest in @x.
 * Needs k < n / 2. */
gboolean mm_trustworthiness (const float *x, int xdim, const float *y, int ydim, int n, int k,
                             double *result, GError **error);

G_END_DECLS
