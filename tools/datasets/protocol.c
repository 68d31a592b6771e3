/* Data for training and evaluation: MNIST (and, for audio networks, FSDD)
 * arranged as the study's protocols (see mm-cli.h). */
#include "mm-cli.h"

#include <math.h>
#include <string.h>

#include "degrade.h"
#include "fsdd.h"
#include "mm-error.h"
#include "mm-media.h"
#include "mm-mnist.h"
#include "mm-rng.h"

#define N_DIGITS 10

static const char *const speakers[] = {
  "george", "jackson", "lucas", "nicolas", "theo", "yweweler", NULL
};

/* Where a recording comes from, which decides what it may be used for. */
typedef enum {
  SRC_FSDD,       /* FSDD (CC BY-SA 4.0) */
  SRC_LICENSED,   /* extra-speech whose licence allows training shipped weights */
  SRC_UNHEARD,    /* extra-speech with no licence: validation only, never trained on */
  SRC_SYNTHETIC,  /* --synthetic (scripts/make-voices.sh): the training split only */
} Source;

/* Synthetic speaker ids start with this, so that they can never be taken for
 * (or collide with) a human speaker of FSDD or extra-speech. */
#define SYNTHETIC_PREFIX "syn-"

/* extra-speech's sources by speaker-id prefix, from its README's licence
 * column. An id that matches none is an error: a new source must be
 * classified here before it can be used at all. */
static const struct {
  const char *prefix;
  Source src;
} extra_sources[] = {
  { "gsc-", SRC_LICENSED },           /* Google Speech Commands v0.02 test clips, CC BY 4.0 */
  { "am", SRC_LICENSED },             /* AudioMNIST subset (am01 … am60), MIT */
  { "altainmunkhg-", SRC_UNHEARD },   /* students' own recordings, no licence */
  { "hatemhussein-", SRC_UNHEARD },   /* "zero" only, no licence */
};

/* The unheard voices split by speaker into a calibration part ("voices-cal")
 * and a reporting part ("voices-test"), fixed by name before anything was
 * measured on either: within each source, the speakers in alphabetical order
 * alternate, the first to calibration (altai, billy, gabe, jack → altai and
 * gabe; hatemhussein's groups female, male, own → female, the other two to
 * reporting). Each part then holds two of the four students, who said every
 * digit (so each part has every digit), and one of the two large "zero"
 * groups: about 118 clips to calibrate on, 120 to report. Any unheard voice
 * not listed here is reported, never calibrated on. */
static const char *const calibration_voices[] = {
  "altainmunkhg-altai", "altainmunkhg-gabe", "hatemhussein-female", NULL
};

/* Which unheard voices a pool takes. */
typedef enum { VOICES_ALL, VOICES_CAL, VOICES_TEST } VoicesPart;

/* Speaker-disjoint folds of the "new-speaker:K" protocols: fold K holds the
 * K-th FSDD speaker (in the order of speakers[]) and every N_FOLDS-th of the
 * licensed extra-speech speakers after a seeded shuffle. */
#define N_FOLDS MM_PROTOCOL_FOLDS

/* PROTOCOL_VOICES_CAL pairs the validation split's images (never MNIST's
 * test set) with the calibration part of the unheard voices, PROTOCOL_VOICES_TEST
 * MNIST's test images with the reporting part; both train as "voices".
 * PROTOCOL_WRITERS is PROTOCOL_CLEAN with the held-out images changed
 * (mm_degrade_writers): its pairs, splits and recordings are clean's.
 * PROTOCOL_WRITERS_VAL changes the validation split's images the same way
 * instead and never reads MNIST's test set: the set that may choose. */
typedef enum {
  PROTOCOL_PAPER, PROTOCOL_CLEAN, PROTOCOL_NEW_SPEAKER, PROTOCOL_FOLD, PROTOCOL_VOICES,
  PROTOCOL_WRITERS, PROTOCOL_WRITERS_VAL, PROTOCOL_VOICES_CAL, PROTOCOL_VOICES_TEST
} ProtocolKind;

typedef struct {
  ProtocolKind kind;
  const char *speaker;    /* new-speaker:NAME: interned name */
  int fold;               /* new-speaker:K: 1 … N_FOLDS */
  MmWriterKind writer;    /* writers[:KIND], writers-val[:KIND] */
} Protocol;

/* The changed images of "writers" and "writers-val" are changed with this
 * seed (each image's draws from the stream of its index in its set). */
#define WRITERS_SEED 2026

/* Every recording a protocol may draw from: FSDD, and extra-speech for the
 * protocols that use it, in one table. */
typedef struct {
  int n;
  int *digit, *index, *fold;    /* fold: 1 … N_FOLDS, 0 = in no fold (unheard voices) */
  const char **speaker;         /* interned */
  Source *src;
  float *mfcc;                  /* [n][39·13] raw */
  MmWaveBank *waves;            /* the clips, or NULL */
  float *score;                 /* [n] each recording's word score (with the clips), or NULL */
} Speech;

/* Which recordings may be paired: FSDD's index range, one speaker kept or
 * left out, one fold kept or left out, and which extra-speech sources. */
typedef struct {
  int min_index, max_index;
  const char *only, *exclude;
  int only_fold, exclude_fold;
  gboolean licensed, unheard;   /* extra-speech sources taken */
  VoicesPart part;              /* with @unheard: which of the unheard voices */
  gboolean fsdd;
  gboolean by_speaker;          /* draw a speaker first, then one of its recordings */
} Pool;

/* MNIST labels, and pixels (uint8) only when the network sees images. */
typedef struct {
  int n;
  guint8 *labels;
  MmIdxImages img;
} Mnist;

/* @name is @base or "@base:KIND" (*@writer: MM_WRITER_ALL or KIND). */
static gboolean
parse_writers (const char *name, const char *base, MmWriterKind *writer)
{
  size_t n = strlen (base);

  if (strncmp (name, base, n))
    return FALSE;
  *writer = MM_WRITER_ALL;
  return !name[n] || (name[n] == ':' && mm_writer_kind_parse (name + n + 1, writer));
}

static gboolean
parse_protocol (const char *name, Protocol *p, GError **error)
{
  const char *prefix = "new-speaker:", *arg = name + strlen (prefix);

  memset (p, 0, sizeof *p);
  if (!strcmp (name, "paper")) {
    p->kind = PROTOCOL_PAPER;
    return TRUE;
  }
  if (!strcmp (name, "clean")) {
    p->kind = PROTOCOL_CLEAN;
    return TRUE;
  }
  if (!strcmp (name, "voices")) {
    p->kind = PROTOCOL_VOICES;
    return TRUE;
  }
  if (!strcmp (name, "voices-cal")) {
    p->kind = PROTOCOL_VOICES_CAL;
    return TRUE;
  }
  if (!strcmp (name, "voices-test")) {
    p->kind = PROTOCOL_VOICES_TEST;
    return TRUE;
  }
  if (parse_writers (name, "writers", &p->writer)) {
    p->kind = PROTOCOL_WRITERS;
    return TRUE;
  }
  if (parse_writers (name, "writers-val", &p->writer)) {
    p->kind = PROTOCOL_WRITERS_VAL;
    return TRUE;
  }
  if (g_str_has_prefix (name, prefix)
      && g_strv_contains ((const char *const *) speakers, arg)) {
    p->kind = PROTOCOL_NEW_SPEAKER;
    p->speaker = g_intern_string (arg);
    return TRUE;
  }
  if (g_str_has_prefix (name, prefix) && arg[0] >= '1' && arg[0] < '1' + N_FOLDS && !arg[1]) {
    p->kind = PROTOCOL_FOLD;
    p->fold = arg[0] - '0';
    return TRUE;
  }
  g_set_error (error, MM_ERROR, MM_ERROR_INVALID, "unknown protocol '%s' (paper, clean, voices, "
      "voices-cal, voices-test, "
      "writers, writers:KIND, writers-val, writers-val:KIND with KIND one of thin, thick, slant, "
      "blur, noise, new-speaker:K "
      "with K 1-%d, or new-speaker:NAME with NAME one of george, jackson, lucas, nicolas, theo, "
      "yweweler)", name, N_FOLDS);
  return FALSE;
}

int
mm_protocol_fold (const char *protocol)
{
  Protocol p;
  return parse_protocol (protocol, &p, NULL) && p.kind == PROTOCOL_FOLD ? p.fold : 0;
}

gboolean
mm_protocol_check (const char *protocol, GError **error)
{
  Protocol p;
  return parse_protocol (protocol, &p, error);
}

gboolean
mm_protocol_trainable (const char *protocol, GError **error)
{
  Protocol p;

  if (!parse_protocol (protocol, &p, error))
    return FALSE;
  if (p.kind == PROTOCOL_WRITERS || p.kind == PROTOCOL_WRITERS_VAL
      || p.kind == PROTOCOL_VOICES_CAL || p.kind == PROTOCOL_VOICES_TEST) {
    g_set_error (error, MM_ERROR, MM_ERROR_INVALID, "protocol '%s' is for evaluation only "
        "(train on %s, whose splits it shares)", protocol,
        p.kind == PROTOCOL_WRITERS || p.kind == PROTOCOL_WRITERS_VAL ? "clean" : "voices");
    return FALSE;
  }
  return TRUE;
}

gboolean
mm_protocol_can_calibrate (const char *protocol, GError **error)
{
  Protocol p;

  if (!parse_protocol (protocol, &p, error))
    return FALSE;
  if (p.kind == PROTOCOL_WRITERS || p.kind == PROTOCOL_VOICES_TEST) {
    g_set_error (error, MM_ERROR, MM_ERROR_INVALID, "protocol '%s' scores a test set, which "
        "must never choose a setting; calibrate on a validation set (e.g. %s)", protocol,
        p.kind == PROTOCOL_WRITERS ? "writers-val" : "voices-cal");
    return FALSE;
  }
  return TRUE;
}

/* Appends the files of @dir (if it exists) to @files. */
static void
add_dir_files (GPtrArray *files, const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d && (name = g_dir_read_name (d)))
    g_ptr_array_add (files, g_build_filename (dir, name, NULL));
  if (d)
    g_dir_close (d);
}

char **
mm_protocol_input_files (const char *data_dir, const char *synthetic)
{
  static const char *const mnist[] = {
    "train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
  };
  GPtrArray *files = g_ptr_array_new ();
  char *dir;

  for (guint i = 0; i < G_N_ELEMENTS (mnist); i++)
    g_ptr_array_add (files, g_build_filename (data_dir, "mnist", mnist[i], NULL));
  dir = g_build_filename (data_dir, "fsdd", "recordings", NULL);
  add_dir_files (files, dir);
  g_free (dir);
  dir = g_build_filename (data_dir, "extra-speech", NULL);
  add_dir_files (files, dir);
  g_free (dir);
  if (synthetic)
    add_dir_files (files, synthetic);
  g_ptr_array_add (files, NULL);
  return (char **) g_ptr_array_free (files, FALSE);
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
  g_clear_pointer (&s->synthetic, g_free);
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

static void
speech_clear (Speech *sp)
{
  g_clear_pointer (&sp->digit, g_free);
  g_clear_pointer (&sp->index, g_free);
  g_clear_pointer (&sp->fold, g_free);
  g_clear_pointer (&sp->speaker, g_free);
  g_clear_pointer (&sp->src, g_free);
  g_clear_pointer (&sp->mfcc, g_free);
  g_clear_pointer (&sp->waves, mm_wave_bank_unref);
  g_clear_pointer (&sp->score, g_free);
  sp->n = 0;
}

static gboolean
extra_source (const char *speaker, Source *src, GError **error)
{
  for (guint k = 0; k < G_N_ELEMENTS (extra_sources); k++)
    if (g_str_has_prefix (speaker, extra_sources[k].prefix)) {
      *src = extra_sources[k].src;
      return TRUE;
    }
  g_set_error (error, MM_ERROR, MM_ERROR_FORMAT, "extra-speech: speaker '%s' is from no known "
      "source, so its licence is unknown (see tools/datasets/protocol.c extra_sources)", speaker);
  return FALSE;
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* Folds: FSDD speaker k → fold k + 1; the licensed extra-speech speakers,
 * sorted by id and shuffled with MM_SPLIT_SEED, dealt round-robin. */
static void
assign_folds (Speech *sp)
{
  GPtrArray *extra = g_ptr_array_new ();
  GHashTable *fold_of = g_hash_table_new (NULL, NULL);
  int *order;
  MmRng rng;

  for (int k = 0; speakers[k]; k++)
    g_hash_table_insert (fold_of, (gpointer) g_intern_string (speakers[k]), GINT_TO_POINTER (k + 1));
  for (int r = 0; r < sp->n; r++)
    if (sp->src[r] == SRC_LICENSED && !g_hash_table_contains (fold_of, sp->speaker[r])) {
      g_hash_table_insert (fold_of, (gpointer) sp->speaker[r], GINT_TO_POINTER (0));
      g_ptr_array_add (extra, (gpointer) sp->speaker[r]);
    }
  g_ptr_array_sort (extra, compare_strings);
  order = g_new (int, MAX (extra->len, 1));
  for (guint i = 0; i < extra->len; i++)
    order[i] = i;
  mm_rng_seed (&rng, MM_SPLIT_SEED, 3);
  mm_rng_shuffle (&rng, order, extra->len);
  for (guint i = 0; i < extra->len; i++)
    g_hash_table_insert (fold_of, g_ptr_array_index (extra, order[i]),
        GINT_TO_POINTER (i % N_FOLDS + 1));
  for (int r = 0; r < sp->n; r++)
    sp->fold[r] = GPOINTER_TO_INT (g_hash_table_lookup (fold_of, sp->speaker[r]));
  g_free (order);
  g_ptr_array_unref (extra);
  g_hash_table_unref (fold_of);
}

/* Every speaker of the synthetic directory @dir is named SYNTHETIC_PREFIX…. */
static gboolean
check_synthetic (const MmFsdd *f, const char *dir, GError **error)
{
  for (int i = 0; i < f->n; i++)
    if (!g_str_has_prefix (f->speaker[i], SYNTHETIC_PREFIX)) {
      g_set_error (error, MM_ERROR, MM_ERROR_FORMAT, "%s/%s: a synthetic speaker's id must "
          "start with '" SYNTHETIC_PREFIX "' (scripts/make-voices.sh names them so)", dir,
          f->names[i]);
      return FALSE;
    }
  return TRUE;
}

/* FSDD, <data>/extra-speech when @extra and the synthetic voices of
 * @synthetic (or NULL) in one table; the clips too when @waves. */
static gboolean
speech_load (const char *data_dir, const MmMfccParams *mfcc, gboolean extra,
    const char *synthetic, gboolean waves, Speech *sp, GError **error)
{
  MmFsdd *part[3] = { NULL, NULL, NULL };
  char *extra_dir = g_build_filename (data_dir, "extra-speech", NULL);
  gboolean ok = FALSE;
  int r = 0;

  memset (sp, 0, sizeof *sp);
  if (!(part[0] = mm_fsdd_load (data_dir, mfcc, waves, error))
      || (extra && !(part[1] = mm_speech_load (extra_dir, "extra-speech", mfcc, waves, error)))
      || (synthetic && (!(part[2] = mm_speech_load (synthetic, "synthetic voices", mfcc, waves,
                  error)) || !check_synthetic (part[2], synthetic, error))))
    goto out;
  for (int k = 0; k < 3; k++)
    sp->n += part[k] ? part[k]->n : 0;
  sp->digit = g_new (int, sp->n);
  sp->index = g_new (int, sp->n);
  sp->fold = g_new0 (int, sp->n);
  sp->speaker = g_new (const char *, sp->n);
  sp->src = g_new (Source, sp->n);
  sp->mfcc = g_new (float, (size_t) sp->n * MM_AUDIO_VALUES);
  if (waves) {
    sp->waves = mm_wave_bank_new (sp->n, MM_MEDIA_SAMPLE_RATE, MM_MEDIA_SAMPLE_RATE);
    sp->waves->names = g_new0 (char *, MAX (sp->n, 1));
    sp->score = g_new (float, MAX (sp->n, 1));
  }
  for (int k = 0; k < 3; k++) {
    const MmFsdd *f = part[k];
    for (int i = 0; f && i < f->n; i++, r++) {
      sp->digit[r] = f->digit[i];
      sp->index[r] = f->index[i];
      sp->speaker[r] = f->speaker[i];
      sp->src[r] = k == 2 ? SRC_SYNTHETIC : SRC_FSDD;
      if (k == 1 && !extra_source (f->speaker[i], &sp->src[r], error)) {
        g_prefix_error (error, "%s/%s: ", extra_dir, f->names[i]);
        goto out;
      }
      memcpy (sp->mfcc + (size_t) r * MM_AUDIO_VALUES, f->mfcc + (size_t) i * MM_AUDIO_VALUES,
          sizeof (float) * MM_AUDIO_VALUES);
      if (waves) {
        memcpy (sp->waves->samples + (size_t) r * MM_MEDIA_SAMPLE_RATE,
            f->wave + (size_t) i * MM_MEDIA_SAMPLE_RATE, sizeof (float) * MM_MEDIA_SAMPLE_RATE);
        sp->score[r] = f->score[i];
        sp->waves->names[r] = g_strdup (f->names[i]);
      }
    }
  }
  assign_folds (sp);
  ok = TRUE;
out:
  if (!ok)
    speech_clear (sp);
  for (int k = 0; k < 3; k++)
    mm_fsdd_free (part[k]);
  g_free (extra_dir);
  return ok;
}

/* No pool takes synthetic recordings: add_synthetic puts them into the
 * training split alone. */
static gboolean
pool_takes (const Pool *pool, const Speech *sp, int r)
{
  if (sp->src[r] == SRC_SYNTHETIC)
    return FALSE;
  if (sp->src[r] == SRC_FSDD
      ? !pool->fsdd || sp->index[r] < pool->min_index || sp->index[r] > pool->max_index
      : sp->src[r] == SRC_LICENSED ? !pool->licensed : !pool->unheard)
    return FALSE;
  if (sp->src[r] == SRC_UNHEARD && pool->part != VOICES_ALL
      && g_strv_contains (calibration_voices, sp->speaker[r]) != (pool->part == VOICES_CAL))
    return FALSE;
  return (!pool->only || sp->speaker[r] == pool->only)
      && (!pool->exclude || sp->speaker[r] != pool->exclude)
      && (!pool->only_fold || sp->fold[r] == pool->only_fold)
      && (!pool->exclude_fold || sp->fold[r] != pool->exclude_fold);
}

/* The recordings @pool takes, by digit (@by_digit: indices into @sp), and
 * where each speaker's run of them starts in that list (@runs). Both are
 * new arrays owned by the caller. FALSE, with a message, if a digit has none. */
static gboolean
pool_by_digit (const Speech *sp, const Pool *pool, GArray *by_digit[N_DIGITS],
    GArray *runs[N_DIGITS], GError **error)
{
  for (int d = 0; d < N_DIGITS; d++) {
    by_digit[d] = g_array_new (FALSE, FALSE, sizeof (int));
    runs[d] = g_array_new (FALSE, FALSE, sizeof (int));
  }
  /* the table is sorted by name within each source and a speaker is in one
   * source, so a speaker's recordings of a digit are consecutive */
  for (int r = 0; r < sp->n; r++)
    if (pool_takes (pool, sp, r)) {
      GArray *a = by_digit[sp->digit[r]];
      if (a->len == 0 || sp->speaker[g_array_index (a, int, a->len - 1)] != sp->speaker[r])
        g_array_append_val (runs[sp->digit[r]], a->len);
      g_array_append_val (a, r);
    }
  for (int d = 0; d < N_DIGITS; d++)
    if (by_digit[d]->len == 0) {
      g_set_error (error, MM_ERROR, MM_ERROR_MISMATCH,
          "no recording of digit %d for this protocol", d);
      return FALSE;
    }
  return TRUE;
}

static void
pool_clear (GArray *by_digit[N_DIGITS], GArray *runs[N_DIGITS])
{
  for (int d = 0; d < N_DIGITS; d++) {
    g_array_unref (by_digit[d]);
    g_array_unref (runs[d]);
  }
}

/* The end of run @s of @ru in @a. */
static int
run_end (const GArray *a, const GArray *ru, guint s)
{
  return s + 1 < ru->len ? g_array_index (ru, int, s + 1) : (int) a->len;
}

/* For each of the @n labels, a recording of the same digit drawn from @pool
 * with a fixed PCG stream: uniformly among the recordings, or, with
 * pool->by_speaker, a speaker first (uniformly among those who said the
 * digit) and then one of their recordings, so that a voice with 500 clips
 * counts as much as one with 2. The result is owned by the caller. */
static int *
pair_recordings (const Speech *sp, const guint8 *labels, int n, const Pool *pool,
    guint64 stream, GError **error)
{
  GArray *by_digit[N_DIGITS], *runs[N_DIGITS];   /* runs: start of each speaker's recordings */
  int *rec = NULL;
  MmRng rng;

  if (!pool_by_digit (sp, pool, by_digit, runs, error))
    goto out;
  mm_rng_seed (&rng, MM_PAIR_SEED, stream);
  rec = g_new (int, MAX (n, 1));
  for (int i = 0; i < n; i++) {
    GArray *a = by_digit[labels[i]], *ru = runs[labels[i]];
    if (pool->by_speaker) {
      guint s = mm_rng_below (&rng, ru->len);
      int first = g_array_index (ru, int, s);
      rec[i] = g_array_index (a, int, first + mm_rng_below (&rng, run_end (a, ru, s) - first));
    } else {
      rec[i] = g_array_index (a, int, mm_rng_below (&rng, a->len));
    }
  }
out:
  pool_clear (by_digit, runs);
  return rec;
}

/* Speaker-balanced training pairs: each training sample @tr[0..ntr) of
 * @labels draws its recording again from @pool, a speaker first with a
 * chance proportional to n^(1 − @power) (n: the speaker's recordings of the
 * digit) and then one of their recordings. @power 0 is the protocol's own
 * draw (by recording: six FSDD voices with 45 takes of each digit outweigh
 * a hundred voices with one), 1 makes every voice count the same, as the
 * unheard-voice tests draw them. Validation and test pairs keep the
 * protocol's draw, so a model's split figures stay comparable and `eval`
 * finds them. A fixed PCG stream of its own. */
static gboolean
balance_speakers (const Speech *sp, const guint8 *labels, const int *tr, int ntr,
    const Pool *pool, double power, int *rec, GError **error)
{
  GArray *by_digit[N_DIGITS], *runs[N_DIGITS], *cum[N_DIGITS] = { NULL };
  gboolean ok = FALSE;
  MmRng rng;

  if (!pool_by_digit (sp, pool, by_digit, runs, error))
    goto out;
  for (int d = 0; d < N_DIGITS; d++) {
    double total = 0;
    cum[d] = g_array_sized_new (FALSE, FALSE, sizeof (double), runs[d]->len);
    for (guint s = 0; s < runs[d]->len; s++) {
      total += pow (run_end (by_digit[d], runs[d], s) - g_array_index (runs[d], int, s),
          1 - power);
      g_array_append_val (cum[d], total);
    }
  }
  mm_rng_seed (&rng, MM_PAIR_SEED, 5);
  for (int i = 0; i < ntr; i++) {
    int d = labels[tr[i]];
    const GArray *a = by_digit[d], *ru = runs[d], *c = cum[d];
    double u = mm_rng_uniform (&rng) * g_array_index (c, double, c->len - 1);
    guint lo = 0, hi = c->len - 1;
    while (lo < hi) {           /* the first run whose cumulative weight exceeds u */
      guint mid = (lo + hi) / 2;
      if (g_array_index (c, double, mid) > u)
        hi = mid;
      else
        lo = mid + 1;
    }
    int first = g_array_index (ru, int, lo);
    rec[tr[i]] = g_array_index (a, int, first + mm_rng_below (&rng, run_end (a, ru, lo) - first));
  }
  ok = TRUE;
out:
  for (int d = 0; d < N_DIGITS; d++)
    if (cum[d])
      g_array_unref (cum[d]);
  pool_clear (by_digit, runs);
  return ok;
}

/* How many of the training samples @tr[0..ntr) are paired with an FSDD recording. */
static int
count_fsdd (const Speech *sp, const int *rec, const int *tr, int ntr)
{
  int n = 0;

  for (int i = 0; i < ntr; i++)
    n += sp->src[rec[tr[i]]] == SRC_FSDD;
  return n;
}

/* Synthetic voices into the training split: each training sample @tr[0..ntr)
 * of @labels keeps its recording @rec from @pool or, with a chance equal to
 * the synthetic clips' share of its digit's recordings (pool and synthetic
 * together), takes a synthetic clip of the digit instead — as if they were
 * in the pool, but without changing a validation or test pair. A fixed PCG
 * stream of its own. Returns how many samples took a synthetic clip. */
static int
add_synthetic (const Speech *sp, const guint8 *labels, const int *tr, int ntr, const Pool *pool,
    int *rec)
{
  GArray *syn[N_DIGITS];
  int n_pool[N_DIGITS] = { 0 }, taken = 0;
  MmRng rng;

  for (int d = 0; d < N_DIGITS; d++)
    syn[d] = g_array_new (FALSE, FALSE, sizeof (int));
  for (int r = 0; r < sp->n; r++) {
    if (sp->src[r] == SRC_SYNTHETIC)
      g_array_append_val (syn[sp->digit[r]], r);
    else if (pool_takes (pool, sp, r))
      n_pool[sp->digit[r]]++;
  }
  mm_rng_seed (&rng, MM_PAIR_SEED, 3);
  for (int i = 0; i < ntr; i++) {
    int d = labels[tr[i]];
    guint u = mm_rng_below (&rng, n_pool[d] + syn[d]->len);
    if (u >= (guint) n_pool[d]) {
      rec[tr[i]] = g_array_index (syn[d], int, u - n_pool[d]);
      taken++;
    }
  }
  for (int d = 0; d < N_DIGITS; d++)
    g_array_unref (syn[d]);
  return taken;
}

/* Clips and distinct voices of the synthetic part of @sp. */
static void
count_synthetic (const Speech *sp, int *clips, int *voices)
{
  GHashTable *seen = g_hash_table_new (NULL, NULL);

  *clips = 0;
  for (int r = 0; r < sp->n; r++)
    if (sp->src[r] == SRC_SYNTHETIC) {
      (*clips)++;
      g_hash_table_add (seen, (gpointer) sp->speaker[r]);
    }
  *voices = g_hash_table_size (seen);
  g_hash_table_unref (seen);
}

/* The samples @idx[0..n) (NULL: 0..n) of @m, with the paired audio when
 * @rec is given. Images are scaled to [0, 1]. */
static MmDataset *
assemble (const Mnist *m, const Speech *sp, const int *rec, const int *idx, int n)
{
  MmDataset *ds = mm_dataset_new (n, m->img.pixels != NULL, rec != NULL);

  if (rec && sp->waves) {
    ds->waves = mm_wave_bank_ref (sp->waves);
    ds->wave = g_new (int, MAX (n, 1));
    ds->score = g_new (float, MAX (n, 1));
  }
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
          sp->mfcc + (size_t) rec[j] * MM_AUDIO_VALUES, MM_AUDIO_VALUES * sizeof (float));
    if (ds->wave) {
      ds->wave[i] = rec[j];
      ds->score[i] = sp->score[rec[j]];
    }
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
    if (p->kind == PROTOCOL_FOLD)
      g_string_append_printf (s, ") and licensed extra-speech recordings (Speech Commands, "
          "AudioMNIST), the speakers of fold %d of %d left out (", p->fold, N_FOLDS);
    if (p->kind == PROTOCOL_VOICES || p->kind == PROTOCOL_VOICES_CAL
        || p->kind == PROTOCOL_VOICES_TEST)
      g_string_append (s, ") and every licensed extra-speech recording (Speech Commands, "
          "AudioMNIST");
    g_string_append (s, ") of the same digit (seed " G_STRINGIFY (MM_PAIR_SEED)
        "; recordings repeat across train/val/test),");
  }
  g_string_append_printf (s, " split 14:3:3 (seed %d) into %d/%d/%d", MM_SPLIT_SEED,
      ntr, nva, nte);
  if (p->kind == PROTOCOL_PAPER)
    g_string_append (s, "; no held-out test");
  else if (p->kind == PROTOCOL_WRITERS_VAL)
    g_string_append (s, "; scored: the validation split as it is and with");
  else if (p->kind == PROTOCOL_VOICES_CAL)
    g_string_append (s, "; scored: the validation split as it is and its images");
  else
    g_string_append (s, "; held-out: MNIST test set (10,000)");
  if (p->kind == PROTOCOL_WRITERS || p->kind == PROTOCOL_WRITERS_VAL)
    g_string_append_printf (s, ", the images changed as new writers' might be (%s; seed %d)",
        p->writer == MM_WRITER_ALL ? "thin, thick, slant, blur, noise in turn"
        : mm_writer_kind_name (p->writer), WRITERS_SEED);
  if (p->kind == PROTOCOL_WRITERS_VAL || (p->kind == PROTOCOL_VOICES_CAL && !audio))
    g_string_append (s, "; MNIST's test set is not read");
  if (audio && (p->kind == PROTOCOL_CLEAN || p->kind == PROTOCOL_WRITERS))
    g_string_append (s, " paired with FSDD test recordings (indices 0-4)");
  else if (audio && p->kind == PROTOCOL_NEW_SPEAKER)
    g_string_append_printf (s, " paired with all recordings of %s, never heard in training",
        p->speaker);
  else if (audio && p->kind == PROTOCOL_FOLD)
    g_string_append_printf (s, " paired with the recordings of fold %d's speakers (a speaker "
        "drawn first, then one of their recordings), never heard in training", p->fold);
  else if (audio && p->kind == PROTOCOL_VOICES)
    g_string_append (s, " paired with the unlicensed extra-speech voices (altainmunkhg, "
        "hatemhussein; a speaker drawn first), never trained on: a VALIDATION set of unheard "
        "voices for choosing settings");
  else if (audio && (p->kind == PROTOCOL_VOICES_CAL || p->kind == PROTOCOL_VOICES_TEST))
    g_string_append_printf (s, " paired with the %s part of the unlicensed extra-speech voices "
        "(%s; a speaker drawn first), never trained on%s", p->kind == PROTOCOL_VOICES_CAL
        ? "calibration" : "reporting", p->kind == PROTOCOL_VOICES_CAL
        ? "altainmunkhg-altai, altainmunkhg-gabe, hatemhussein-female"
        : "altainmunkhg-billy, altainmunkhg-jack, hatemhussein-male, hatemhussein-own",
        p->kind == PROTOCOL_VOICES_CAL ? ": a set for calibrating; MNIST's test set is not read"
        : ", never calibrated on");
  return g_string_free (s, FALSE);
}

gboolean
mm_protocol_load (MmArch arch, const char *protocol, const MmMfccParams *mfcc,
    const char *data_dir, const MmTrainingDraw *draw, gboolean need_train, gboolean waves,
    MmSplits *out, GError **error)
{
  const char *synthetic = draw ? draw->synthetic : NULL;
  double balance = draw ? draw->speaker_balance : 0;
  gboolean image = mm_arch_uses_image (arch), audio = mm_arch_uses_audio (arch);
  Mnist train = { 0 }, test = { 0 };
  Protocol p;
  Pool train_pool = { .min_index = MM_FSDD_FIRST_TRAIN_INDEX, .max_index = G_MAXINT, .fsdd = TRUE };
  Pool heldout_pool = { .min_index = 0, .max_index = MM_FSDD_FIRST_TRAIN_INDEX - 1, .fsdd = TRUE };
  Speech sp = { 0 };
  int *rec = NULL, *hrec = NULL, *tr = NULL, *va = NULL, *te = NULL, ntr, nva, nte;
  gboolean ok = FALSE;

  memset (out, 0, sizeof *out);
  if (!parse_protocol (protocol, &p, error))
    return FALSE;
  if (p.kind == PROTOCOL_NEW_SPEAKER) {
    train_pool.exclude = p.speaker;
    heldout_pool = (Pool) { 0, G_MAXINT, p.speaker, NULL, .fsdd = TRUE };
  } else if (p.kind == PROTOCOL_FOLD) {
    train_pool.licensed = TRUE;
    train_pool.exclude_fold = p.fold;
    heldout_pool = (Pool) { 0, G_MAXINT, .only_fold = p.fold, .fsdd = TRUE, .licensed = TRUE,
      .by_speaker = TRUE };
  } else if (p.kind == PROTOCOL_VOICES || p.kind == PROTOCOL_VOICES_CAL
      || p.kind == PROTOCOL_VOICES_TEST) {
    train_pool.licensed = TRUE;
    heldout_pool = (Pool) { .unheard = TRUE, .by_speaker = TRUE, .part =
      p.kind == PROTOCOL_VOICES_CAL ? VOICES_CAL : p.kind == PROTOCOL_VOICES_TEST ? VOICES_TEST
      : VOICES_ALL };
  }
  if (!mnist_load (data_dir, TRUE, image, &train, error)
      || (p.kind != PROTOCOL_PAPER && p.kind != PROTOCOL_WRITERS_VAL
          && p.kind != PROTOCOL_VOICES_CAL && !mnist_load (data_dir, FALSE, image, &test, error)))
    goto out;
  if (audio) {
    if (!speech_load (data_dir, mfcc, p.kind == PROTOCOL_FOLD || train_pool.licensed,
            synthetic, waves, &sp, error)
        || !(rec = pair_recordings (&sp, train.labels, train.n, &train_pool, 1, error))
        || (test.n && !(hrec = pair_recordings (&sp, test.labels, test.n, &heldout_pool, 2,
                    error)))
        /* voices-cal: the training images' own stream, apart from the held-out test's */
        || (p.kind == PROTOCOL_VOICES_CAL
            && !(hrec = pair_recordings (&sp, train.labels, train.n, &heldout_pool, 4, error))))
      goto out;
  }
  mm_split_14_3_3 (train.n, MM_SPLIT_SEED, &tr, &ntr, &va, &nva, &te, &nte);
  if (audio && balance > 0
      && !balance_speakers (&sp, train.labels, tr, ntr, &train_pool, balance, rec, error))
    goto out;
  if (audio && synthetic) {
    out->synthetic_pairs = add_synthetic (&sp, train.labels, tr, ntr, &train_pool, rec);
    count_synthetic (&sp, &out->synthetic_clips, &out->synthetic_voices);
    out->synthetic = g_strdup (synthetic);
  }
  if (need_train) {
    out->train = assemble (&train, &sp, rec, tr, ntr);
    out->val = assemble (&train, &sp, rec, va, nva);
  }
  if (p.kind == PROTOCOL_WRITERS_VAL || p.kind == PROTOCOL_VOICES_CAL) {
    out->on_validation = TRUE;
    out->validation_voices = p.kind == PROTOCOL_VOICES_CAL;
    out->test = assemble (&train, &sp, rec, va, nva);
    out->heldout = assemble (&train, &sp, out->validation_voices && audio ? hrec : rec, va, nva);
  } else
    out->test = assemble (&train, &sp, rec, te, nte);
  if (test.n)
    out->heldout = assemble (&test, &sp, hrec, NULL, test.n);
  if ((p.kind == PROTOCOL_WRITERS || p.kind == PROTOCOL_WRITERS_VAL) && out->heldout->image)
    mm_degrade_writers (out->heldout->image, out->heldout->n, p.writer, WRITERS_SEED);
  out->protocol = g_strdup (protocol);
  out->description = describe (&p, audio, ntr, nva, nte);
  if (out->synthetic) {
    char *d = out->description;
    out->description = g_strdup_printf ("%s; the training split's recordings also drawn from "
        "%d synthetic clips (%d voices, %s; by their share of each digit's recordings: %d of "
        "%d training samples), never in validation, test or held-out sets", d,
        out->synthetic_clips, out->synthetic_voices, out->synthetic, out->synthetic_pairs, ntr);
    g_free (d);
  }
  if (audio && balance > 0) {
    /* counted after --synthetic has drawn its clips in: what the split holds */
    char *d = out->description;
    out->description = g_strdup_printf ("%s; the training split's recordings drawn again by "
        "speaker (a voice's chance ∝ its recordings of the digit^%.3g; %d of %d training "
        "samples from FSDD)", d, 1 - balance, count_fsdd (&sp, rec, tr, ntr), ntr);
    g_free (d);
  }
  ok = TRUE;
out:
  if (!ok)
    mm_splits_clear (out);
  mnist_clear (&train);
  mnist_clear (&test);
  speech_clear (&sp);
  g_free (rec);
  g_free (hrec);
  g_free (tr);
  g_free (va);
  g_free (te);
  return ok;
}
