/* mmdigits — mfccextract element.
 *
 * Copyright (C) 2025 mmdigits authors. LGPL-2.1-or-later.
 */

/**
 * SECTION:element-mfccextract
 * @title: mfccextract
 *
 * Turns 16 kHz mono audio into blocks of 39 × 13 MFCC (raw: not
 * standardised by a model's statistics), one block for exactly one second
 * of audio, computed by the core's front end (core/features/mm-frontend.h) — the same
 * code the `mmdigits` CLI trains and evaluates with.
 *
 * ## The front end and the caps
 * Every setting that changes the numbers (the contract of core/features/mm-mfcc.h)
 * is given by the properties #GstMmMfccExtract:nfft, #GstMmMfccExtract:filters,
 * #GstMmMfccExtract:low-freq, #GstMmMfccExtract:high-freq,
 * #GstMmMfccExtract:preemphasis, #GstMmMfccExtract:lifter,
 * #GstMmMfccExtract:cmvn and #GstMmMfccExtract:dc-block, or — when
 * #GstMmMfccExtract:model names a model file — taken from that model's
 * `mfcc` metadata, which then overrides those properties (a model
 * directory gives the front end its audio networks share; see
 * `core/nets/mm-modelset.h`; the files are read once, at NULL→READY, or
 * when the property changes). The output caps
 * carry all of it:
 * `audio/x-mfcc, frames=(int)39, coefficients=(int)13, format=(string)F32LE,
 * rate=(int)16000, frame-length=(int)800, frame-step=(int)400, nfft=(int)1024,
 * filters=(int)26, low-freq=(double)0, high-freq=(double)8000,
 * preemphasis=(double)0.97, lifter=(int)22, energy=(boolean)true,
 * dc-block=(boolean)false, cmvn=(string)none, views=(string)none` (the
 * study's front end), so that `mmclassify` can refuse features its model
 * was not trained on.
 * When neither #GstMmMfccExtract:model nor any of those properties is set,
 * the element asks downstream (a CAPS query) and adopts the front end it
 * names: `mmclassify` answers with its model's, so a pipeline with a model
 * trained on another front end needs no extra setting.
 * A property changed while playing takes effect at the next buffer (audio
 * held for a pending word is dropped), with new caps. Settings that cannot
 * work — an nfft that is not a power of two, a front end that does not give
 * 39 × 13 blocks, min-length above max-length, a model without a usable
 * front end — fail the change to READY with a LIBRARY SETTINGS error that
 * names them; set while playing, they stop the stream with that error at
 * the next buffer. With dc-block, DC is removed from the stream (a one-pole high-pass
 * filter, −3 dB at 20 Hz) before blocks are made.
 *
 * ## Utterance mode (the default)
 * The core's word detector (core/features/mm-words.h) runs on the stream: every
 * 10 ms it compares the power of 16 bands between 150 Hz and 7 kHz with
 * the noise floor it tracks (per band, the minimum over the last second
 * and the next 0.5 s, DC removed first, taken over the quiet frames only:
 * those less than #GstMmMfccExtract:floor-quiet dB above the quietest of
 * the second before them, so that a band a codec empties inside a loud
 * word does not pull the floor down and let faint noise around the word
 * pass for speech). A frame is voiced when its best
 * four bands stand #GstMmMfccExtract:margin dB above their floor on average;
 * voiced frames closer than #GstMmMfccExtract:hangover ms form a word,
 * kept when it holds at least #GstMmMfccExtract:min-length ms of voiced
 * frames and its level moves by at least 3 dB (steady tones, hum, square
 * waves and stationary noise do not: they are no word, whatever their
 * level), and when #GstMmMfccExtract:min-periodic ms of its voiced frames
 * are periodic at a pitch of 80–400 Hz (their normalised correlation one
 * period later at least #GstMmMfccExtract:periodic-r): every spoken
 * digit has a vowel, a key press, a breath or a click has none. A sound with speech for longer than #GstMmMfccExtract:max-length
 * without a pause of #GstMmMfccExtract:hangover is background, not a word
 * (six-talker babble is such a sound): it is dropped whole, and until it
 * ends a word must also rise 6 dB above the background's median level —
 * a voice clearly above the babble is still found.
 * A quieter sound right next to a much louder word — a breath, a click of
 * the recorder, an "um" before the digit — is not a word of its own: a
 * word is dropped when, within #GstMmMfccExtract:mask-gap ms after it, a
 * stretch #GstMmMfccExtract:mask-db dB louder than its peak begins, or
 * when it begins that soon after a word whose peak is mask-db dB above
 * its own (the detector already looks that far ahead: no added latency).
 * Digits said in a row at similar levels are all kept; any much louder
 * sound (a cough, a door) right after a word masks it too; mask-gap 0
 * turns this off.
 * There is no fixed level: a word peaking 40 dB below full scale is found
 * as well as a loud one; #GstMmMfccExtract:threshold can still drop words
 * whose loudest frame stays below a level. Each word, widened by 40 ms on
 * both sides, is centred in one second of silence (or cut to its central
 * second) and becomes one block whose PTS is the start of that one-second
 * window and whose duration is one second.
 *
 * ## Window mode
 * A block is made every #GstMmMfccExtract:hop ms from the sliding
 * one-second window of the input (complete windows only).
 *
 * One buffer holds 39 × 13 floats, time-major, per block: the word's (or
 * window's) block and, when the front end has test-time views (`views` in
 * the model's `mfcc` metadata and in the caps, e.g. `speed:0.9,speed:1.1`;
 * core/features/mm-mfcc.h), one more block per view, in the caps' order:
 * the same one-second clip played that much faster or slower around its
 * centre, or analysed with warped mel filters
 * (core/features/mm-frontend.h, mm_frontend_views_compute). A model with
 * views decides on the mean of its logits over them; views are set only
 * through a model (#GstMmMfccExtract:model, or the CAPS query
 * `mmclassify` answers), never by a property.
 *
 * When #GstMmMfccExtract:post-messages is %TRUE, every block of utterance
 * mode is announced by an element message named `mfcc-utterance` with these
 * fields:
 *
 * * #GstClockTime `timestamp`: the PTS of the block (start of its window).
 * * #GstClockTime `stream-time`: the stream time of the block.
 * * #GstClockTime `running-time`: the running time of the block.
 * * #GstClockTime `duration`: the duration of the block (one second).
 * * #GstClockTime `start`: the time the word starts.
 * * #GstClockTime `end`: the time the word ends.
 * * #gdouble `peak-level`: the loudest 25 ms frame of the word, dB full
 *   scale (a full-scale square wave being 0 dB), within 150 Hz–7 kHz.
 * * #gdouble `score`: how far its best frame stood above the noise floor (dB).
 *
 * The element holds audio back until a word is decided: its latency is
 * 0.5 s + half the longest word (max-length + 105 ms) + hangover + the
 * detector's 0.5 s lookahead + 55 ms in utterance mode and one second in
 * window mode, and it answers LATENCY queries with that. A pending word is
 * emitted at EOS; pending audio is dropped on FLUSH_STOP and on a DISCONT
 * buffer. During silence in utterance mode the element sends GAP events up
 * to the earliest PTS a future block can have, so that sinks preroll and
 * aggregators can move on: one once that PTS has moved 500 ms past the
 * last one sent. An aggregator such as `mmclassify` wakes for every GAP;
 * 500 ms is small beside the element's own latency (over a second), which
 * mmclassify already adds to its own.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 -m filesrc location=digit.wav ! decodebin ! audioconvert ! audioresample ! audio/x-raw,format=F32LE,rate=16000,channels=1 ! mfccextract ! fakesink
 * ]| prints one `mfcc-utterance` message per spoken word.
 * |[
 * gst-launch-1.0 filesrc location=digit.wav ! decodebin ! audioconvert ! audioresample ! audio/x-raw,format=F32LE,rate=16000,channels=1 ! mfccextract model=my-audio.safetensors ! c.audio_sink mmclassify name=c model=my-audio.safetensors ! filesink location=events.jsonl
 * ]| computes the features a model (trained with other front-end settings) was trained on.
 */

#include "mm-config.h"

#include <math.h>
#include <string.h>

#include "gstmfccextract.h"
#include "gstmmutil.h"
#include "mm-frontend.h"
#include "mm-modelset.h"
#include "mm-words.h"

GST_DEBUG_CATEGORY_STATIC (gst_mm_mfcc_extract_debug);
#define GST_CAT_DEFAULT gst_mm_mfcc_extract_debug

#define RATE MM_AUDIO_RATE
#define BLOCK_SAMPLES RATE      /* one block = exactly one second */
/* Smallest GAP event worth sending during silence: each wakes an
 * aggregator downstream, and what it tells is already over a second behind
 * the input (the element's latency). */
#define GAP_MIN (500 * GST_MSECOND)

#define DEFAULT_MODE GST_MM_MFCC_EXTRACT_MODE_UTTERANCE
/* The detector adapts to the noise floor; the level gate is off by default
 * (-100 dBFS is below any word the detector accepts over its -90 dBFS
 * absolute floor). */
#define DEFAULT_THRESHOLD -100.0
#define DEFAULT_HOP 500
#define DEFAULT_MODEL NULL
#define DEFAULT_POST_MESSAGES TRUE

enum
{
  PROP_0,
  PROP_MODE,
  PROP_THRESHOLD,
  PROP_MARGIN,
  PROP_HANGOVER,
  PROP_MIN_LENGTH,
  PROP_MAX_LENGTH,
  PROP_MASK_GAP,
  PROP_MASK_DB,
  PROP_FLOOR_QUIET,
  PROP_MIN_PERIODIC,
  PROP_PERIODIC_R,
  PROP_HOP,
  PROP_NFFT,
  PROP_PREEMPHASIS,
  PROP_LIFTER,
  PROP_FILTERS,
  PROP_LOW_FREQ,
  PROP_HIGH_FREQ,
  PROP_CMVN,
  PROP_DC_BLOCK,
  PROP_MODEL,
  PROP_POST_MESSAGES,
};

/* The settings one chain call works with, copied under the object lock so
 * that a property set from the application thread never tears a block. */
typedef struct
{
  GstMmMfccExtractMode mode;
  gdouble threshold;
  guint64 hop;                  /* samples */
  gboolean post_messages;
} Settings;

struct _GstMmMfccExtract
{
  GstElement parent;

  GstPad *sinkpad;
  GstPad *srcpad;

  /* properties, under the object lock */
  GstMmMfccExtractMode mode;
  gdouble threshold;
  MmWordsParams words_params;   /* margin, hangover, min- and max-length */
  guint hop_ms;
  MmMfccParams props;           /* the front end the properties ask for */
  gboolean props_set;           /* a front-end property was set */
  gchar *model;
  gchar *model_read;            /* the model whose front end model_params is: */
  MmMfccParams model_params;    /* read once per start (check_settings) */
  gboolean post_messages;
  gboolean mfcc_stale;          /* front-end property changed: rebuild */
  gboolean reset_pending;       /* mode, hop or detector changed: restart */

  /* streaming state, touched only from the streaming thread */
  GstAudioInfo info;
  gboolean have_info;
  GstSegment segment;
  MmMfcc *mfcc;                 /* its params: the contract in force */
  MmFrontendViews *views;       /* the contract's test-time views' blocks */
  gboolean caps_pending;        /* the contract changed: new caps first */
  float *block;                 /* BLOCK_SAMPLES of scratch for one window */
  MmDcBlock dc;                 /* dc-block: the stored samples are DC-free */

  /* Float samples kept for later: store[0] is absolute sample store_first;
   * n_in is the absolute index of the next sample to arrive. Indexes count
   * from base_ts, the PTS of the first buffer after a reset. */
  float *store;
  gsize store_len;
  gsize store_cap;
  guint64 store_first;
  guint64 n_in;
  GstClockTime base_ts;

  /* the word detector, fed every sample (it removes DC itself) */
  MmWords *words;
  gboolean words_finished;      /* drained at EOS: reset before more */

  /* window mode */
  guint64 next_window;

  /* utterance mode: time up to which downstream knows what we produced
   * (the PTS of the last block or the end of the last GAP event) */
  GstClockTime gap_pos;
};

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("audio/x-raw, format=(string){ F32LE, S16LE }, "
        "rate=(int)" G_STRINGIFY (MM_AUDIO_RATE) ", channels=(int)1, "
        "layout=(string)interleaved"));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("audio/x-mfcc, frames=(int)39, coefficients=(int)13, "
        "format=(string)F32LE"));

#define gst_mm_mfcc_extract_parent_class parent_class
G_DEFINE_TYPE (GstMmMfccExtract, gst_mm_mfcc_extract, GST_TYPE_ELEMENT);

GST_ELEMENT_REGISTER_DEFINE (mfccextract, "mfccextract", GST_RANK_NONE,
    GST_TYPE_MM_MFCC_EXTRACT);

GType
gst_mm_mfcc_extract_mode_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_MM_MFCC_EXTRACT_MODE_UTTERANCE,
        "One block per detected word, centred in one second", "utterance"},
    {GST_MM_MFCC_EXTRACT_MODE_WINDOW,
        "One block per hop of a sliding one-second window", "window"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstMmMfccExtractMode", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

GType
gst_mm_mfcc_extract_cmvn_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {MM_CMVN_NONE, "No normalisation (the study's)", "none"},
    {MM_CMVN_MEAN, "Subtract each coefficient's mean over the word", "mean"},
    {MM_CMVN_MEAN_VAR, "And divide by its standard deviation", "mean+var"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstMmMfccExtractCmvn", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

/* ---- sample store --------------------------------------------------- */

static const float *
store_at (GstMmMfccExtract * self, guint64 index)
{
  g_assert (index >= self->store_first);
  g_assert (index - self->store_first <= self->store_len);
  return self->store + (index - self->store_first);
}

/* Forget every sample before @index (which may lie beyond what has arrived:
 * window mode with a hop longer than a second skips audio). One memmove per
 * chain call, not per hop. */
static void
store_drop_before (GstMmMfccExtract * self, guint64 index)
{
  guint64 end = self->store_first + self->store_len;

  if (index <= self->store_first)
    return;
  if (index >= end) {
    self->store_len = 0;
    self->store_first = index;
    return;
  }
  self->store_len = end - index;
  memmove (self->store, self->store + (index - self->store_first),
      self->store_len * sizeof (float));
  self->store_first = index;
}

static float *
store_reserve (GstMmMfccExtract * self, gsize n)
{
  if (self->store_len + n > self->store_cap) {
    self->store_cap = MAX (self->store_len + n, 2 * self->store_cap);
    self->store = g_renew (float, self->store, self->store_cap);
  }
  return self->store + self->store_len;
}

/* Appends @n samples of @data (F32LE or S16LE) as floats in [-1, 1).
 * Non-finite samples become 0 so that one bad sample cannot stop the
 * stream (the core refuses NaN). Returns how many were stored; they are
 * the last ones of the store. */
static gsize
store_append (GstMmMfccExtract * self, const guint8 * data, gsize n)
{
  gsize skip = 0, i;
  float *dst;

  /* samples before store_first were skipped on purpose (window hop) */
  if (self->store_len == 0 && self->store_first > self->n_in)
    skip = MIN (n, self->store_first - self->n_in);
  self->n_in += n;
  if (skip == n)
    return 0;

  dst = store_reserve (self, n - skip);
  if (GST_AUDIO_INFO_FORMAT (&self->info) == GST_AUDIO_FORMAT_S16LE) {
    const gint16 *s = (const gint16 *) data;
    for (i = skip; i < n; i++)
      *dst++ = GINT16_FROM_LE (s[i]) / 32768.0f;
  } else {
    const float *f = (const float *) data;
    for (i = skip; i < n; i++) {
      float v = f[i];
      *dst++ = isfinite (v) ? v : 0.0f;
    }
  }
  self->store_len += n - skip;
  return n - skip;
}

/* ---- state ---------------------------------------------------------- */

static void
reset_stream (GstMmMfccExtract * self)
{
  self->store_len = 0;
  self->store_first = 0;
  self->n_in = 0;
  self->base_ts = GST_CLOCK_TIME_NONE;
  if (self->words)
    mm_words_reset (self->words);
  self->words_finished = FALSE;
  mm_dc_block_init (&self->dc, RATE);
  self->next_window = 0;
  self->gap_pos = GST_CLOCK_TIME_NONE;
}

/* Copies the settings; returns (and clears) whether the stream must
 * restart (mode, hop, detector or front end changed). Under one lock: a
 * mode read apart from its reset flag could run window mode on utterance
 * state (store_at() would then assert on a sample already dropped). */
static gboolean
read_settings (GstMmMfccExtract * self, Settings * s)
{
  gboolean reset;

  GST_OBJECT_LOCK (self);
  reset = self->reset_pending;
  self->reset_pending = FALSE;
  s->mode = self->mode;
  s->threshold = self->threshold;
  s->hop = MAX ((guint64) self->hop_ms * RATE / 1000, 1);
  s->post_messages = self->post_messages;
  GST_OBJECT_UNLOCK (self);
  return reset;
}

/* The front end of the model set @path (a file, or a directory whose audio
 * networks share one: see mm-modelset.h) into *@p; posts the error. The
 * files are read once: check_settings reads them at NULL→READY and the
 * stream takes what it read. */
static gboolean
model_frontend (GstMmMfccExtract * self, const gchar * path, MmMfccParams * p)
{
  GError *err = NULL;
  MmModelSet *set;
  gboolean ok;

  GST_OBJECT_LOCK (self);
  if ((ok = g_strcmp0 (self->model_read, path) == 0))
    *p = self->model_params;
  GST_OBJECT_UNLOCK (self);
  if (ok)
    return TRUE;
  set = mm_model_set_open (path, &err);
  ok = set != NULL;
  if (!ok)
    GST_ELEMENT_ERROR (self, RESOURCE, READ, ("Cannot read the model %s.", path),
        ("%s", err->message));
  else if (!(ok = mm_model_set_frontend (set, p, &err)))
    GST_ELEMENT_ERROR (self, LIBRARY, SETTINGS,
        ("The model %s gives no audio front end.", path), ("%s", err->message));
  g_clear_error (&err);
  mm_model_set_free (set);
  if (ok) {
    GST_OBJECT_LOCK (self);
    g_free (self->model_read);
    self->model_read = g_strdup (path);
    self->model_params = *p;
    GST_OBJECT_UNLOCK (self);
  }
  return ok;
}

/* Neither a model nor a front-end property given: downstream may say
 * which front end it wants (mmclassify answers with its model's). Caps
 * without the fields mean the study's front end, as the defaults do. */
static void
downstream_frontend (GstMmMfccExtract * self, MmMfccParams * p)
{
  GstCaps *tmpl = gst_pad_get_pad_template_caps (self->srcpad);
  GstCaps *caps = gst_pad_peer_query_caps (self->srcpad, tmpl);
  GError *err = NULL;

  gst_caps_unref (tmpl);
  if (!gst_caps_is_empty (caps) && !gst_caps_is_any (caps)) {
    caps = gst_caps_fixate (caps);
    if (gst_mm_mfcc_params_from_caps (caps, p, &err))
      GST_DEBUG_OBJECT (self, "front end from downstream: %" GST_PTR_FORMAT, caps);
    else
      GST_DEBUG_OBJECT (self, "downstream caps unusable (%s): defaults", err->message);
    g_clear_error (&err);
  }
  gst_caps_unref (caps);
}

/* NULL→READY: settings that cannot work are an error before any buffer —
 * an nfft that is not a power of two, a front end that does not give the
 * networks' blocks, min-length above max-length (every word would be
 * dropped), a model without a usable front end — rather than a note in the
 * debug log and a stream without a single block. A front end asked of
 * downstream is checked when it comes (ensure_frontend). */
static gboolean
check_settings (GstMmMfccExtract * self)
{
  MmMfccParams p;
  MmWordsParams wp;
  GError *err = NULL;
  gchar *model;
  gboolean props_set, ok = TRUE;

  GST_OBJECT_LOCK (self);
  p = self->props;
  props_set = self->props_set;
  wp = self->words_params;
  model = g_strdup (self->model);
  /* each start reads the model anew (it may have been replaced) */
  g_clear_pointer (&self->model_read, g_free);
  GST_OBJECT_UNLOCK (self);

  if (!mm_words_params_check (&wp, &err)
      || (!model && props_set && !mm_frontend_check_network (&p, &err))) {
    GST_ELEMENT_ERROR (self, LIBRARY, SETTINGS, ("Invalid settings: %s.", err->message),
        (NULL));
    g_clear_error (&err);
    ok = FALSE;
  } else if (model) {
    ok = model_frontend (self, model, &p);
  }
  g_free (model);
  return ok;
}

/* (Re)builds the MmMfcc and the word detector when a property changed:
 * the front end from #GstMmMfccExtract:model when set, else from the
 * properties. New caps go out before the next block. */
static gboolean
ensure_frontend (GstMmMfccExtract * self)
{
  MmMfccParams p;
  MmWordsParams wp;
  MmMfcc *m = NULL;
  MmFrontendViews *v = NULL;
  MmWords *w;
  GError *err = NULL;
  gchar *model;
  gboolean stale, props_set;

  GST_OBJECT_LOCK (self);
  stale = self->mfcc_stale || self->mfcc == NULL;
  self->mfcc_stale = FALSE;
  p = self->props;
  props_set = self->props_set;
  wp = self->words_params;
  model = g_strdup (self->model);
  GST_OBJECT_UNLOCK (self);

  if (!stale) {
    g_free (model);
    return TRUE;
  }
  if (model && !model_frontend (self, model, &p)) {
    g_free (model);
    return FALSE;
  }
  if (!model && !props_set)
    downstream_frontend (self, &p);
  g_free (model);
  if (!mm_frontend_check_network (&p, &err)) {
    GST_ELEMENT_ERROR (self, LIBRARY, SETTINGS,
        ("Invalid settings: %s.", err->message), (NULL));
    g_clear_error (&err);
    return FALSE;
  }
  if (!(m = mm_mfcc_new (&p, &err)) || !(v = mm_frontend_views_new (&p, &err))
      || !(w = mm_words_new (&wp, &err))) {
    GST_ELEMENT_ERROR (self, LIBRARY, SETTINGS,
        ("Invalid settings: %s.", err->message), (NULL));
    g_clear_error (&err);
    mm_mfcc_free (m);
    mm_frontend_views_free (v);
    return FALSE;
  }
  if (self->mfcc)
    mm_mfcc_free (self->mfcc);
  self->mfcc = m;
  mm_frontend_views_free (self->views);
  self->views = v;
  if (self->words)
    mm_words_free (self->words);
  self->words = w;
  self->caps_pending = TRUE;
  /* a new detector or DC state starts from the stream's next sample */
  reset_stream (self);
  return TRUE;
}

/* Time of absolute sample @index (may be negative: a window that starts
 * before the first sample); clamped at 0. */
static GstClockTime
time_of (GstMmMfccExtract * self, gint64 index)
{
  GstClockTime off;

  if (index >= 0)
    return self->base_ts + gst_util_uint64_scale_int (index, GST_SECOND, RATE);
  off = gst_util_uint64_scale_int (-index, GST_SECOND, RATE);
  return self->base_ts > off ? self->base_ts - off : 0;
}

static GstClockTime
latency_of (GstMmMfccExtract * self)
{
  GstClockTime lat;

  GST_OBJECT_LOCK (self);
  if (self->mode == GST_MM_MFCC_EXTRACT_MODE_WINDOW)
    lat = GST_SECOND;
  else
    /* a word is pushed at most mm_words_delay after its end; its block
     * starts half a second before its centre, i.e. at most half the
     * longest word + 0.5 s before its end */
    lat = GST_SECOND / 2
        + gst_util_uint64_scale_int (mm_words_max_span (&self->words_params) / 2
        + mm_words_delay (&self->words_params), GST_SECOND, RATE);
  GST_OBJECT_UNLOCK (self);
  return lat;
}

/* ---- output --------------------------------------------------------- */

static void
post_utterance (GstMmMfccExtract * self, GstClockTime pts, const MmWordSpan * w)
{
  GstStructure *s = gst_mm_timed_structure_new ("mfcc-utterance",
      &self->segment, pts, GST_SECOND);

  gst_structure_set (s,
      "start", G_TYPE_UINT64, time_of (self, w->start),
      "end", G_TYPE_UINT64, time_of (self, w->end),
      "peak-level", G_TYPE_DOUBLE, w->peak_db,
      "score", G_TYPE_DOUBLE, w->snr_db, NULL);
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self), s));
}

/* The caps of the contract in force, before the first block after it
 * changed. FALSE when downstream refuses them (mmclassify with a model of
 * another front end): the element then stops with not-negotiated. */
static gboolean
push_caps (GstMmMfccExtract * self)
{
  GstCaps *caps;
  gboolean ok;

  if (!self->caps_pending)
    return TRUE;
  caps = gst_mm_mfcc_caps_new (mm_mfcc_params (self->mfcc));
  ok = gst_pad_push_event (self->srcpad, gst_event_new_caps (caps));
  gst_caps_unref (caps);
  self->caps_pending = !ok;
  return ok;
}

/* MFCC of one second (@samples, BLOCK_SAMPLES long) and of its views →
 * one buffer pushed. */
static GstFlowReturn
push_block (GstMmMfccExtract * self, const float *samples, GstClockTime pts)
{
  const gsize values = MM_MFCC_FRAMES * MM_MFCC_COEFFS;
  GstBuffer *out;
  GstMapInfo map;
  GError *err = NULL;
  gboolean ok;

  if (!push_caps (self))
    return GST_FLOW_NOT_NEGOTIATED;
  out = gst_buffer_new_allocate (NULL, values * sizeof (float)
      * mm_frontend_n_blocks (mm_mfcc_params (self->mfcc)), NULL);
  gst_buffer_map (out, &map, GST_MAP_WRITE);
  ok = mm_mfcc_compute (self->mfcc, samples, BLOCK_SAMPLES, (float *) map.data, &err)
      && mm_frontend_views_compute (self->views, samples, (float *) map.data + values, &err);
  gst_buffer_unmap (out, &map);
  if (!ok) {
    GST_ELEMENT_ERROR (self, STREAM, FAILED,
        ("Cannot compute the MFCC of a block."), ("%s", err->message));
    g_clear_error (&err);
    gst_buffer_unref (out);
    return GST_FLOW_ERROR;
  }
  GST_BUFFER_PTS (out) = pts;
  GST_BUFFER_DURATION (out) = GST_SECOND;
  if (!GST_CLOCK_TIME_IS_VALID (self->gap_pos) || pts > self->gap_pos)
    self->gap_pos = pts;
  GST_LOG_OBJECT (self, "block at %" GST_TIME_FORMAT, GST_TIME_ARGS (pts));
  return gst_pad_push (self->srcpad, out);
}

/* A word the detector found: its clip (the core's mm_frontend_word_clip,
 * as for a recording) and pushed. */
static GstFlowReturn
emit_word (GstMmMfccExtract * self, const Settings * s, const MmWordSpan * w)
{
  guint64 len = w->end - w->start;
  GstClockTime pts;

  if (w->peak_db < s->threshold) {
    GST_DEBUG_OBJECT (self, "dropping a word at %.1f dB, below threshold", w->peak_db);
    return GST_FLOW_OK;
  }
  mm_frontend_word_clip (mm_mfcc_params (self->mfcc), store_at (self, w->start), len,
      self->block);
  pts = time_of (self, mm_frontend_word_window (mm_mfcc_params (self->mfcc), w));
  GST_DEBUG_OBJECT (self, "word %" GST_TIME_FORMAT " - %" GST_TIME_FORMAT
      ", peak %.1f dB, score %.1f dB", GST_TIME_ARGS (time_of (self, w->start)),
      GST_TIME_ARGS (time_of (self, w->end)), w->peak_db, w->snr_db);
  if (s->post_messages)
    post_utterance (self, pts, w);
  return push_block (self, self->block, pts);
}

/* Every word the detector has decided, then the audio no future word can
 * reach is dropped. */
static GstFlowReturn
emit_words (GstMmMfccExtract * self, const Settings * s)
{
  GstFlowReturn ret = GST_FLOW_OK;
  MmWordSpan w;

  while (ret == GST_FLOW_OK && mm_words_pop (self->words, &w))
    ret = emit_word (self, s, &w);
  store_drop_before (self, mm_words_hold (self->words));
  return ret;
}

static GstFlowReturn
process_window (GstMmMfccExtract * self, const Settings * s)
{
  GstFlowReturn ret = GST_FLOW_OK;

  while (ret == GST_FLOW_OK
      && self->next_window + BLOCK_SAMPLES <= self->n_in) {
    guint64 start = self->next_window;

    self->next_window += s->hop;
    ret = push_block (self, store_at (self, start), time_of (self, start));
  }
  store_drop_before (self, self->next_window);
  return ret;
}

/* Output is sparse in utterance mode: during silence, tell downstream
 * (sinks prerolling, aggregators waiting for a time) that no block will
 * start before the earliest window a future word can have — half a second
 * before the earliest sample the detector may still put in a word. */
static void
push_gap (GstMmMfccExtract * self)
{
  guint64 hold = mm_words_hold (self->words);
  GstClockTime safe;

  if (hold < BLOCK_SAMPLES / 2)
    return;
  safe = time_of (self, hold - BLOCK_SAMPLES / 2);
  if (!GST_CLOCK_TIME_IS_VALID (self->gap_pos))
    self->gap_pos = self->base_ts;
  if (safe < self->gap_pos + GAP_MIN)
    return;
  gst_pad_push_event (self->srcpad, gst_event_new_gap (self->gap_pos,
          safe - self->gap_pos));
  self->gap_pos = safe;
}

/* EOS: the detector decides what its lookahead held back; a word still
 * open ends where the audio ends. */
static GstFlowReturn
drain (GstMmMfccExtract * self)
{
  Settings s;

  /* words are found only in utterance mode: a mode changed since the last
   * buffer leaves none to emit, so the pending reset can be consumed */
  read_settings (self, &s);
  if (s.mode != GST_MM_MFCC_EXTRACT_MODE_UTTERANCE || !self->words
      || !GST_CLOCK_TIME_IS_VALID (self->base_ts))
    return GST_FLOW_OK;
  mm_words_finish (self->words);
  self->words_finished = TRUE;
  return emit_words (self, &s);
}

/* ---- pads ----------------------------------------------------------- */

static GstFlowReturn
gst_mm_mfcc_extract_chain (GstPad * pad, GstObject * parent, GstBuffer * buf)
{
  GstMmMfccExtract *self = GST_MM_MFCC_EXTRACT (parent);
  GstFlowReturn ret;
  GstMapInfo map;
  Settings s;
  gboolean reset;
  gsize added;

  if (!self->have_info) {
    gst_buffer_unref (buf);
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL),
        ("no caps before the first buffer"));
    return GST_FLOW_NOT_NEGOTIATED;
  }
  /* a front-end property changed: new front end, detection from here */
  if (!ensure_frontend (self)) {
    gst_buffer_unref (buf);
    return GST_FLOW_ERROR;
  }

  reset = read_settings (self, &s);
  if (reset || self->words_finished || GST_BUFFER_IS_DISCONT (buf)) {
    if (self->store_len)
      GST_DEBUG_OBJECT (self, "discontinuity: dropping pending audio");
    reset_stream (self);
  }
  if (!GST_CLOCK_TIME_IS_VALID (self->base_ts)) {
    if (GST_BUFFER_PTS_IS_VALID (buf))
      self->base_ts = GST_BUFFER_PTS (buf);
    else if (self->segment.format == GST_FORMAT_TIME)
      self->base_ts = self->segment.start;
    else
      self->base_ts = 0;
  }

  gst_buffer_map (buf, &map, GST_MAP_READ);
  added = store_append (self, map.data, map.size / GST_AUDIO_INFO_BPF (&self->info));
  gst_buffer_unmap (buf, &map);
  gst_buffer_unref (buf);
  if (added > 0) {
    float *x = self->store + self->store_len - added;
    /* the detector sees the samples as they came (it removes DC itself);
     * the blocks are made from DC-free ones when the contract says so */
    if (s.mode == GST_MM_MFCC_EXTRACT_MODE_UTTERANCE)
      mm_words_push (self->words, x, added);
    if (mm_mfcc_params (self->mfcc)->dc_block)
      mm_dc_block_run (&self->dc, x, x, added);
  }

  if (s.mode == GST_MM_MFCC_EXTRACT_MODE_WINDOW)
    ret = process_window (self, &s);
  else
    ret = emit_words (self, &s);
  if (ret == GST_FLOW_OK && s.mode == GST_MM_MFCC_EXTRACT_MODE_UTTERANCE)
    push_gap (self);
  return ret;
}

static gboolean
set_sink_caps (GstMmMfccExtract * self, GstCaps * caps)
{
  GstAudioInfo info;

  if (!gst_audio_info_from_caps (&info, caps)
      || GST_AUDIO_INFO_RATE (&info) != RATE
      || GST_AUDIO_INFO_CHANNELS (&info) != 1) {
    GST_WARNING_OBJECT (self, "refusing caps %" GST_PTR_FORMAT, caps);
    return FALSE;
  }
  self->info = info;
  self->have_info = TRUE;
  /* the output caps say which front end the blocks will come from */
  if (!ensure_frontend (self))
    return FALSE;
  self->caps_pending = TRUE;
  return push_caps (self);
}

static gboolean
gst_mm_mfcc_extract_sink_event (GstPad * pad, GstObject * parent,
    GstEvent * event)
{
  GstMmMfccExtract *self = GST_MM_MFCC_EXTRACT (parent);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_CAPS:{
      GstCaps *caps;
      gboolean ret;

      gst_event_parse_caps (event, &caps);
      ret = set_sink_caps (self, caps);
      gst_event_unref (event);
      return ret;
    }
    case GST_EVENT_SEGMENT:
      gst_event_copy_segment (event, &self->segment);
      break;
    case GST_EVENT_EOS:
      /* errors were already posted; EOS must still go downstream */
      drain (self);
      break;
    case GST_EVENT_FLUSH_STOP:
      reset_stream (self);
      gst_segment_init (&self->segment, GST_FORMAT_TIME);
      break;
    default:
      break;
  }
  return gst_pad_event_default (pad, parent, event);
}

static gboolean
gst_mm_mfcc_extract_src_query (GstPad * pad, GstObject * parent,
    GstQuery * query)
{
  GstMmMfccExtract *self = GST_MM_MFCC_EXTRACT (parent);

  if (GST_QUERY_TYPE (query) == GST_QUERY_LATENCY) {
    GstClockTime min, max, ours;
    gboolean live;

    if (!gst_pad_peer_query (self->sinkpad, query))
      return FALSE;
    gst_query_parse_latency (query, &live, &min, &max);
    ours = latency_of (self);
    GST_DEBUG_OBJECT (self, "adding %" GST_TIME_FORMAT " of latency",
        GST_TIME_ARGS (ours));
    min += ours;
    if (GST_CLOCK_TIME_IS_VALID (max))
      max += ours;
    gst_query_set_latency (query, live, min, max);
    return TRUE;
  }
  return gst_pad_query_default (pad, parent, query);
}

/* ---- GObject -------------------------------------------------------- */

static GstStateChangeReturn
gst_mm_mfcc_extract_change_state (GstElement * element,
    GstStateChange transition)
{
  GstMmMfccExtract *self = GST_MM_MFCC_EXTRACT (element);
  GstStateChangeReturn ret;

  if (transition == GST_STATE_CHANGE_NULL_TO_READY && !check_settings (self))
    return GST_STATE_CHANGE_FAILURE;
  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED) {
    reset_stream (self);
    gst_segment_init (&self->segment, GST_FORMAT_TIME);
    self->have_info = FALSE;
  }
  ret = GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY) {
    reset_stream (self);
    self->have_info = FALSE;
  }
  return ret;
}

static void
gst_mm_mfcc_extract_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstMmMfccExtract *self = GST_MM_MFCC_EXTRACT (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODE:
      self->mode = g_value_get_enum (value);
      self->reset_pending = TRUE;
      break;
    case PROP_THRESHOLD:
      self->threshold = g_value_get_double (value);
      break;
    case PROP_MARGIN:
      self->words_params.on_db = g_value_get_double (value);
      self->mfcc_stale = TRUE;
      break;
    case PROP_HANGOVER:
      self->words_params.hangover_ms = g_value_get_uint (value);
      self->mfcc_stale = TRUE;
      break;
    case PROP_MIN_LENGTH:
      self->words_params.min_length_ms = g_value_get_uint (value);
      self->mfcc_stale = TRUE;
      break;
    case PROP_MAX_LENGTH:
      self->words_params.max_length_ms = g_value_get_uint (value);
      self->mfcc_stale = TRUE;
      break;
    case PROP_MASK_GAP:
      self->words_params.mask_gap_ms = g_value_get_uint (value);
      self->mfcc_stale = TRUE;
      break;
    case PROP_MASK_DB:
      self->words_params.mask_db = g_value_get_double (value);
      self->mfcc_stale = TRUE;
      break;
    case PROP_FLOOR_QUIET:
      self->words_params.floor_quiet_db = g_value_get_double (value);
      self->mfcc_stale = TRUE;
      break;
    case PROP_MIN_PERIODIC:
      self->words_params.min_periodic_ms = g_value_get_uint (value);
      self->mfcc_stale = TRUE;
      break;
    case PROP_PERIODIC_R:
      self->words_params.periodic_r = g_value_get_double (value);
      self->mfcc_stale = TRUE;
      break;
    case PROP_HOP:
      self->hop_ms = g_value_get_uint (value);
      self->reset_pending = TRUE;
      break;
    case PROP_NFFT:
      /* any value of the range is kept: one that is not a power of two is
       * refused at start (check_settings) or at the next buffer, with an
       * error, never dropped here with a note in the debug log */
      self->props.nfft = g_value_get_int (value);
      self->props_set = self->mfcc_stale = TRUE;
      break;
    case PROP_PREEMPHASIS:
      self->props.preemph = g_value_get_float (value);
      self->props_set = self->mfcc_stale = TRUE;
      break;
    case PROP_LIFTER:
      self->props.lifter = g_value_get_int (value);
      self->props_set = self->mfcc_stale = TRUE;
      break;
    case PROP_FILTERS:
      self->props.n_filters = g_value_get_int (value);
      self->props_set = self->mfcc_stale = TRUE;
      break;
    case PROP_LOW_FREQ:
      self->props.low_freq = (gfloat) g_value_get_double (value);
      self->props_set = self->mfcc_stale = TRUE;
      break;
    case PROP_HIGH_FREQ:
      self->props.high_freq = (gfloat) g_value_get_double (value);
      self->props_set = self->mfcc_stale = TRUE;
      break;
    case PROP_CMVN:
      self->props.cmvn = g_value_get_enum (value);
      self->props_set = self->mfcc_stale = TRUE;
      break;
    case PROP_DC_BLOCK:
      self->props.dc_block = g_value_get_boolean (value);
      self->props_set = self->mfcc_stale = TRUE;
      break;
    case PROP_MODEL:
      g_free (self->model);
      self->model = g_value_dup_string (value);
      g_clear_pointer (&self->model_read, g_free);
      self->mfcc_stale = TRUE;
      break;
    case PROP_POST_MESSAGES:
      self->post_messages = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_mm_mfcc_extract_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstMmMfccExtract *self = GST_MM_MFCC_EXTRACT (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODE:
      g_value_set_enum (value, self->mode);
      break;
    case PROP_THRESHOLD:
      g_value_set_double (value, self->threshold);
      break;
    case PROP_MARGIN:
      g_value_set_double (value, self->words_params.on_db);
      break;
    case PROP_HANGOVER:
      g_value_set_uint (value, self->words_params.hangover_ms);
      break;
    case PROP_MIN_LENGTH:
      g_value_set_uint (value, self->words_params.min_length_ms);
      break;
    case PROP_MAX_LENGTH:
      g_value_set_uint (value, self->words_params.max_length_ms);
      break;
    case PROP_MASK_GAP:
      g_value_set_uint (value, self->words_params.mask_gap_ms);
      break;
    case PROP_MASK_DB:
      g_value_set_double (value, self->words_params.mask_db);
      break;
    case PROP_FLOOR_QUIET:
      g_value_set_double (value, self->words_params.floor_quiet_db);
      break;
    case PROP_MIN_PERIODIC:
      g_value_set_uint (value, self->words_params.min_periodic_ms);
      break;
    case PROP_PERIODIC_R:
      g_value_set_double (value, self->words_params.periodic_r);
      break;
    case PROP_HOP:
      g_value_set_uint (value, self->hop_ms);
      break;
    case PROP_NFFT:
      g_value_set_int (value, self->props.nfft);
      break;
    case PROP_PREEMPHASIS:
      g_value_set_float (value, self->props.preemph);
      break;
    case PROP_LIFTER:
      g_value_set_int (value, self->props.lifter);
      break;
    case PROP_FILTERS:
      g_value_set_int (value, self->props.n_filters);
      break;
    case PROP_LOW_FREQ:
      g_value_set_double (value, mm_float_decimal (self->props.low_freq));
      break;
    case PROP_HIGH_FREQ:
      g_value_set_double (value, mm_float_decimal (self->props.high_freq));
      break;
    case PROP_CMVN:
      g_value_set_enum (value, self->props.cmvn);
      break;
    case PROP_DC_BLOCK:
      g_value_set_boolean (value, self->props.dc_block);
      break;
    case PROP_MODEL:
      g_value_set_string (value, self->model);
      break;
    case PROP_POST_MESSAGES:
      g_value_set_boolean (value, self->post_messages);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_mm_mfcc_extract_finalize (GObject * object)
{
  GstMmMfccExtract *self = GST_MM_MFCC_EXTRACT (object);

  if (self->mfcc)
    mm_mfcc_free (self->mfcc);
  mm_frontend_views_free (self->views);
  mm_words_free (self->words);
  g_free (self->model);
  g_free (self->model_read);
  g_free (self->block);
  g_free (self->store);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_mm_mfcc_extract_class_init (GstMmMfccExtractClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
      | GST_PARAM_MUTABLE_PLAYING;
  MmMfccParams study;
  MmWordsParams defaults;

  mm_mfcc_params_init (&study);
  mm_words_params_init (&defaults);

  GST_DEBUG_CATEGORY_INIT (gst_mm_mfcc_extract_debug, "mfccextract", 0,
      "MFCC front end for spoken digits");

  gobject_class->set_property = gst_mm_mfcc_extract_set_property;
  gobject_class->get_property = gst_mm_mfcc_extract_get_property;
  gobject_class->finalize = gst_mm_mfcc_extract_finalize;

  g_object_class_install_property (gobject_class, PROP_MODE,
      g_param_spec_enum ("mode", "Mode",
          "utterance: one block per detected word, centred in one second; "
          "window: one block per hop of a sliding one-second window",
          GST_TYPE_MM_MFCC_EXTRACT_MODE, DEFAULT_MODE, flags));
  g_object_class_install_property (gobject_class, PROP_THRESHOLD,
      g_param_spec_double ("threshold", "Threshold",
          "Words whose loudest 25 ms frame stays below this level are dropped "
          "(dB full scale; the detector itself adapts to the noise floor, so "
          "the default lets every word through)",
          -120.0, 0.0, DEFAULT_THRESHOLD, flags));
  g_object_class_install_property (gobject_class, PROP_MARGIN,
      g_param_spec_double ("margin", "Margin",
          "How far above the tracked noise floor a frame's best bands must "
          "stand to be speech (dB)", 0.0, 60.0, defaults.on_db, flags));
  g_object_class_install_property (gobject_class, PROP_HANGOVER,
      g_param_spec_uint ("hangover", "Hangover",
          "Time without speech that ends a word (ms)",
          0, 5000, defaults.hangover_ms, flags));
  g_object_class_install_property (gobject_class, PROP_MIN_LENGTH,
      g_param_spec_uint ("min-length", "Minimum length",
          "Sounds with less speech are dropped (ms)", 0, 10000,
          defaults.min_length_ms, flags));
  g_object_class_install_property (gobject_class, PROP_MAX_LENGTH,
      g_param_spec_uint ("max-length", "Maximum length",
          "Sounds with speech for longer than this without a pause are "
          "background, not words (ms); of a word above 1000 only the central "
          "second is kept", 20, 10000, defaults.max_length_ms, flags));
  g_object_class_install_property (gobject_class, PROP_MASK_GAP,
      g_param_spec_uint ("mask-gap", "Mask gap",
          "A sound this close to a word mask-db louder is not a word (ms; "
          "0 = off; at most hangover + 460)", 0, 5000, defaults.mask_gap_ms, flags));
  g_object_class_install_property (gobject_class, PROP_MASK_DB,
      g_param_spec_double ("mask-db", "Mask level",
          "How much louder than a sound the word beside it must be to mask it (dB)",
          0, 60, defaults.mask_db, flags));
  g_object_class_install_property (gobject_class, PROP_FLOOR_QUIET,
      g_param_spec_double ("floor-quiet", "Floor from quiet frames",
          "Only frames less than this far above the lowest level of the second "
          "before them set the noise floor, so that a band a codec empties inside "
          "a loud word does not lower it (dB; 0 = every frame)", 0, 120,
          defaults.floor_quiet_db, flags));
  g_object_class_install_property (gobject_class, PROP_MIN_PERIODIC,
      g_param_spec_uint ("min-periodic", "Minimum periodic",
          "A word must hold this much of voiced frames that are periodic at a "
          "pitch of 80-400 Hz, as every spoken digit's vowel is and a key "
          "press, a breath or a click is not (ms; 0 = no such test)",
          0, 10000, defaults.min_periodic_ms, flags));
  g_object_class_install_property (gobject_class, PROP_PERIODIC_R,
      g_param_spec_double ("periodic-r", "Periodicity",
          "A frame is periodic when its normalised correlation with itself "
          "one pitch period later reaches this (0-1)", 0, 1,
          defaults.periodic_r, flags));
  g_object_class_install_property (gobject_class, PROP_HOP,
      g_param_spec_uint ("hop", "Hop",
          "Window mode: time between the starts of two blocks (ms)",
          1, 10000, DEFAULT_HOP, flags));
  g_object_class_install_property (gobject_class, PROP_NFFT,
      g_param_spec_int ("nfft", "FFT size",
          "FFT length: 1024, or 512 (study-compatible: first 512 samples of "
          "each 800-sample frame); another value is an error at start",
          MM_FRONTEND_NFFT_MIN, MM_FRONTEND_NFFT_MAX, study.nfft, flags));
  g_object_class_install_property (gobject_class, PROP_PREEMPHASIS,
      g_param_spec_float ("preemphasis", "Pre-emphasis",
          "Pre-emphasis coefficient (0 = off)", 0.0f, 0.999f,
          study.preemph, flags));
  g_object_class_install_property (gobject_class, PROP_LIFTER,
      g_param_spec_int ("lifter", "Lifter",
          "Sinusoidal cepstral lifter (0 = off)", 0, 1000, study.lifter,
          flags));
  g_object_class_install_property (gobject_class, PROP_FILTERS,
      g_param_spec_int ("filters", "Mel filters",
          "Number of triangular mel filters", MM_MFCC_COEFFS, 128, study.n_filters,
          flags));
  g_object_class_install_property (gobject_class, PROP_LOW_FREQ,
      g_param_spec_double ("low-freq", "Low frequency",
          "Lowest edge of the mel filters (Hz)", 0.0, RATE / 2,
          study.low_freq, flags));
  g_object_class_install_property (gobject_class, PROP_HIGH_FREQ,
      g_param_spec_double ("high-freq", "High frequency",
          "Highest edge of the mel filters (Hz)", 1.0, RATE / 2,
          study.high_freq, flags));
  g_object_class_install_property (gobject_class, PROP_CMVN,
      g_param_spec_enum ("cmvn", "CMVN",
          "Per-utterance cepstral normalisation of each block",
          GST_TYPE_MM_MFCC_EXTRACT_CMVN, study.cmvn, flags));
  g_object_class_install_property (gobject_class, PROP_DC_BLOCK,
      g_param_spec_boolean ("dc-block", "DC block",
          "Remove DC (high-pass at 20 Hz) before the blocks are made",
          study.dc_block, flags));
  g_object_class_install_property (gobject_class, PROP_MODEL,
      g_param_spec_string ("model", "Model",
          "Take the front end from this model file's \"mfcc\" metadata, or "
          "from the audio networks of this model directory "
          "(overrides nfft, filters, low-freq, high-freq, preemphasis, "
          "lifter, cmvn and dc-block)", DEFAULT_MODEL, flags));
  g_object_class_install_property (gobject_class, PROP_POST_MESSAGES,
      g_param_spec_boolean ("post-messages", "Post messages",
          "Post an mfcc-utterance element message for every word",
          DEFAULT_POST_MESSAGES, flags));

  element_class->change_state = gst_mm_mfcc_extract_change_state;

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "MFCC extractor", "Filter/Analyzer/Audio",
      "Cuts 16 kHz speech into words (adaptive word detector) and gives "
      "39x13 MFCC per word (or per sliding one-second window)", "mmdigits authors");

  gst_type_mark_as_plugin_api (GST_TYPE_MM_MFCC_EXTRACT_MODE, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_MM_MFCC_EXTRACT_CMVN, 0);
}

static void
gst_mm_mfcc_extract_init (GstMmMfccExtract * self)
{
  self->sinkpad = gst_pad_new_from_static_template (&sink_template, "sink");
  gst_pad_set_chain_function (self->sinkpad,
      GST_DEBUG_FUNCPTR (gst_mm_mfcc_extract_chain));
  gst_pad_set_event_function (self->sinkpad,
      GST_DEBUG_FUNCPTR (gst_mm_mfcc_extract_sink_event));
  gst_element_add_pad (GST_ELEMENT (self), self->sinkpad);

  self->srcpad = gst_pad_new_from_static_template (&src_template, "src");
  gst_pad_set_query_function (self->srcpad,
      GST_DEBUG_FUNCPTR (gst_mm_mfcc_extract_src_query));
  gst_pad_use_fixed_caps (self->srcpad);
  gst_element_add_pad (GST_ELEMENT (self), self->srcpad);

  self->mode = DEFAULT_MODE;
  self->threshold = DEFAULT_THRESHOLD;
  mm_words_params_init (&self->words_params);
  self->words_params.sample_rate = RATE;
  self->hop_ms = DEFAULT_HOP;
  mm_mfcc_params_init (&self->props);
  self->model = g_strdup (DEFAULT_MODEL);
  self->post_messages = DEFAULT_POST_MESSAGES;

  self->block = g_new0 (float, BLOCK_SAMPLES);
  gst_segment_init (&self->segment, GST_FORMAT_TIME);
  reset_stream (self);
}
