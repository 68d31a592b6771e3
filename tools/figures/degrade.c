/* Input degradations for the robustness curves (see degrade.h). */
#include "degrade.h"

#include <math.h>
#include <string.h>

#include "mm-augment.h"
#include "mm-error.h"
#include "mm-frontend.h"
#include "mm-net.h"
#include "mm-rng.h"
#include "mm-words.h"

#define SIDE MM_IMAGE_SIZE

void
mm_degrade_occlude (float *images, int n, double fraction, guint64 seed)
{
  int side = (int) lround (SIDE * sqrt (CLAMP (fraction, 0, 1)));

  if (side <= 0)
    return;
  for (int i = 0; i < n; i++) {
    float *img = images + (size_t) i * MM_IMAGE_PIXELS;
    int r0 = SIDE, r1 = -1, c0 = SIDE, c1 = -1, cr, cc, top, left;
    MmRng rng;

    for (int r = 0; r < SIDE; r++)
      for (int c = 0; c < SIDE; c++)
        if (img[r * SIDE + c] > 0.1f) {
          r0 = MIN (r0, r);
          r1 = MAX (r1, r);
          c0 = MIN (c0, c);
          c1 = MAX (c1, c);
        }
    if (r1 < 0) {
      r0 = c0 = 0;
      r1 = c1 = SIDE - 1;
    }
    mm_rng_seed (&rng, seed, (guint64) i);
    cr = r0 + (int) mm_rng_below (&rng, r1 - r0 + 1);
    cc = c0 + (int) mm_rng_below (&rng, c1 - c0 + 1);
    top = CLAMP (cr - side / 2, 0, SIDE - side);
    left = CLAMP (cc - side / 2, 0, SIDE - side);
    for (int r = top; r < top + side; r++)
      memset (img + r * SIDE + left, 0, sizeof (float) * side);
  }
}

void
mm_degrade_noise (float *images, int n, double sigma, guint64 seed)
{
  if (sigma <= 0)
    return;
  for (int i = 0; i < n; i++) {
    MmRng rng;
    mm_rng_seed (&rng, seed, (guint64) i);
    mm_aug_pixel_noise (&rng, images + (size_t) i * MM_IMAGE_PIXELS, (float) sigma);
  }
}

/* ---- new writers ---- */

/* Fixed before any model was measured on them, and on purpose partly
 * beyond `train --augment image`'s ranges (shear 10°, noise σ ≤ 0.15): a
 * proxy for writers unlike the training set should not sit inside what
 * training already showed the network. */
#define WRITER_SLANT_DEG 20.0f
#define WRITER_BLUR_SIGMA 1.0f
#define WRITER_NOISE_SD 0.2
/* the slant's sign comes from a stream of its own, apart from the noise's */
#define WRITER_SLANT_STREAM 0x51a27ULL

static const char *const writer_names[MM_WRITER_N] = {
  "thin", "thick", "slant", "blur", "noise"
};

const char *
mm_writer_kind_name (MmWriterKind kind)
{
  return kind >= 0 && kind < MM_WRITER_N ? writer_names[kind] : "all";
}

/* The index of @name in @names[0..n), or −1. */
static int
name_index (const char *const *names, int n, const char *name)
{
  for (int k = 0; k < n; k++)
    if (!strcmp (name, names[k]))
      return k;
  return -1;
}

gboolean
mm_writer_kind_parse (const char *name, MmWriterKind *kind)
{
  int k = name_index (writer_names, MM_WRITER_N, name);

  if (k >= 0)
    *kind = (MmWriterKind) k;
  return k >= 0;
}

void
mm_degrade_writers (float *images, int n, MmWriterKind kind, guint64 seed)
{
  float tmp[MM_IMAGE_PIXELS];

  for (int i = 0; i < n; i++) {
    float *img = images + (size_t) i * MM_IMAGE_PIXELS;
    MmWriterKind k = kind == MM_WRITER_ALL ? (MmWriterKind) (i % MM_WRITER_N) : kind;
    MmRng rng;

    memcpy (tmp, img, sizeof tmp);
    switch (k) {
      case MM_WRITER_THIN:
      case MM_WRITER_THICK:
        mm_aug_stroke (tmp, img, k == MM_WRITER_THICK);
        break;
      case MM_WRITER_SLANT:
        mm_rng_seed (&rng, seed ^ WRITER_SLANT_STREAM, (guint64) i);
        mm_aug_affine (tmp, img, 0, 1, mm_rng_below (&rng, 2) ? WRITER_SLANT_DEG
            : -WRITER_SLANT_DEG, 0, 0);
        break;
      case MM_WRITER_BLUR:
        mm_aug_blur (img, WRITER_BLUR_SIGMA);
        break;
      case MM_WRITER_NOISE:
        mm_rng_seed (&rng, seed, (guint64) i);
        mm_aug_pixel_noise (&rng, img, WRITER_NOISE_SD);
        break;
      default:
        g_assert_not_reached ();
    }
  }
}

/* ---- noisy audio ---- */

static const char *const noise_names[MM_NOISE_N] = { "white", "pink", "babble", "crowd" };

const char *
mm_noise_kind_name (MmNoiseKind kind)
{
  return noise_names[kind];
}

gboolean
mm_noise_kind_parse (const char *name, MmNoiseKind *kind)
{
  int k = name_index (noise_names, MM_NOISE_N, name);

  if (k >= 0)
    *kind = (MmNoiseKind) k;
  return k >= 0;
}

static int
compare_ints (gconstpointer a, gconstpointer b)
{
  return *(const int *) a - *(const int *) b;
}

GArray *
mm_degrade_babble_pool (const MmDataset *split, MmRng *rng)
{
  GArray *pool = g_array_new (FALSE, FALSE, sizeof (int));
  guint n = 0;

  for (int i = 0; split->wave && i < split->n; i++)
    g_array_append_val (pool, split->wave[i]);
  g_array_sort (pool, compare_ints);
  for (guint i = 0; i < pool->len; i++)
    if (i == 0 || g_array_index (pool, int, i) != g_array_index (pool, int, n - 1))
      g_array_index (pool, int, n++) = g_array_index (pool, int, i);
  mm_rng_shuffle (rng, (int *) pool->data, n);
  g_array_set_size (pool, MIN (n, MM_BABBLE_POOL));
  return pool;
}

/* For each sample of @ds, the first sample made from the same recording
 * (itself for the first): a recording repeats across samples, and its
 * changed block is made once and copied. Caller frees. */
static int *
first_of_recording (const MmDataset *ds)
{
  int *by_rec = g_new (int, ds->waves->n), *first = g_new (int, MAX (ds->n, 1));

  for (int r = 0; r < ds->waves->n; r++)
    by_rec[r] = -1;
  for (int i = 0; i < ds->n; i++) {
    int r = ds->wave[i];
    if (by_rec[r] < 0)
      by_rec[r] = i;
    first[i] = by_rec[r];
  }
  g_free (by_rec);
  return first;
}

/* @views[k] = a copy of @ds for each of @mfcc's views; FALSE (none made)
 * when @ds lacks its clips. */
static gboolean
views_alloc (const MmDataset *ds, const MmMfccParams *mfcc, MmDataset **views, GError **error)
{
  if (!ds->audio || !ds->waves || !ds->wave) {
    g_set_error (error, MM_ERROR, MM_ERROR_INVALID, "test-time views need the set's clips");
    return FALSE;
  }
  /* a view is made of a word's one-second clip */
  g_return_val_if_fail ((size_t) ds->waves->len == mm_frontend_block_samples (mfcc), FALSE);
  for (int k = 0; k < mfcc->n_views; k++)
    views[k] = mm_dataset_head (ds, ds->n);
  return TRUE;
}

static void
views_clear (MmDataset **views, int n)
{
  for (int k = 0; views && k < n; k++)
    g_clear_pointer (&views[k], mm_dataset_free);
}

/* Sample @i's view blocks (@blocks: n_views of them) into @views. */
static void
views_put (MmDataset **views, int n, int i, const float *blocks)
{
  for (int k = 0; k < n; k++)
    memcpy (views[k]->audio + (size_t) i * MM_AUDIO_VALUES, blocks + (size_t) k * MM_AUDIO_VALUES,
        sizeof (float) * MM_AUDIO_VALUES);
}

static void
views_copy (MmDataset **views, int n, int to, int from)
{
  for (int k = 0; k < n; k++)
    memcpy (views[k]->audio + (size_t) to * MM_AUDIO_VALUES,
        views[k]->audio + (size_t) from * MM_AUDIO_VALUES, sizeof (float) * MM_AUDIO_VALUES);
}

gboolean
mm_degrade_audio (MmDataset *ds, MmNoiseKind kind, double snr_db, const GArray *pool,
    const MmMfccParams *mfcc, guint64 seed, gboolean scores, MmDataset **views,
    GError **error)
{
  int n_views = views ? mfcc->n_views : 0;
  MmWordsParams wp;
  MmMfcc *m = NULL;
  MmFrontendViews *fv = NULL;
  float *mixed, *noise, *blocks;
  int len, *first;
  gboolean ok = TRUE;

  if (!ds->audio || !ds->waves || !ds->wave) {
    g_set_error (error, MM_ERROR, MM_ERROR_INVALID, "noisy audio needs the set's clips");
    return FALSE;
  }
  mm_words_params_init (&wp);
  wp.sample_rate = ds->waves->sample_rate;
  if (!mm_words_params_check (&wp, error) || !(m = mm_mfcc_new (mfcc, error))
      || (n_views && (!(fv = mm_frontend_views_new (mfcc, error))
              || !views_alloc (ds, mfcc, views, error)))) {
    mm_mfcc_free (m);
    mm_frontend_views_free (fv);
    return FALSE;
  }
  if (scores && !ds->score)
    ds->score = g_new (float, MAX (ds->n, 1));
  len = ds->waves->len;
  mixed = g_new (float, len);
  noise = g_new (float, len);
  blocks = g_new (float, (size_t) MAX (n_views, 1) * MM_AUDIO_VALUES);
  first = first_of_recording (ds);
  for (int i = 0; ok && i < ds->n; i++) {
    int r = ds->wave[i];
    float *out = ds->audio + (size_t) i * MM_AUDIO_VALUES;
    MmRng rng;
    GArray *spans;
    MmWordSpan word;

    if (first[i] != i) {
      memcpy (out, ds->audio + (size_t) first[i] * MM_AUDIO_VALUES, sizeof (float) * MM_AUDIO_VALUES);
      views_copy (views, n_views, i, first[i]);
      if (scores)
        ds->score[i] = ds->score[first[i]];
      continue;
    }
    mm_rng_seed (&rng, seed, (guint64) r);
    if (kind == MM_NOISE_WHITE)
      mm_aug_white (&rng, noise, len);
    else if (kind == MM_NOISE_PINK)
      mm_aug_pink (&rng, noise, len);
    else if (kind == MM_NOISE_BABBLE)
      mm_aug_babble (&rng, ds->waves->samples, len, (const int *) pool->data, pool->len,
          MM_BABBLE_TALKERS, noise, len);
    else
      mm_aug_crowd (&rng, ds->waves->samples, len, (const int *) pool->data, pool->len,
          MM_BABBLE_TALKERS, noise, len);
    memcpy (mixed, ds->waves->samples + (size_t) r * len, sizeof (float) * len);
    mm_aug_add_noise (mixed, noise, len, (float) snr_db);
    ok = mm_mfcc_compute (m, mixed, len, out, error)
        && (!n_views || mm_frontend_views_compute (fv, mixed, blocks, error));
    if (ok && n_views)
      views_put (views, n_views, i, blocks);
    if (ok && scores && (ok = (spans = mm_words_find (&wp, mixed, len, error)) != NULL)) {
      /* the score of the noisy clip, as the detector would hear it */
      ds->score[i] = mm_words_loudest (spans, &word) ? (float) word.snr_db : NAN;
      g_array_free (spans, TRUE);
    }
  }
  if (!ok)
    views_clear (views, n_views);
  g_free (first);
  g_free (blocks);
  g_free (mixed);
  g_free (noise);
  mm_mfcc_free (m);
  mm_frontend_views_free (fv);
  return ok;
}

gboolean
mm_degrade_views (const MmDataset *ds, const MmMfccParams *mfcc, MmDataset **views,
    GError **error)
{
  MmFrontendViews *fv;
  float *blocks;
  int len, *first;
  gboolean ok = TRUE;

  if (!(fv = mm_frontend_views_new (mfcc, error)))
    return FALSE;
  if (!views_alloc (ds, mfcc, views, error)) {
    mm_frontend_views_free (fv);
    return FALSE;
  }
  len = ds->waves->len;
  blocks = g_new (float, (size_t) MAX (mfcc->n_views, 1) * MM_AUDIO_VALUES);
  first = first_of_recording (ds);
  for (int i = 0; ok && i < ds->n; i++) {
    if (first[i] != i) {
      views_copy (views, mfcc->n_views, i, first[i]);
      continue;
    }
    ok = mm_frontend_views_compute (fv, ds->waves->samples + (size_t) ds->wave[i] * len, blocks,
        error);
    if (ok)
      views_put (views, mfcc->n_views, i, blocks);
  }
  if (!ok)
    views_clear (views, mfcc->n_views);
  g_free (first);
  g_free (blocks);
  mm_frontend_views_free (fv);
  return ok;
}
