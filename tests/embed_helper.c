/* Runs the numerics of mm-embed.h on a raw matrix for tests/embed_sklearn.py,
 * which compares the outcome with scikit-learn's.
 *
 *   embed_helper THREADS pca    X.f32 N DIM K   OUT.f32
 *   embed_helper THREADS tsne   X.f32 N DIM     OUT.f32     (prints the KL divergence)
 *   embed_helper THREADS kmeans X.f32 N DIM K   OUT.i32     (prints the inertia)
 *   embed_helper THREADS trust  X.f32 Y.f32 N XDIM YDIM K   (prints the trustworthiness)
 *   embed_helper THREADS scores A.i32 B.i32 N               (prints ARI and NMI)
 *
 * Files are little-endian raw arrays, row-major. Exit 1 with a message on failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mm-embed.h"
#include "mm-threads.h"

static void *
load (const char *path, size_t bytes)
{
  gchar *data = NULL;
  gsize len = 0;
  GError *error = NULL;

  if (!g_file_get_contents (path, &data, &len, &error) || len != bytes) {
    fprintf (stderr, "embed_helper: %s: %s\n", path,
        error ? error->message : "wrong size");
    exit (1);
  }
  return data;
}

static void
save (const char *path, const void *data, size_t bytes)
{
  GError *error = NULL;
  if (!g_file_set_contents (path, data, (gssize) bytes, &error)) {
    fprintf (stderr, "embed_helper: %s\n", error->message);
    exit (1);
  }
}

static void
fail (GError *error)
{
  fprintf (stderr, "embed_helper: %s\n", error->message);
  exit (1);
}

int
main (int argc, char **argv)
{
  GError *error = NULL;
  const char *mode;

  if (argc < 3) {
    fprintf (stderr, "usage: embed_helper THREADS MODE ARGS...\n");
    return 2;
  }
  mm_set_threads (atoi (argv[1]));
  mode = argv[2];
  if (!strcmp (mode, "pca") && argc == 8) {
    int n = atoi (argv[4]), dim = atoi (argv[5]), k = atoi (argv[6]);
    float *x = load (argv[3], sizeof (float) * n * dim), *out = g_new (float, (size_t) n * k);
    if (!mm_pca (x, n, dim, k, out, NULL, &error))
      fail (error);
    save (argv[7], out, sizeof (float) * n * k);
  } else if (!strcmp (mode, "tsne") && argc == 7) {
    int n = atoi (argv[4]), dim = atoi (argv[5]);
    float *x = load (argv[3], sizeof (float) * n * dim), *y = g_new (float, (size_t) n * 2);
    double kl;
    gint64 t0 = g_get_monotonic_time ();
    if (!mm_tsne (x, n, dim, NULL, y, &kl, &error))
      fail (error);
    printf ("{\"kl\": %.6f, \"seconds\": %.3f}\n", kl, (g_get_monotonic_time () - t0) / 1e6);
    save (argv[6], y, sizeof (float) * n * 2);
  } else if (!strcmp (mode, "kmeans") && argc == 8) {
    int n = atoi (argv[4]), dim = atoi (argv[5]);
    float *x = load (argv[3], sizeof (float) * n * dim);
    int *labels = g_new (int, n);
    MmKmeansParams p;
    double inertia;
    mm_kmeans_params_init (&p);
    p.k = atoi (argv[6]);
    if (!mm_kmeans (x, n, dim, &p, labels, NULL, &inertia, &error))
      fail (error);
    printf ("{\"inertia\": %.6f}\n", inertia);
    save (argv[7], labels, sizeof (int) * n);
  } else if (!strcmp (mode, "trust") && argc == 9) {
    int n = atoi (argv[5]), xd = atoi (argv[6]), yd = atoi (argv[7]), k = atoi (argv[8]);
    float *x = load (argv[3], sizeof (float) * n * xd), *y = load (argv[4], sizeof (float) * n * yd);
    double t;
    if (!mm_trustworthiness (x, xd, y, yd, n, k, &t, &error))
      fail (error);
    printf ("{\"trustworthiness\": %.9f}\n", t);
  } else if (!strcmp (mode, "scores") && argc == 6) {
    int n = atoi (argv[5]);
    int *a = load (argv[3], sizeof (int) * n), *b = load (argv[4], sizeof (int) * n);
    printf ("{\"ari\": %.12f, \"nmi\": %.12f}\n", mm_adjusted_rand_index (a, b, n),
        mm_normalized_mutual_info (a, b, n));
  } else {
    fprintf (stderr, "embed_helper: bad arguments for '%s'\n", mode);
    return 2;
  }
  return 0;
}
