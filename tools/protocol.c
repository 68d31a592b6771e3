/* Data for training and evaluation: MNIST (and, for audio networks, FSDD)
 * arranged as the study's protocols (see mm-cli.h). */
#include "mm-cli.h"

#include <string.h>

#include "fsdd.h"
#include "mm-error.h"
#include "mm-mnist.h"
#include "mm-rng.h"

#define N_DIGITS 10

static const char *const speakers[] = {
  "george", "jackson", "lucas", "nicolas", "theo", "yweweler", NULL
};

typedef enum { PROTOCOL_PAPER, PROTOCOL_CLEAN, PROTOCOL_NEW_SPEAKER } ProtocolKind;

typedef struct {
  ProtocolKind kind;
  const char *speaker;    /* new-speaker: interned name */
} Protocol;

/* Which recordings may be paired: an index range, and one speaker kept or
 * left out. Speakers are interned, so pointers compare. */
typedef struct {
  int min_index, max_index;
  const char *only, *exclude;
} Pool;

/* MNIST labels, and pixels (uint8) only when the network sees images. */
typedef struct {
  int n;
  guint8 *labels;
  MmIdxImages img;
} Mnist;

static gboolean
parse_protocol (const char *name, Protocol *p, GError **error)
{
  const char *prefix = "new-speaker:";

  memset (p, 0, sizeof *p);
  if (!strcmp (name, "paper")) {
    p->kind = PROTOCOL_PAPER;
    return TRUE;
  }
  if (!strcmp (name, "clean")) {
    p->kind = PROTOCOL_CLEAN;
    return TRUE;
  }
  if (g_str_has_prefix (name, prefix)
      && g_strv_contains ((const char *const *) speakers, name + strlen (prefix))) {
    p->kind = PROTOCOL_NEW_SPEAKER;
    p->speaker = g_intern_string (name + strlen (prefix));
    return TRUE;
  }
  g_set_error (error, MM_ERROR, MM_ERROR_INVALID, "unknown protocol '%s' (paper, clean, "
      "new-speaker:NAME with NAME one of george, jackson, lucas, nicolas, theo, yweweler)", name);
  return FALSE;
}

gboolean
mm_protocol_check (const char *protocol, GError **error)
{
  Protocol p;
  return parse_protocol (protocol, &p, error);
}

void
mm_splits_clear (MmSplits *s)
{
  g_clear_pointer (&s->train, mm_dataset_free);
  g_clear_pointer (&s->val, mm_dataset_free);
  g_clear_pointer (&s->test, mm_dataset_free);
  g_clear_pointer (&s->heldout, mm_dataset_free);
  g_clear_pointer (&s->protocol, g_free);
  g_clear_pointer (&s->description, g_free);
}

static void
mnist_clear (Mnist *m)
{
  g_clear_pointer (&m->labels, g_free);
  mm_idx_images_clear (&m->img);
}

static gboolean
mnist_load (const char *data_dir, gboolean train_set, gboolean with_images, Mnist *m,
    GError **error)
{
  const char *stem = train_set ? "train" : "t10k";
  char *name = g_strdup_printf ("%s-labels-idx1-ubyte.gz", stem);
  char *path = g_build_filename (data_dir, "mnist", name, NULL);
  gboolean ok = mm_idx_load_labels (path, &m->labels, &m->n, error);

  g_free (name);
  g_free (path);
  if (!ok || !with_images)
    return ok;
  name = g_strdup_printf ("%s-images-idx3-ubyte.gz", stem);
  path = g_build_filename (data_dir, "mnist", name, NULL);
  ok = mm_idx_load_images (path, &m->img, error);
  if (ok && (m->img.n != m->n || m->img.rows != MM_IMAGE_SIZE || m->img.cols != MM_IMAGE_SIZE)) {
    g_set_error (error, MM_ERROR, MM_ERROR_MISMATCH,
        "%s: %d images of %d×%d for %d labels (expected 28×28, one label each)",
        path, m->img.n, m->img.rows, m->img.cols, m->n);
    ok = FALSE;
  }
  g_free (name);
  g_free (path);
  return ok;
}

static gboolean
pool_takes (const Pool *pool, const MmFsdd *f, int r)
{
  return f->index[r] >= pool->min_index && f->index[r] <= pool->max_index
      && (!pool->only || f->speaker[r] == pool->only)
      && (!pool->exclude || f->speaker[r] != pool->exclude);
}

/* For each of the @n labels, a recording of the same digit drawn uniformly
 * from @pool with a fixed PCG stream. The result is owned by the caller. */
static int *
pair_recordings (const MmFsdd *f, const guint8 *labels, int n, const Pool *pool,
    guint64 stream, GError **error)
{
  GArray *by_digit[N_DIGITS];
  int *rec = NULL;
  MmRng rng;

  for (int d = 0; d < N_DIGITS; d++)
    by_digit[d] = g_array_new (FALSE, FALSE, sizeof (int));
  for (int r = 0; r < f->n; r++)
    if (pool_takes (pool, f, r))
      g_array_append_val (by_digit[f->digit[r]], r);
  for (int d = 0; d < N_DIGITS; d++)
    if (by_digit[d]->len == 0) {
      g_set_error (error, MM_ERROR, MM_ERROR_MISMATCH,
          "FSDD has no recording of digit %d for this protocol", d);
      goto out;
    }
  mm_rng_seed (&rng, MM_PAIR_SEED, stream);
  rec = g_new (int, MAX (n, 1));
  for (int i = 0; i < n; i++) {
    GArray *a = by_digit[labels[i]];
    rec[i] = g_array_index (a, int, mm_rng_below (&rng, a->len));
  }
out:
  for (int d = 0; d < N_DIGITS; d++)
    g_array_unref (by_digit[d]);
  return rec;
}

/* The samples @idx[0..n) (NULL: 0..n) of @m, with the paired audio when
 * @rec is given. Images are scaled to [0, 1]. */
static MmDataset *
assemble (const Mnist *m, const MmFsdd *f, const int *rec, const int *idx, int n)
{
  MmDataset *ds = mm_dataset_new (n, m->img.pixels != NULL, rec != NULL);

  for (int i = 0; i < n; i++) {
    int j = idx ? idx[i] : i;
    ds->labels[i] = m->labels[j];
    if (ds->image) {
      const guint8 *px = m->img.pixels + (size_t) j * MM_IMAGE_PIXELS;
      float *out = ds->image + (size_t) i * MM_IMAGE_PIXELS;
      for (int k = 0; k < MM_IMAGE_PIXELS; k++)
        out[k] = px[k] / 255.0f;
    }
    if (ds->audio)
      memcpy (ds->audio + (size_t) i * MM_AUDIO_VALUES,
          f->mfcc + (size_t) rec[j] * MM_AUDIO_VALUES, MM_AUDIO_VALUES * sizeof (float));
  }
  return ds;
}

static char *
describe (const Protocol *p, gboolean audio, int ntr, int nva, int nte)
{
  GString *s = g_string_new ("MNIST training set (60,000)");

  if (audio) {
    g_string_append (s, " paired with random FSDD training recordings (indices 5-49");
    if (p->kind == PROTOCOL_NEW_SPEAKER)
      g_string_append_printf (s, ", speaker %s left out", p->speaker);
    g_string_append (s, ") of the same digit (seed " G_STRINGIFY (MM_PAIR_SEED)
        "; recordings repeat across train/val/test),");
  }
  g_string_append_printf (s, " split 14:3:3 (seed %d) into %d/%d/%d", MM_SPLIT_SEED,
      ntr, nva, nte);
  if (p->kind == PROTOCOL_PAPER)
    g_string_append (s, "; no held-out test");
  else
    g_string_append (s, "; held-out: MNIST test set (10,000)");
  if (audio && p->kind == PROTOCOL_CLEAN)
    g_string_append (s, " paired with FSDD test recordings (indices 0-4)");
  else if (audio && p->kind == PROTOCOL_NEW_SPEAKER)
    g_string_append_printf (s, " paired with all recordings of %s, never heard in training",
        p->speaker);
  return g_string_free (s, FALSE);
}

gboolean
mm_protocol_load (MmArch arch, const char *protocol, const MmMfccParams *mfcc,
    const char *data_dir, gboolean need_train, MmSplits *out, GError **error)
{
  gboolean image = mm_arch_uses_image (arch), audio = mm_arch_uses_audio (arch);
  Mnist train = { 0 }, test = { 0 };
  Protocol p;
  Pool train_pool = { MM_FSDD_FIRST_TRAIN_INDEX, G_MAXINT, NULL, NULL };
  Pool heldout_pool = { 0, MM_FSDD_FIRST_TRAIN_INDEX - 1, NULL, NULL };
  MmFsdd *fsdd = NULL;
  int *rec = NULL, *hrec = NULL, *tr = NULL, *va = NULL, *te = NULL, ntr, nva, nte;
  gboolean ok = FALSE;

  memset (out, 0, sizeof *out);
  if (!parse_protocol (protocol, &p, error))
    return FALSE;
  if (p.kind == PROTOCOL_NEW_SPEAKER) {
    train_pool.exclude = p.speaker;
    heldout_pool = (Pool) { 0, G_MAXINT, p.speaker, NULL };
  }
  if (!mnist_load (data_dir, TRUE, image, &train, error)
      || (p.kind != PROTOCOL_PAPER && !mnist_load (data_dir, FALSE, image, &test, error)))
    goto out;
  if (audio) {
    if (!(fsdd = mm_fsdd_load (data_dir, mfcc, error))
        || !(rec = pair_recordings (fsdd, train.labels, train.n, &train_pool, 1, error))
        || (test.n && !(hrec = pair_recordings (fsdd, test.labels, test.n, &heldout_pool, 2,
                    error))))
      goto out;
  }
  mm_split_14_3_3 (train.n, MM_SPLIT_SEED, &tr, &ntr, &va, &nva, &te, &nte);
  if (need_train) {
    out->train = assemble (&train, fsdd, rec, tr, ntr);
    out->val = assemble (&train, fsdd, rec, va, nva);
  }
  out->test = assemble (&train, fsdd, rec, te, nte);
  if (test.n)
    out->heldout = assemble (&test, fsdd, hrec, NULL, test.n);
  out->protocol = g_strdup (protocol);
  out->description = describe (&p, audio, ntr, nva, nte);
  ok = TRUE;
out:
  if (!ok)
    mm_splits_clear (out);
  mnist_clear (&train);
  mnist_clear (&test);
  mm_fsdd_free (fsdd);
  g_free (rec);
  g_free (hrec);
  g_free (tr);
  g_free (va);
  g_free (te);
  return ok;
}
