#include "mm-test-models.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "mm-modelfile.h"

void
mm_test_remove_tree (const char *dir)
{
  GDir *d = dir ? g_dir_open (dir, 0, NULL) : NULL;
  const char *name;

  if (!d)
    return;
  while ((name = g_dir_read_name (d))) {
    char *p = g_build_filename (dir, name, NULL);

    if (g_file_test (p, G_FILE_TEST_IS_DIR) && !g_file_test (p, G_FILE_TEST_IS_SYMLINK))
      mm_test_remove_tree (p);
    else
      g_unlink (p);
    g_free (p);
  }
  g_dir_close (d);
  g_rmdir (dir);
}

char *
mm_test_save_model (const char *dir, const char *name, MmArch arch, guint64 seed,
    const char *mfcc_json, float t, GError **error)
{
  MmNet *net = mm_net_new (arch, seed);
  MmNorm *norm = mm_net_norm (net);
  MmModelMeta meta = { .mfcc_json = (char *) mfcc_json };
  char *path = g_build_filename (dir, name, NULL);

  norm->image_mean = 0.3f;
  norm->image_std = 0.2f;
  for (int k = 0; k < MM_MFCC_COEFFS; k++) {
    norm->mfcc_mean[k] = 0.1f * k;
    norm->mfcc_std[k] = 2.0f + k;
  }
  mm_net_set_temperature (net, t);
  if (!mm_model_save (net, &meta, path, error))
    g_clear_pointer (&path, g_free);
  mm_net_free (net);
  return path;
}

void
mm_test_fill_crop (guint8 *px, int pattern)
{
  memset (px, 0, MM_IMAGE_PIXELS);
  for (int r = 4; r < 24; r++)
    for (int c = 0; c < 4; c++)
      px[r * MM_IMAGE_SIZE + 4 + 2 * pattern + c] = 255;
}

void
mm_test_fill_mfcc (float *v, int pattern)
{
  for (int t = 0; t < MM_MFCC_FRAMES; t++)
    for (int k = 0; k < MM_MFCC_COEFFS; k++)
      v[t * MM_MFCC_COEFFS + k] = (float) sin (0.3 * t * (pattern + 1) + k) * (10.0f - k);
}

gboolean
mm_test_expected_probs (const char *file, const guint8 *gray, const float *mfcc,
    double probs[MM_N_CLASSES])
{
  return mm_test_expected_probs_views (file, gray, mfcc, 1, probs);
}

gboolean
mm_test_expected_probs_views (const char *file, const guint8 *gray, const float *mfcc,
    int n_blocks, double probs[MM_N_CLASSES])
{
  MmNet *net = mm_model_load (file, NULL, NULL);
  float image[MM_IMAGE_PIXELS], audio[MM_AUDIO_VALUES], logits[MM_N_CLASSES];
  double mean[MM_N_CLASSES] = { 0 }, max, sum = 0;

  if (!net)
    return FALSE;
  mm_net_set_training (net, FALSE);
  if (gray)
    mm_net_prepare_image (mm_net_norm (net), gray, image);
  for (int b = 0; b < n_blocks; b++) {
    if (mfcc)
      mm_net_prepare_audio (mm_net_norm (net), mfcc + (size_t) b * MM_AUDIO_VALUES, audio);
    mm_net_forward (net, 1, gray ? image : NULL, mfcc ? audio : NULL, logits);
    for (int k = 0; k < MM_N_CLASSES; k++)
      mean[k] += (double) logits[k] / n_blocks;
  }
  max = mean[0];
  for (int k = 1; k < MM_N_CLASSES; k++)
    max = MAX (max, mean[k]);
  /* calibrated: softmax of the (mean) logits over the model's temperature */
  for (int k = 0; k < MM_N_CLASSES; k++)
    sum += probs[k] = exp ((mean[k] - max) / mm_net_temperature (net));
  for (int k = 0; k < MM_N_CLASSES; k++)
    probs[k] /= sum;
  mm_net_free (net);
  return TRUE;
}
