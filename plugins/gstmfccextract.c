/* mmdigits — mfccextract element.
 *
 * Copyright (C) 2025 mmdigits authors. LGPL-2.1-or-later.
 */

/**
 * SECTION:element-mfccextract
 * @title: mfccextract
 *
 * Turns 16 kHz mono audio into blocks of 39 × 13 raw (not standardised)
 * MFCC, one block for exactly one second of audio, computed by the core's
 * #MmMfcc — the same front end the `mmdigits` CLI trains with.
 *
 * In `utterance` mode (the default) a voice-activity detector runs on the
 * energy of each 25 ms hop (dB relative to full scale, a full-scale square
 * wave being 0 dB): a word starts at the first hop above #GstMmMfccExtract:threshold
 * and ends when the level has stayed below it for #GstMmMfccExtract:hangover ms.
 * Words shorter than #GstMmMfccExtract:min-length are dropped; a word that reaches
 * #GstMmMfccExtract:max-length is cut there and detection starts again. Each
 * word is centred in one second of silence (mm_audio_fit_center()), exactly
 * as the training set is made from silence-trimmed recordings, and becomes
 * one block whose PTS is the start of that one-second window (the word's
 * centre − 0.5 s) and whose duration is one second.
 *
 * In `window` mode a block is made every #GstMmMfccExtract:hop ms from the
 * sliding one-second window of the input (complete windows only).
 *
 * Output: `audio/x-mfcc, frames=(int)39, coefficients=(int)13,
 * format=(string)F32LE`; one buffer holds 39 × 13 floats, time-major.
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
 * * #GstClockTime `end`: the time the word ends (last hop above threshold).
 * * #gdouble `peak-level`: the loudest hop of the word, dB full scale.
 *
 * The element holds audio back until a word ends: its latency is
 * 0.5 s + max-length / 2 + hangover + one 25 ms hop in utterance mode and
 * one second in window mode, and it answers LATENCY queries with that.
 * A pending word is emitted at EOS; pending audio is dropped on FLUSH_STOP
 * and on a DISCONT buffer. During silence in utterance mode the element
 * sends GAP events (at most one per 100 ms) up to the earliest PTS a future
 * block can have, so that sinks preroll and aggregators can move on.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 -m filesrc location=digit.wav ! decodebin ! audioconvert ! audioresample ! audio/x-raw,format=F32LE,rate=16000,channels=1 ! mfccextract threshold=-40 ! fakesink
 * ]| prints one `mfcc-utterance` message per spoken word.
 */

#include "mm-config.h"

#include <math.h>
#include <string.h>

#include "gstmfccextract.h"
#include "gstmmutil.h"

GST_DEBUG_CATEGORY_STATIC (gst_mm_mfcc_extract_debug);
#define GST_CAT_DEFAULT gst_mm_mfcc_extract_debug

#define RATE 16000
#define BLOCK_SAMPLES RATE      /* one block = exactly one second */
#define VAD_HOP 400             /* 25 ms: the VAD decides per hop */
#define N_FRAMES 39
#define N_COEFFS 13
#define SILENCE_DB -200.0       /* level of an all-zero hop */
/* Smallest GAP event worth sending during silence (one per 100 ms at most). */
#define GAP_MIN (100 * GST_MSECOND)

#define DEFAULT_MODE GST_MM_MFCC_EXTRACT_MODE_UTTERANCE
/* FSDD-level speech peaks at -17 to -35 dBFS: at -45 dB, 96 % of its
 * recordings give exactly one word (24 % give none at -35 dB). */
#define DEFAULT_THRESHOLD -45.0
#define DEFAULT_HANGOVER 150
#define DEFAULT_MIN_LENGTH 100
#define DEFAULT_MAX_LENGTH 1000
#define DEFAULT_HOP 500
#define DEFAULT_NFFT 1024
#define DEFAULT_PREEMPHASIS 0.97f
#define DEFAULT_LIFTER 22
#define DEFAULT_FILTERS 26
#define DEFAULT_POST_MESSAGES TRUE

enum
{
  PROP_0,
  PROP_MODE,
  PROP_THRESHOLD,
  PROP_HANGOVER,
  PROP_MIN_LENGTH,
  PROP_MAX_LENGTH,
  PROP_HOP,
  PROP_NFFT,
  PROP_PREEMPHASIS,
  PROP_LIFTER,
  PROP_FILTERS,
  PROP_POST_MESSAGES,
};

/* The settings one chain call works with, copied under the object lock so
 * that a property set from the application thread never tears a block. */
typedef struct
{
  GstMmMfccExtractMode mode;
  gdouble threshold;
  guint64 hangover;             /* samples */
  guint64 min_length;           /* samples */
  guint64 max_length;           /* samples */
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
  guint hangover_ms;
  guint min_length_ms;
  guint max_length_ms;
  guint hop_ms;
  gint nfft;
  gfloat preemphasis;
  gint lifter;
  gint filters;
  gboolean post_messages;
  gboolean mfcc_stale;          /* front-end property changed: rebuild */
  gboolean reset_pending;       /* mode or hop changed: restart detection */

  /* streaming state, touched only from the streaming thread */
  GstAudioInfo info;
  gboolean have_info;
  GstSegment segment;
  MmMfcc *mfcc;
  float *block;                 /* BLOCK_SAMPLES of scratch for one window */

  /* Float samples kept for later: store[0] is absolute sample store_first;
   * n_in is the absolute index of the next sample to arrive. Indexes count
   * from base_ts, the PTS of the first buffer after a reset. */
  float *store;
  gsize store_len;
  gsize store_cap;
  guint64 store_first;
  guint64 n_in;
  GstClockTime base_ts;

  /* voice-activity detector */
  guint64 vad_pos;              /* next hop to analyse */
  gboolean in_word;
  guint64 word_start;
  guint64 word_end;             /* end of the last hop above threshold */
  gdouble word_peak;

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
        "rate=(int)16000, channels=(int)1, layout=(string)interleaved"));

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
 * stream (the core refuses NaN). */
static void
store_append (GstMmMfccExtract * self, const guint8 * data, gsize n)
{
  gsize skip = 0, i;
  float *dst;

  /* samples before store_first were skipped on purpose (window hop) */
  if (self->store_len == 0 && self->store_first > self->n_in)
    skip = MIN (n, self->store_first - self->n_in);
  self->n_in += n;
  if (skip == n)
    return;

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
}

/* ---- state ---------------------------------------------------------- */

static void
reset_stream (GstMmMfccExtract * self)
{
  self->store_len = 0;
  self->store_first = 0;
  self->n_in = 0;
  self->base_ts = GST_CLOCK_TIME_NONE;
  self->vad_pos = 0;
  self->in_word = FALSE;
  self->word_start = self->word_end = 0;
  self->word_peak = SILENCE_DB;
  self->next_window = 0;
  self->gap_pos = GST_CLOCK_TIME_NONE;
}

/* Copies the settings; returns (and clears) whether mode or hop changed
 * since the last call. Both under one lock: a mode read apart from its
 * reset flag could run window mode on utterance state (store_at() would
 * then assert on a sample already dropped). */
static gboolean
read_settings (GstMmMfccExtract * self, Settings * s)
{
  gboolean reset;

  GST_OBJECT_LOCK (self);
  reset = self->reset_pending;
  self->reset_pending = FALSE;
  s->mode = self->mode;
  s->threshold = self->threshold;
  s->hangover = (guint64) self->hangover_ms * RATE / 1000;
  s->min_length = (guint64) self->min_length_ms * RATE / 1000;
  s->max_length = MAX ((guint64) self->max_length_ms * RATE / 1000, VAD_HOP);
  s->hop = MAX ((guint64) self->hop_ms * RATE / 1000, 1);
  s->post_messages = self->post_messages;
  GST_OBJECT_UNLOCK (self);
  return reset;
}

/* (Re)builds the MmMfcc when a front-end property has changed. */
static gboolean
ensure_mfcc (GstMmMfccExtract * self)
{
  MmMfccParams p;
  MmMfcc *m;
  GError *err = NULL;
  gboolean stale;

  mm_mfcc_params_init (&p);
  GST_OBJECT_LOCK (self);
  stale = self->mfcc_stale || self->mfcc == NULL;
  self->mfcc_stale = FALSE;
  p.nfft = self->nfft;
  p.preemph = self->preemphasis;
  p.lifter = self->lifter;
  p.n_filters = self->filters;
  GST_OBJECT_UNLOCK (self);

  if (!stale)
    return TRUE;
  p.sample_rate = RATE;
  p.n_coeffs = N_COEFFS;
  m = mm_mfcc_new (&p, &err);
  if (m == NULL) {
    GST_ELEMENT_ERROR (self, LIBRARY, SETTINGS,
        ("Cannot set up the MFCC front end."), ("%s", err->message));
    g_clear_error (&err);
    return FALSE;
  }
  if (mm_mfcc_n_frames (m, BLOCK_SAMPLES) != N_FRAMES) {
    GST_ELEMENT_ERROR (self, LIBRARY, SETTINGS,
        ("The MFCC front end does not give %d frames per second.", N_FRAMES),
        ("mm_mfcc_n_frames(16000) = %d", mm_mfcc_n_frames (m, BLOCK_SAMPLES)));
    mm_mfcc_free (m);
    return FALSE;
  }
  if (self->mfcc)
    mm_mfcc_free (self->mfcc);
  self->mfcc = m;
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
    /* a word is pushed hangover (+ one hop) after its end; its block starts
     * half a second before its centre, i.e. length/2 + 0.5 s before its end */
    lat = GST_SECOND / 2 + (GstClockTime) self->max_length_ms * GST_MSECOND / 2
        + (GstClockTime) self->hangover_ms * GST_MSECOND
        + gst_util_uint64_scale_int (VAD_HOP, GST_SECOND, RATE);
  GST_OBJECT_UNLOCK (self);
  return lat;
}

/* ---- output --------------------------------------------------------- */

static void
post_utterance (GstMmMfccExtract * self, GstClockTime pts, guint64 start,
    guint64 end, gdouble peak)
{
  GstStructure *s = gst_mm_timed_structure_new ("mfcc-utterance",
      &self->segment, pts, GST_SECOND);

  gst_structure_set (s,
      "start", G_TYPE_UINT64, time_of (self, start),
      "end", G_TYPE_UINT64, time_of (self, end),
      "peak-level", G_TYPE_DOUBLE, peak, NULL);
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self), s));
}

/* MFCC of one second (@samples, BLOCK_SAMPLES long) → one buffer pushed. */
static GstFlowReturn
push_block (GstMmMfccExtract * self, const float *samples, GstClockTime pts)
{
  GstBuffer *out;
  GstMapInfo map;
  GError *err = NULL;
  gboolean ok;

  if (!ensure_mfcc (self))
    return GST_FLOW_ERROR;

  out = gst_buffer_new_allocate (NULL, N_FRAMES * N_COEFFS * sizeof (float),
      NULL);
  gst_buffer_map (out, &map, GST_MAP_WRITE);
  ok = mm_mfcc_compute (self->mfcc, samples, BLOCK_SAMPLES,
      (float *) map.data, &err);
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

/* The word [start, end) is complete: centre it in one second and push. */
static GstFlowReturn
emit_word (GstMmMfccExtract * self, const Settings * s, guint64 start,
    guint64 end, gdouble peak)
{
  guint64 len = end - start;
  GstClockTime pts;

  if (len < s->min_length) {
    GST_DEBUG_OBJECT (self, "dropping a %" G_GUINT64_FORMAT " ms sound, "
        "shorter than min-length", len * 1000 / RATE);
    return GST_FLOW_OK;
  }
  mm_audio_fit_center (store_at (self, start), len, self->block, BLOCK_SAMPLES);
  /* the block's window, placed as mm_audio_fit_center places the word */
  if (len <= BLOCK_SAMPLES)
    pts = time_of (self, (gint64) start - (gint64) (BLOCK_SAMPLES - len) / 2);
  else
    pts = time_of (self, (gint64) (start + (len - BLOCK_SAMPLES) / 2));
  GST_DEBUG_OBJECT (self, "word %" GST_TIME_FORMAT " - %" GST_TIME_FORMAT
      ", peak %.1f dB", GST_TIME_ARGS (time_of (self, start)),
      GST_TIME_ARGS (time_of (self, end)), peak);
  if (s->post_messages)
    post_utterance (self, pts, start, end, peak);
  return push_block (self, self->block, pts);
}

/* ---- detection ------------------------------------------------------ */

static gdouble
level_db (const float *x, gsize n)
{
  gdouble sum = 0.0;
  gsize i;

  for (i = 0; i < n; i++)
    sum += (gdouble) x[i] * x[i];
  sum /= n;
  return sum > 0.0 ? MAX (10.0 * log10 (sum), SILENCE_DB) : SILENCE_DB;
}

static GstFlowReturn
process_utterance (GstMmMfccExtract * self, const Settings * s)
{
  GstFlowReturn ret = GST_FLOW_OK;

  while (ret == GST_FLOW_OK && self->vad_pos + VAD_HOP <= self->n_in) {
    guint64 hop_end = self->vad_pos + VAD_HOP;
    gdouble db = level_db (store_at (self, self->vad_pos), VAD_HOP);

    if (db > s->threshold) {
      if (!self->in_word) {
        self->in_word = TRUE;
        self->word_start = self->vad_pos;
        self->word_peak = db;
      }
      self->word_end = hop_end;
      self->word_peak = MAX (self->word_peak, db);
      if (self->word_end - self->word_start >= s->max_length) {
        /* too long for one word: cut, and detect afresh from here */
        self->in_word = FALSE;
        ret = emit_word (self, s, self->word_start,
            self->word_start + s->max_length, self->word_peak);
      }
    } else if (self->in_word && hop_end - self->word_end >= s->hangover) {
      self->in_word = FALSE;
      ret = emit_word (self, s, self->word_start, self->word_end,
          self->word_peak);
    }
    self->vad_pos = hop_end;
  }
  store_drop_before (self, self->in_word ? self->word_start : self->vad_pos);
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
 * before the start of the open word or of the next hop. */
static void
push_gap (GstMmMfccExtract * self)
{
  guint64 hold = self->in_word ? self->word_start : self->vad_pos;
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

/* EOS: a word still open ends where the audio ends. */
static GstFlowReturn
drain (GstMmMfccExtract * self)
{
  Settings s;

  /* in_word is set only in utterance mode: a mode changed since the last
   * buffer leaves no word to emit, so the pending reset can be consumed */
  read_settings (self, &s);
  if (s.mode != GST_MM_MFCC_EXTRACT_MODE_UTTERANCE || !self->in_word)
    return GST_FLOW_OK;
  self->in_word = FALSE;
  return emit_word (self, &s, self->word_start, self->word_end,
      self->word_peak);
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

  if (!self->have_info) {
    gst_buffer_unref (buf);
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL),
        ("no caps before the first buffer"));
    return GST_FLOW_NOT_NEGOTIATED;
  }

  reset = read_settings (self, &s);
  if (reset || GST_BUFFER_IS_DISCONT (buf)) {
    if (self->in_word || self->store_len)
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
  store_append (self, map.data, map.size / GST_AUDIO_INFO_BPF (&self->info));
  gst_buffer_unmap (buf, &map);
  gst_buffer_unref (buf);

  if (s.mode == GST_MM_MFCC_EXTRACT_MODE_WINDOW)
    ret = process_window (self, &s);
  else
    ret = process_utterance (self, &s);
  if (ret == GST_FLOW_OK && s.mode == GST_MM_MFCC_EXTRACT_MODE_UTTERANCE)
    push_gap (self);
  return ret;
}

static gboolean
set_sink_caps (GstMmMfccExtract * self, GstCaps * caps)
{
  GstAudioInfo info;
  GstCaps *src_caps;
  gboolean ret;

  if (!gst_audio_info_from_caps (&info, caps)
      || GST_AUDIO_INFO_RATE (&info) != RATE
      || GST_AUDIO_INFO_CHANNELS (&info) != 1) {
    GST_WARNING_OBJECT (self, "refusing caps %" GST_PTR_FORMAT, caps);
    return FALSE;
  }
  self->info = info;
  self->have_info = TRUE;
  src_caps = gst_pad_get_pad_template_caps (self->srcpad);
  ret = gst_pad_push_event (self->srcpad, gst_event_new_caps (src_caps));
  gst_caps_unref (src_caps);
  return ret;
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
    case PROP_HANGOVER:
      self->hangover_ms = g_value_get_uint (value);
      break;
    case PROP_MIN_LENGTH:
      self->min_length_ms = g_value_get_uint (value);
      break;
    case PROP_MAX_LENGTH:
      self->max_length_ms = g_value_get_uint (value);
      break;
    case PROP_HOP:
      self->hop_ms = g_value_get_uint (value);
      self->reset_pending = TRUE;
      break;
    case PROP_NFFT:{
      gint nfft = g_value_get_int (value);
      if (nfft == 512 || nfft == 1024) {
        self->nfft = nfft;
        self->mfcc_stale = TRUE;
      } else {
        GST_WARNING_OBJECT (self, "nfft must be 512 or 1024, not %d", nfft);
      }
      break;
    }
    case PROP_PREEMPHASIS:
      self->preemphasis = g_value_get_float (value);
      self->mfcc_stale = TRUE;
      break;
    case PROP_LIFTER:
      self->lifter = g_value_get_int (value);
      self->mfcc_stale = TRUE;
      break;
    case PROP_FILTERS:
      self->filters = g_value_get_int (value);
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
    case PROP_HANGOVER:
      g_value_set_uint (value, self->hangover_ms);
      break;
    case PROP_MIN_LENGTH:
      g_value_set_uint (value, self->min_length_ms);
      break;
    case PROP_MAX_LENGTH:
      g_value_set_uint (value, self->max_length_ms);
      break;
    case PROP_HOP:
      g_value_set_uint (value, self->hop_ms);
      break;
    case PROP_NFFT:
      g_value_set_int (value, self->nfft);
      break;
    case PROP_PREEMPHASIS:
      g_value_set_float (value, self->preemphasis);
      break;
    case PROP_LIFTER:
      g_value_set_int (value, self->lifter);
      break;
    case PROP_FILTERS:
      g_value_set_int (value, self->filters);
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
          "Level of a 25 ms hop above which it is speech (dB full scale)",
          -120.0, 0.0, DEFAULT_THRESHOLD, flags));
  g_object_class_install_property (gobject_class, PROP_HANGOVER,
      g_param_spec_uint ("hangover", "Hangover",
          "Time below the threshold that ends a word (ms)",
          0, 5000, DEFAULT_HANGOVER, flags));
  g_object_class_install_property (gobject_class, PROP_MIN_LENGTH,
      g_param_spec_uint ("min-length", "Minimum length",
          "Shorter sounds are dropped (ms)", 0, 10000, DEFAULT_MIN_LENGTH,
          flags));
  g_object_class_install_property (gobject_class, PROP_MAX_LENGTH,
      g_param_spec_uint ("max-length", "Maximum length",
          "Longer words are cut at this length (ms); above 1000 only the "
          "central second is kept", 25, 10000, DEFAULT_MAX_LENGTH, flags));
  g_object_class_install_property (gobject_class, PROP_HOP,
      g_param_spec_uint ("hop", "Hop",
          "Window mode: time between the starts of two blocks (ms)",
          1, 10000, DEFAULT_HOP, flags));
  g_object_class_install_property (gobject_class, PROP_NFFT,
      g_param_spec_int ("nfft", "FFT size",
          "FFT length: 1024, or 512 (study-compatible: first 512 samples of "
          "each 800-sample frame)", 512, 1024, DEFAULT_NFFT, flags));
  g_object_class_install_property (gobject_class, PROP_PREEMPHASIS,
      g_param_spec_float ("preemphasis", "Pre-emphasis",
          "Pre-emphasis coefficient (0 = off)", 0.0f, 0.999f,
          DEFAULT_PREEMPHASIS, flags));
  g_object_class_install_property (gobject_class, PROP_LIFTER,
      g_param_spec_int ("lifter", "Lifter",
          "Sinusoidal cepstral lifter (0 = off)", 0, 1000, DEFAULT_LIFTER,
          flags));
  g_object_class_install_property (gobject_class, PROP_FILTERS,
      g_param_spec_int ("filters", "Mel filters",
          "Number of triangular mel filters", N_COEFFS, 128, DEFAULT_FILTERS,
          flags));
  g_object_class_install_property (gobject_class, PROP_POST_MESSAGES,
      g_param_spec_boolean ("post-messages", "Post messages",
          "Post an mfcc-utterance element message for every word",
          DEFAULT_POST_MESSAGES, flags));

  element_class->change_state = gst_mm_mfcc_extract_change_state;

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "MFCC extractor", "Filter/Analyzer/Audio",
      "Cuts 16 kHz speech into words and gives 39x13 MFCC per word "
      "(or per sliding one-second window)", "mmdigits authors");

  gst_type_mark_as_plugin_api (GST_TYPE_MM_MFCC_EXTRACT_MODE, 0);
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
  self->hangover_ms = DEFAULT_HANGOVER;
  self->min_length_ms = DEFAULT_MIN_LENGTH;
  self->max_length_ms = DEFAULT_MAX_LENGTH;
  self->hop_ms = DEFAULT_HOP;
  self->nfft = DEFAULT_NFFT;
  self->preemphasis = DEFAULT_PREEMPHASIS;
  self->lifter = DEFAULT_LIFTER;
  self->filters = DEFAULT_FILTERS;
  self->post_messages = DEFAULT_POST_MESSAGES;

  self->block = g_new0 (float, BLOCK_SAMPLES);
  gst_segment_init (&self->segment, GST_FORMAT_TIME);
  reset_stream (self);
}
