/* The Free Spoken Digit Dataset as MFCC blocks, with a feature cache (see fsdd.h). */
#include "fsdd.h"

#include <errno.h>
#include <math.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#include "mm-error.h"
#include "mm-media.h"
#include "mm-net.h"
#include "mm-words.h"

/* Bump when the cache layout or the way features are made changes (the
 * decoding path, the fitting to one second): old caches are then stale. */
#define CACHE_FORMAT "mmdigits-fsdd-cache 2"
#define CACHE_MAGIC "MMFSDDC"   /* 7 characters + NUL = 8 bytes */
#define HASH_LEN 64             /* SHA-256 in hex */

typedef struct {
  char magic[8];
  guint32 version, n, values;
  char key[HASH_LEN];           /* hash of the inputs (see cache_key) */
  char payload[HASH_LEN];       /* SHA-256 of the features, to catch corruption */
} CacheHeader;

gboolean
mm_fsdd_parse_name (const char *name, int *digit, const char **speaker, int *index,
    GError **error)
{
  const char *p = name, *sp;
  char *spk;
  int idx = 0, nd = 0;

  if (!g_ascii_isdigit (p[0]) || p[1] != '_')
    goto bad;
  sp = p += 2;
  /* FSDD's speakers are lower-case words; extra-speech's ids add digits
   * and '-' ("gsc-0a7c2a8d"); none contains '_' */
  while ((*p >= 'a' && *p <= 'z') || g_ascii_isdigit (*p) || *p == '-')
    p++;
  if (p == sp || *p != '_')
    goto bad;
  spk = g_strndup (sp, p - sp);
  *speaker = g_intern_string (spk);
  g_free (spk);
  for (p++; g_ascii_isdigit (*p) && nd < 4; p++, nd++)
    idx = idx * 10 + (*p - '0');
  if (nd == 0 || nd >= 4 || strcmp (p, ".wav") != 0)
    goto bad;
  *digit = name[0] - '0';
  *index = idx;
  return TRUE;
bad:
  g_set_error (error, MM_ERROR, MM_ERROR_FORMAT,
      "%s: not a recording name ({digit}_{speaker}_{index}.wav)", name);
  return FALSE;
}

gboolean
mm_recording_clip (const MmMfccParams *p, const char *path, float *clip, MmWordSpan *span,
    GError **error)
{
  float *raw;
  size_t n;
  gboolean ok;

  if (p->sample_rate != MM_MEDIA_SAMPLE_RATE) {
    g_set_error (error, MM_ERROR, MM_ERROR_INVALID, "%s: the front end wants %d Hz, "
        "recordings are decoded at %d Hz", path, p->sample_rate, MM_MEDIA_SAMPLE_RATE);
    return FALSE;
  }
  if (!mm_media_decode_audio (path, &raw, &n, error))
    return FALSE;
  ok = mm_frontend_clip (p, NULL, raw, n, clip, span, error);
  if (!ok)
    g_prefix_error (error, "%s: ", path);
  g_free (raw);
  return ok;
}

gboolean
mm_recording_block (MmMfcc *m, const char *path, float *out, MmWordSpan *span,
    GError **error)
{
  float *clip = g_new (float, MM_MEDIA_SAMPLE_RATE);
  gboolean ok = mm_recording_clip (mm_mfcc_params (m), path, clip, span, error)
      && mm_mfcc_compute (m, clip, MM_MEDIA_SAMPLE_RATE, out, error);

  g_free (clip);
  return ok;
}

void
mm_fsdd_free (MmFsdd *f)
{
  if (!f)
    return;
  g_strfreev (f->names);
  g_free (f->digit);
  g_free (f->speaker);
  g_free (f->index);
  g_free (f->mfcc);
  g_free (f->wave);
  g_free (f->score);
  g_free (f);
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* The recordings, sorted by name, parsed. */
static MmFsdd *
list_recordings (const char *dir, GError **error)
{
  GDir *d = g_dir_open (dir, 0, error);
  GPtrArray *names;
  const char *name;
  MmFsdd *f;

  if (!d)
    return NULL;
  names = g_ptr_array_new ();
  while ((name = g_dir_read_name (d)))
    if (g_str_has_suffix (name, ".wav"))
      g_ptr_array_add (names, g_strdup (name));
  g_dir_close (d);
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);

  f = g_new0 (MmFsdd, 1);
  f->n = names->len - 1;
  f->names = (char **) g_ptr_array_free (names, FALSE);
  f->digit = g_new (int, MAX (f->n, 1));
  f->speaker = g_new (const char *, MAX (f->n, 1));
  f->index = g_new (int, MAX (f->n, 1));
  if (f->n == 0) {
    g_set_error (error, MM_ERROR, MM_ERROR_IO, "%s: no .wav recordings", dir);
    mm_fsdd_free (f);
    return NULL;
  }
  for (int i = 0; i < f->n; i++)
    if (!mm_fsdd_parse_name (f->names[i], &f->digit[i], &f->speaker[i], &f->index[i], error)) {
      g_prefix_error (error, "%s/", dir);
      mm_fsdd_free (f);
      return NULL;
    }
  return f;
}

/* What the features depend on: the files (by name, size and mtime), the
 * MFCC parameters and the cache format. */
static char *
cache_key (const char *dir, const MmFsdd *f, const char *params_json, GError **error)
{
  GChecksum *sum = g_checksum_new (G_CHECKSUM_SHA256);
  char *key = NULL;

  g_checksum_update (sum, (const guchar *) CACHE_FORMAT "\n", -1);
  g_checksum_update (sum, (const guchar *) params_json, -1);
  for (int i = 0; i < f->n; i++) {
    char *path = g_build_filename (dir, f->names[i], NULL), *line;
    GStatBuf st;
    if (g_stat (path, &st) != 0) {
      g_set_error (error, MM_ERROR, MM_ERROR_IO, "%s: %s", path, g_strerror (errno));
      g_free (path);
      goto out;
    }
    line = g_strdup_printf ("\n%s\t%" G_GINT64_FORMAT "\t%" G_GINT64_FORMAT, f->names[i],
        (gint64) st.st_size, (gint64) st.st_mtime);
    g_checksum_update (sum, (const guchar *) line, -1);
    g_free (line);
    g_free (path);
  }
  key = g_strdup (g_checksum_get_string (sum));
out:
  g_checksum_free (sum);
  return key;
}

static char *
cache_dir (void)
{
  const char *env = g_getenv ("MMDIGITS_CACHE");

  if (env && *env)
    return g_strdup (env);
  return g_build_filename (g_get_user_cache_dir (), "mmdigits", NULL);
}

/* Features are stored little-endian; swapping is a no-op on LE hosts. */
static void
swap_le (float *v, size_t n)
{
#if G_BYTE_ORDER == G_BIG_ENDIAN
  guint32 *u = (guint32 *) v;
  for (size_t i = 0; i < n; i++)
    u[i] = GUINT32_SWAP_LE_BE (u[i]);
#else
  (void) v;
  (void) n;
#endif
}

/* Reads the cache into f->mfcc; FALSE (quietly) when it is absent, stale or
 * damaged: the caller then rebuilds it. */
static gboolean
cache_read (const char *path, const char *key, int n, guint32 per_clip, float **out)
{
  size_t values = (size_t) n * per_clip, bytes = values * sizeof (float);
  CacheHeader h;
  char *data = NULL, *payload_sum;
  gsize len = 0;
  gboolean ok = FALSE;

  if (!g_file_get_contents (path, &data, &len, NULL))
    return FALSE;
  if (len != sizeof h + bytes)
    goto out;
  memcpy (&h, data, sizeof h);
  if (memcmp (h.magic, CACHE_MAGIC, 8) != 0 || GUINT32_FROM_LE (h.version) != 1
      || GUINT32_FROM_LE (h.n) != (guint32) n
      || GUINT32_FROM_LE (h.values) != per_clip
      || memcmp (h.key, key, HASH_LEN) != 0)
    goto out;
  payload_sum = g_compute_checksum_for_data (G_CHECKSUM_SHA256,
      (const guchar *) data + sizeof h, bytes);
  ok = memcmp (h.payload, payload_sum, HASH_LEN) == 0;
  g_free (payload_sum);
  if (ok) {
    *out = g_new (float, values);
    memcpy (*out, data + sizeof h, bytes);
    swap_le (*out, values);
  }
out:
  g_free (data);
  return ok;
}

/* Writes the cache atomically (temporary file + rename); a cache that
 * cannot be written only costs time next run, so failure is a warning. */
static void
cache_write (const char *path, const char *key, int n, guint32 per_clip, const float *in)
{
  size_t values = (size_t) n * per_clip, bytes = values * sizeof (float);
  char *data = g_malloc (sizeof (CacheHeader) + bytes), *payload_sum, *dir;
  CacheHeader h = { 0 };
  float *feat = (float *) (data + sizeof h);
  GError *error = NULL;

  memcpy (feat, in, bytes);
  swap_le (feat, values);
  memcpy (h.magic, CACHE_MAGIC, 8);
  h.version = GUINT32_TO_LE (1);
  h.n = GUINT32_TO_LE ((guint32) n);
  h.values = GUINT32_TO_LE (per_clip);
  memcpy (h.key, key, HASH_LEN);
  payload_sum = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) feat, bytes);
  memcpy (h.payload, payload_sum, HASH_LEN);
  g_free (payload_sum);
  memcpy (data, &h, sizeof h);

  dir = g_path_get_dirname (path);
  if (g_mkdir_with_parents (dir, 0755) != 0
      || !g_file_set_contents_full (path, data, sizeof h + bytes,
          G_FILE_SET_CONTENTS_CONSISTENT, 0644, &error))
    fprintf (stderr, "mmdigits: warning: could not write the feature cache %s: %s\n", path,
        error ? error->message : g_strerror (errno));
  g_clear_error (&error);
  g_free (dir);
  g_free (data);
}

typedef struct {
  const char *dir;
  const MmMfccParams *params;
  MmFsdd *f;
  gboolean features;  /* fill f->mfcc */
  gboolean waves;     /* fill f->wave */
  gboolean scores;    /* fill f->score */
  gint next;          /* next recording to take (atomic) */
  gint failed;        /* set once: the others stop early */
  gint whole;         /* recordings without a detected word, taken whole */
  GMutex lock;
  GError *error;      /* the first error */
} Extraction;

/* The word detector's score (dB) of the loudest word of @raw (@n samples at
 * 16 kHz; default detector), NAN when it finds none. */
static gboolean
word_score (const float *raw, size_t n, float *score, GError **error)
{
  MmWordsParams wp;
  MmWordSpan word;
  GArray *spans;

  mm_words_params_init (&wp);
  wp.sample_rate = MM_MEDIA_SAMPLE_RATE;
  if (!(spans = mm_words_find (&wp, raw, n, error)))
    return FALSE;
  *score = mm_words_loudest (spans, &word) ? (float) word.snr_db : NAN;
  g_array_free (spans, TRUE);
  return TRUE;
}

/* Recording @i (@path), decoded once: its word score, then its clip as
 * mm_recording_clip makes it (taken whole, with @whole's contract, when the
 * detector finds no word), its features and its clip kept, as @x asks. */
static gboolean
extract_one (Extraction *x, MmMfcc *m, const MmMfccParams *whole, const char *path, int i,
    float *clip, GError **error)
{
  float *raw;
  size_t n;
  gboolean ok;

  if (!mm_media_decode_audio (path, &raw, &n, error))
    return FALSE;
  ok = !x->scores || word_score (raw, n, x->f->score + i, error);
  if (ok && (x->features || x->waves)) {
    ok = mm_frontend_clip (x->params, NULL, raw, n, clip, NULL, error);
    if (!ok && g_error_matches (*error, MM_ERROR, MM_ERROR_NO_WORD)) {
      g_clear_error (error);
      g_atomic_int_inc (&x->whole);
      ok = mm_frontend_clip (whole, NULL, raw, n, clip, NULL, error);
    }
  }
  g_free (raw);
  if (!ok) {
    g_prefix_error (error, "%s: ", path);
    return FALSE;
  }
  if (x->features && !mm_mfcc_compute (m, clip, MM_MEDIA_SAMPLE_RATE,
          x->f->mfcc + (size_t) i * MM_AUDIO_VALUES, error))
    return FALSE;
  if (x->waves)
    memcpy (x->f->wave + (size_t) i * MM_MEDIA_SAMPLE_RATE, clip,
        sizeof (float) * MM_MEDIA_SAMPLE_RATE);
  return TRUE;
}

/* One worker: its own MFCC extractor, one pipeline per file (mm-media),
 * recordings taken from a shared counter so that the work balances. */
static void
extract_worker (gpointer task, gpointer user_data)
{
  Extraction *x = user_data;
  GError *error = NULL;
  MmMfcc *m = mm_mfcc_new (x->params, &error);
  MmMfccParams whole = *x->params;
  float *clip = g_new (float, MM_MEDIA_SAMPLE_RATE);
  int i;

  whole.word_cut = MM_WORD_CUT_WHOLE;
  while (m && !g_atomic_int_get (&x->failed)
      && (i = g_atomic_int_add (&x->next, 1)) < x->f->n) {
    char *path = g_build_filename (x->dir, x->f->names[i], NULL);
    gboolean ok = extract_one (x, m, &whole, path, i, clip, &error);

    g_free (path);
    if (!ok)
      break;
  }
  g_free (clip);
  if (error) {
    g_atomic_int_set (&x->failed, 1);
    g_mutex_lock (&x->lock);
    if (!x->error)
      x->error = g_steal_pointer (&error);
    g_mutex_unlock (&x->lock);
    g_clear_error (&error);
  }
  mm_mfcc_free (m);
}

/* Decodes every recording, making what is missing: the features
 * (f->mfcc NULL), the one-second waveforms and the scores (when @waves and
 * f->wave, f->score are NULL). */
static gboolean
extract_all (const char *dir, const char *what, const MmMfccParams *params, MmFsdd *f,
    gboolean waves, GError **error)
{
  Extraction x = { .dir = dir, .params = params, .f = f, .features = !f->mfcc,
    .waves = waves && !f->wave, .scores = waves && !f->score };
  int workers = MAX (1, MIN ((int) g_get_num_processors (), f->n));
  gint64 t0 = g_get_monotonic_time ();
  GThreadPool *pool;

  if (x.features)
    f->mfcc = g_new (float, (size_t) f->n * MM_AUDIO_VALUES);
  if (x.waves)
    f->wave = g_new (float, (size_t) f->n * MM_MEDIA_SAMPLE_RATE);
  if (x.scores)
    f->score = g_new (float, f->n);
  g_mutex_init (&x.lock);
  pool = g_thread_pool_new (extract_worker, &x, workers, TRUE, error);
  if (!pool) {
    g_mutex_clear (&x.lock);
    return FALSE;
  }
  for (int k = 0; k < workers; k++)
    g_thread_pool_push (pool, GINT_TO_POINTER (k + 1), NULL);
  g_thread_pool_free (pool, FALSE, TRUE);   /* waits for every worker */
  g_mutex_clear (&x.lock);
  if (x.error) {
    g_propagate_error (error, x.error);
    return FALSE;
  }
  fprintf (stderr, "mmdigits: decoded %d %s recordings%s%s%s in %.1f s (%d workers)\n",
      f->n, what, x.features ? " (MFCC)" : "", x.waves ? " (waveforms)" : "",
      x.scores ? " (word scores)" : "", (g_get_monotonic_time () - t0) / 1e6, workers);
  if (params->word_cut == MM_WORD_CUT_DETECTOR && (x.features || x.waves))
    fprintf (stderr, "mmdigits: the word detector found no word in %d of them: taken whole\n",
        x.whole);
  return TRUE;
}

/* The cache file for @kind ("fsdd": features, "waves": waveforms) of the
 * inputs hashed in @key. */
static char *
cache_path (const char *kind, const char *key)
{
  char *cdir = cache_dir ();
  char *name = g_strdup_printf ("%s-%.16s.cache", kind, key);
  char *path = g_build_filename (cdir, name, NULL);

  g_free (cdir);
  g_free (name);
  return path;
}

MmFsdd *
mm_speech_load (const char *dir, const char *what, const MmMfccParams *params, gboolean waves,
    GError **error)
{
  char *params_json = NULL, *key = NULL, *wkey = NULL, *skey = NULL, *cpath = NULL;
  char *wpath = NULL, *spath = NULL;
  char *wave_kind = NULL;
  MmMfccParams defaults;
  MmFsdd *f = NULL;

  if (!params) {
    mm_mfcc_params_init (&defaults);
    params = &defaults;
  }
  if (!mm_frontend_check_network (params, error) || !(f = list_recordings (dir, error)))
    goto out;
  {
    /* the cached block is the word's own: test-time views are made from
     * the clips when a model uses them (mm_degrade_views) */
    MmMfccParams own = *params;
    own.n_views = 0;
    params_json = mm_mfcc_params_to_json (&own);
  }
  /* the clips depend only on the members of the contract that act before
   * the MFCC (the study's keep the key they always had) */
  wave_kind = !params->dc_block && params->word_cut == MM_WORD_CUT_WHOLE
      ? g_strdup ("waveforms 16000 Hz, 1 s")
      : g_strdup_printf ("waveforms 16000 Hz, 1 s, dc_block %d, word_cut %s", params->dc_block,
          mm_word_cut_name (params->word_cut));
  if (!(key = cache_key (dir, f, params_json, error))
      || (waves && !(wkey = cache_key (dir, f, wave_kind, error)))
      /* the scores depend on the recordings and the detector alone, not on
       * the front end */
      || (waves && !(skey = cache_key (dir, f, "word scores: the default detector, 16000 Hz",
                  error))))
    goto fail;
  cpath = cache_path ("fsdd", key);
  cache_read (cpath, key, f->n, MM_AUDIO_VALUES, &f->mfcc);
  if (waves) {
    wpath = cache_path ("waves", wkey);
    cache_read (wpath, wkey, f->n, MM_MEDIA_SAMPLE_RATE, &f->wave);
    spath = cache_path ("scores", skey);
    cache_read (spath, skey, f->n, 1, &f->score);
  }
  if (f->mfcc && (!waves || (f->wave && f->score)))
    goto out;
  {
    gboolean had_mfcc = f->mfcc != NULL, had_wave = f->wave != NULL;
    gboolean had_score = f->score != NULL;
    if (!extract_all (dir, what, params, f, waves, error))
      goto fail;
    if (!had_mfcc)
      cache_write (cpath, key, f->n, MM_AUDIO_VALUES, f->mfcc);
    if (waves && !had_wave)
      cache_write (wpath, wkey, f->n, MM_MEDIA_SAMPLE_RATE, f->wave);
    if (waves && !had_score)
      cache_write (spath, skey, f->n, 1, f->score);
  }
  goto out;
fail:
  g_clear_pointer (&f, mm_fsdd_free);
out:
  g_free (params_json);
  g_free (wave_kind);
  g_free (key);
  g_free (wkey);
  g_free (skey);
  g_free (cpath);
  g_free (wpath);
  g_free (spath);
  return f;
}

MmFsdd *
mm_fsdd_load (const char *data_dir, const MmMfccParams *params, gboolean waves, GError **error)
{
  char *dir = g_build_filename (data_dir, "fsdd", "recordings", NULL);
  MmFsdd *f = mm_speech_load (dir, "FSDD", params, waves, error);

  g_free (dir);
  return f;
}
