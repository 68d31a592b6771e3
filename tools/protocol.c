/* Data for training and evaluation: MNIST (and, for audio networks, FSDD)
 * arranged as the study's protocols. */
#include "mm-cli.h"

#include <string.h>

#include "mm-error.h"

void
mm_splits_clear (MmSplits *s)
{
  g_clear_pointer (&s->train, mm_dataset_free);
  g_clear_pointer (&s->val, mm_dataset_free);
  g_clear_pointer (&s->test, mm_dataset_free);
  g_clear_pointer (&s->heldout, mm_dataset_free);
  g_clear_pointer (&s->description, g_free);
}

gboolean
mm_protocol_load (MmArch arch, const char *data_dir, gboolean need_train,
    MmSplits *out, GError **error)
{
  MmDataset *all;
  int *tr, *va, *te, ntr, nva, nte;

  memset (out, 0, sizeof *out);
  if (mm_arch_uses_audio (arch)) {
    g_set_error (error, MM_ERROR, MM_ERROR_INVALID,
        "%s needs spoken digits; audio data loading is not built yet", mm_arch_name (arch));
    return FALSE;
  }
  all = mm_dataset_load_mnist (data_dir, TRUE, error);
  if (!all)
    return FALSE;
  mm_split_14_3_3 (all->n, MM_SPLIT_SEED, &tr, &ntr, &va, &nva, &te, &nte);
  if (need_train) {
    out->train = mm_dataset_subset (all, tr, ntr);
    out->val = mm_dataset_subset (all, va, nva);
  }
  out->test = mm_dataset_subset (all, te, nte);
  mm_dataset_free (all);
  g_free (tr);
  g_free (va);
  g_free (te);
  out->heldout = mm_dataset_load_mnist (data_dir, FALSE, error);
  if (!out->heldout) {
    mm_splits_clear (out);
    return FALSE;
  }
  out->description = g_strdup_printf ("MNIST training set split 14:3:3 (seed %" G_GUINT64_FORMAT
      ") into %d/%d/%d; held-out: MNIST test set (10,000)", (guint64) MM_SPLIT_SEED, ntr, nva, nte);
  return TRUE;
}
