#include "mm-dataset.h"

#include <math.h>
#include <string.h>

#include "mm-error.h"
#include "mm-mnist.h"
#include "mm-rng.h"

MmWaveBank *
mm_wave_bank_new (int n, int len, int sample_rate)
{
  MmWaveBank *bank = g_rc_box_new0 (MmWaveBank);
  bank->n = n;
  bank->len = len;
  bank->sample_rate = sample_rate;
  bank->samples = g_new0 (float, (size_t) MAX (n, 1) * len);
  return bank;
}

MmWaveBank *
mm_wave_bank_ref (MmWaveBank *bank)
{
  return g_rc_box_acquire (bank);
}

static void
wave_bank_clear (gpointer data)
{
  MmWaveBank *bank = data;

  for (int i = 0; bank->names && i < bank->n; i++)
    g_free (bank->names[i]);
  g_free (bank->names);
  g_free (bank->samples);
}

void
mm_wave_bank_unref (MmWaveBank *bank)
{
  if (bank)
    g_rc_box_release_full (bank, wave_bank_clear);
}

MmDataset *
mm_dataset_new (int n, gboolean with_image, gboolean with_audio)
{
  MmDataset *ds = g_new0 (MmDataset, 1);
  ds->n = n;
  if (with_image)
    ds->image = g_new0 (float, (size_t) n * MM_IMAGE_PIXELS);
  if (with_audio)
    ds->audio = g_new0 (float, (size_t) n * MM_AUDIO_VALUES);
  ds->labels = g_new0 (int, MAX (n, 1));
  return ds;
}

void
mm_dataset_free (MmDataset *ds)
{
  if (!ds)
    return;
  g_free (ds->image);
  g_free (ds->audio);
  g_free (ds->labels);
  g_free (ds->wave);
  g_free (ds->score);
  mm_wave_bank_unref (ds->waves);
  g_free (ds);
}

MmDataset *
mm_dataset_subset (const MmDataset *src, const int *idx, int n)
{
  MmDataset *ds = mm_dataset_new (n, src->image != NULL, src->audio != NULL);
  if (src->waves) {
    ds->waves = mm_wave_bank_ref (src->waves);
    ds->wave = g_new (int, MAX (n, 1));
  }
  if (src->score)
    ds->score = g_new (float, MAX (n, 1));
  for (int i = 0; i < n; i++) {
    int j = idx[i];
    ds->labels[i] = src->labels[j];
    if (ds->wave)
      ds->wave[i] = src->wave[j];
    if (ds->score)
      ds->score[i] = src->score[j];
    if (src->image)
      memcpy (ds->image + (size_t) i * MM_IMAGE_PIXELS,
          src->image + (size_t) j * MM_IMAGE_PIXELS, MM_IMAGE_PIXELS * sizeof (float));
    if (src->audio)
      memcpy (ds->audio + (size_t) i * MM_AUDIO_VALUES,
          src->audio + (size_t) j * MM_AUDIO_VALUES, MM_AUDIO_VALUES * sizeof (float));
  }
  return ds;
}

MmDataset *
mm_dataset_head (const MmDataset *src, int n)
{
  int *idx = g_new (int, MAX (n, 1));
  MmDataset *ds;

  g_return_val_if_fail (n >= 0 && n <= src->n, NULL);
  for (int i = 0; i < n; i++)
    idx[i] = i;
  ds = mm_dataset_subset (src, idx, n);
  g_free (idx);
  return ds;
}

MmDataset *
mm_dataset_concat (const MmDataset *a, const MmDataset *b)
{
  MmDataset *ds;

  g_return_val_if_fail ((a->image == NULL) == (b->image == NULL), NULL);
  g_return_val_if_fail ((a->audio == NULL) == (b->audio == NULL), NULL);
  ds = mm_dataset_new (a->n + b->n, a->image != NULL, a->audio != NULL);
  memcpy (ds->labels, a->labels, sizeof (int) * a->n);
  memcpy (ds->labels + a->n, b->labels, sizeof (int) * b->n);
  if (ds->image) {
    memcpy (ds->image, a->image, sizeof (float) * MM_IMAGE_PIXELS * a->n);
    memcpy (ds->image + (size_t) a->n * MM_IMAGE_PIXELS, b->image,
        sizeof (float) * MM_IMAGE_PIXELS * b->n);
  }
  if (ds->audio) {
    memcpy (ds->audio, a->audio, sizeof (float) * MM_AUDIO_VALUES * a->n);
    memcpy (ds->audio + (size_t) a->n * MM_AUDIO_VALUES, b->audio,
        sizeof (float) * MM_AUDIO_VALUES * b->n);
  }
  return ds;
}

void
mm_dataset_normalize (MmDataset *ds, const MmNorm *norm)
{
  if (ds->image) {
    float inv = 1.0f / norm->image_std;
    size_t n = (size_t) ds->n * MM_IMAGE_PIXELS;
    for (size_t i = 0; i < n; i++)
      ds->image[i] = (ds->image[i] - norm->image_mean) * inv;
  }
  if (ds->audio) {
    for (size_t i = 0; i < (size_t) ds->n * MM_MFCC_FRAMES; i++) {
      float *row = ds->audio + i * MM_MFCC_COEFFS;
      for (int k = 0; k < MM_MFCC_COEFFS; k++)
        row[k] = (row[k] - norm->mfcc_mean[k]) / norm->mfcc_std[k];
    }
  }
}

void
mm_dataset_audio_stats (const MmDataset *ds, float mean[13], float std[13])
{
  double sum[MM_MFCC_COEFFS] = { 0 }, sq[MM_MFCC_COEFFS] = { 0 };
  size_t rows = ds->audio ? (size_t) ds->n * MM_MFCC_FRAMES : 0;

  for (size_t i = 0; i < rows; i++) {
    const float *row = ds->audio + i * MM_MFCC_COEFFS;
    for (int k = 0; k < MM_MFCC_COEFFS; k++) {
      sum[k] += row[k];
      sq[k] += (double) row[k] * row[k];
    }
  }
  for (int k = 0; k < MM_MFCC_COEFFS; k++) {
    double m = rows ? sum[k] / rows : 0.0;
    double var = rows ? sq[k] / rows - m * m : 0.0;
    mean[k] = (float) m;
    std[k] = var > 1e-12 ? (float) sqrt (var) : 1.0f;
  }
}

void
mm_split_14_3_3 (int n, guint64 seed, int **train, int *n_train,
    int **val, int *n_val, int **test, int *n_test)
{
  int *perm = g_new (int, n);
  MmRng rng;
  int ntr = n * 14 / 20, nva = n * 3 / 20, nte = n - ntr - nva;

  for (int i = 0; i < n; i++)
    perm[i] = i;
  mm_rng_seed (&rng, seed, 0x5);
  mm_rng_shuffle (&rng, perm, n);
  *train = g_memdup2 (perm, sizeof (int) * MAX (ntr, 1));
  *val = g_memdup2 (perm + ntr, sizeof (int) * MAX (nva, 1));
  *test = g_memdup2 (perm + ntr + nva, sizeof (int) * MAX (nte, 1));
  *n_train = ntr;
  *n_val = nva;
  *n_test = nte;
  g_free (perm);
}

MmDataset *
mm_dataset_load_mnist (const char *data_dir, gboolean train_set, GError **error)
{
  const char *stem = train_set ? "train" : "t10k";
  char *img_name = g_strdup_printf ("%s-images-idx3-ubyte.gz", stem);
  char *lab_name = g_strdup_printf ("%s-labels-idx1-ubyte.gz", stem);
  char *img_path = g_build_filename (data_dir, "mnist", img_name, NULL);
  char *lab_path = g_build_filename (data_dir, "mnist", lab_name, NULL);
  MmIdxImages img = { 0 };
  guint8 *labels = NULL;
  int n_labels = 0;
  MmDataset *ds = NULL;

  if (!mm_idx_load_images (img_path, &img, error)
      || !mm_idx_load_labels (lab_path, &labels, &n_labels, error))
    goto out;
  if (img.rows != MM_IMAGE_SIZE || img.cols != MM_IMAGE_SIZE || img.n != n_labels) {
    g_set_error (error, MM_ERROR, MM_ERROR_MISMATCH,
        "%s: %d images of %d×%d for %d labels in %s (expected 28×28, one label each)",
        img_path, img.n, img.rows, img.cols, n_labels, lab_path);
    goto out;
  }
  ds = mm_dataset_new (img.n, TRUE, FALSE);
  for (size_t i = 0; i < (size_t) img.n * MM_IMAGE_PIXELS; i++)
    ds->image[i] = img.pixels[i] / 255.0f;
  for (int i = 0; i < img.n; i++)
    ds->labels[i] = labels[i];
out:
  mm_idx_images_clear (&img);
  g_free (labels);
  g_free (img_name);
  g_free (lab_name);
  g_free (img_path);
  g_free (lab_path);
  return ds;
}
