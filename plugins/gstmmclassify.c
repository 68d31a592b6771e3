/* mmdigits — mmclassify element.
 *
 * Copyright (C) 2025 mmdigits authors. LGPL-2.1-or-later.
 */

/**
 * SECTION:element-mmclassify
 * @title: mmclassify
 *
 * Classifies spoken and written digits with the core's networks (#MmNet):
 * 28 × 28 GRAY8 crops (from `digitimage`) on the `image_sink` request pad,
 * 39 × 13 MFCC blocks (from `mfccextract`) on the `audio_sink` request pad.
 * Either pad may be absent; each may be requested once.
 *
 * ## Fusion by time window
 * A crop and an MFCC block are *the same digit* when their times are within
 * #GstMmClassify:pair-window of each other: the crop's time is its PTS, the
 * block's time its centre (PTS + duration / 2), both compared as running
 * time. When the model set holds a hybrid network such a pair is
 * classified once by it (modality `image+audio`). An item that can no
 * longer be paired — the other pad has moved more than pair-window past it
 * (a later item or a GAP event), is EOS, or was never requested — is
 * classified alone by the single-modality network of its kind (modality
 * `image` or `audio`) if the model set has one; with both pads and
 * #GstMmClassify:fallback %FALSE (or no such network) it is dropped
 * instead. Without a hybrid network both pads still work: every crop and
 * every block is classified alone by its own network (fallback has no
 * effect), as two single-pad elements would, one decision each.
 * Items are taken earliest first (a block pairs with the earliest crop
 * within the window, not the nearest), so decisions come out in time order
 * (without a hybrid, in the order of their `timestamp`).
 * A requested pad must be fed or get EOS: without a live source the element
 * waits for both pads, as every aggregator does.
 *
 * With a live source the element waits at most pair-window for the other
 * pad (the aggregator's timeout), so its latency is pair-window: it answers
 * LATENCY queries with the upstream latency plus pair-window.
 *
 * ## Models
 * #GstMmClassify:model names one safetensors model file or a directory of
 * them, opened as the core's model set (#MmModelSet, `core/nets/mm-modelset.h`,
 * the policy every mmdigits tool shares). Each network serves one role by
 * its `arch` metadata: crops alone (ImageNet_CNN), blocks alone
 * (AudioNet_CNN, else AudioNet_LSTM) and pairs (HybridNet_CNN, else
 * HybridNet_CNN_LSTM); files are read in name order and the first of each
 * arch wins, unless the directory's `roles.json` names the file for a role
 * (the default set's names its AudioNet_LSTM for blocks). When it names
 * two files for blocks (the network and its partner, the other audio
 * network, one front end), a block alone is decided on the mean of their
 * calibrated probabilities (a set opts in when a validation rule chose it;
 * the default set's names one network; a model file given alone is one
 * network). When the roles file gives pairs the rule `image_decides_below`
 * P (the default set's does), a pair whose hybrid is less than P sure is
 * decided by the image network alone (where the recording is drowned the
 * hybrid does worse than the image; see `deferred-from`). Models are loaded
 * at NULL→READY. A missing file, a corrupt
 * file given by name, a directory in which nothing loads, or a model set
 * with no network for a requested pad (neither its single-modality one nor,
 * with both pads, a hybrid) is an error that names the file or the arch to
 * add; a directory's file that does not load is skipped with a WARNING.
 * Inputs are normalised with the norm stored in the model that classifies
 * them.
 *
 * The `audio/x-mfcc` caps carry the front end the blocks were made with
 * (see mfccextract); the audio and hybrid models each record the front end
 * they were trained with (their `mfcc` metadata; the study's when absent).
 * The networks that may see the blocks must share one front end: with both
 * pads, an audio and a hybrid network trained on different front ends are
 * an error at NULL→READY naming both files. Caps that differ are refused at negotiation with an error that names the
 * model and both values, e.g. "model vs stream: nfft: 512 vs 1024": give
 * mfccextract the same model (`model=`) or matching properties. The audio
 * pad answers CAPS queries with that front end, so an mfccextract whose
 * front-end properties are left alone adopts it by itself.
 *
 * A front end may have test-time views (the caps' `views`, e.g.
 * `speed:0.9,speed:1.1`; the default set's has): each buffer then holds
 * the word's block and one block per view, and a network decides on the
 * softmax of the mean of its logits over them, divided by its temperature
 * (which was fitted on that mean).
 *
 * ## Output
 * Every decision is posted as an element message named `mmclassify` with
 * these fields:
 *
 * * #gint `digit`: the predicted digit, 0–9 (the arg-max of `probabilities`),
 *   or −1 when the decision is not sure (see below).
 * * #gdouble `confidence`: the probability of the arg-max.
 * * #GstValueArray of #gdouble `probabilities`: the ten class probabilities
 *   (softmax of the logits — with views, of their mean — divided by the
 *   model's calibration temperature, 1 for a model without one), summing
 *   to 1.
 * * #gchararray `modality`: what was classified: `image` (a crop alone),
 *   `audio` (a block alone) or `image+audio` (a pair, by the hybrid, or by
 *   the image network when the hybrid was unsure: see `deferred-from`).
 * * #gchararray `arch`: the network that decided, e.g. `HybridNet_CNN`;
 *   with both pads and no hybrid, `ImageNet_CNN` for crops and the audio
 *   network for blocks.
 * * #gchararray `deferred-from` (JSON `deferred_from`), only for a pair
 *   the hybrid was unsure of in a set with the pair rule (see Models): the
 *   hybrid's arch; `arch` is then `ImageNet_CNN` and `probabilities` are
 *   its, of the pair's crop.
 * * #gchararray `averaged-with` (JSON `averaged_with`), only for a block
 *   decided by two audio networks (see Models): the partner's arch, e.g.
 *   `AudioNet_CNN`; `probabilities` are then the mean of both networks'.
 * * #GstClockTime `timestamp`: the PTS of the earliest input of the decision.
 * * #GstClockTime `stream-time`: the stream time of that PTS.
 * * #GstClockTime `running-time`: the running time of that PTS.
 * * #GstClockTime `duration`: from that PTS to the end of the latest input.
 *
 * and pushed on the src pad (`application/x-json`) as one buffer holding one
 * newline-terminated JSON object, e.g.
 * `{"pts":1500000000,"time":"0:00:01.500000000","digit":7,"confidence":0.99,"modality":"image+audio","arch":"HybridNet_CNN","probabilities":[...]}`,
 * where `pts` is `timestamp` in nanoseconds and `time` the stream time; the
 * buffer's PTS is the running time. A file sink thus collects a JSON-lines
 * file.
 *
 * A model whose outputs are not finite (inf or NaN) for a finite input is
 * an ERROR naming the model file (its weights are unusable; every later
 * input would fail alike). An MFCC block holding inf or NaN is not
 * classified: a WARNING says so and the stream goes on.
 *
 * ## Not sure
 * When the arg-max's probability is below #GstMmClassify:min-confidence the
 * decision is still emitted (message and JSON line), but says "not sure":
 * `digit` is −1 in the message and `null` in the JSON line, with
 * `confidence` and `probabilities` as always, e.g.
 * `{"pts":…,"digit":null,"confidence":0.41,…,"probabilities":[...]}`. The
 * probabilities are calibrated when the model carries a temperature
 * (`mmdigits train` fits one on its validation split), so the threshold
 * reads as a probability of being right. The default, 0, never says it.
 *
 * A stream that ends before any crop or word arrived (silence, a blank
 * video, or settings upstream that found nothing) ends normally with a
 * WARNING message that says which upstream properties to check.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 -m filesrc location=digits.png ! decodebin ! videoconvert ! imagefreeze num-buffers=1 ! digitimage ! mmclassify model=models/ ! filesink location=events.jsonl
 * ]| classifies the digit of an image with the ImageNet_CNN model of models/.
 * |[
 * gst-launch-1.0 -m mmclassify name=c model=models/ ! filesink location=events.jsonl \
 *   filesrc location=digit.mp4 ! decodebin ! videoconvert ! digitimage ! c.image_sink \
 *   filesrc location=digit.wav ! decodebin ! audioconvert ! audioresample ! audio/x-raw,format=F32LE,rate=16000,channels=1 ! mfccextract ! c.audio_sink
 * ]| fuses the crops of a video with the words of a recording.
 */

#include "mm-config.h"

#include <math.h>
#include <string.h>

#include <gst/video/video.h>

#include "gstmmclassify.h"
#include "gstmmutil.h"
#include "mm-error.h"
#include "mm-frontend.h"
#include "mm-modelset.h"
#include "mm-paths.h"

GST_DEBUG_CATEGORY_STATIC (gst_mm_classify_debug);
#define GST_CAT_DEFAULT gst_mm_classify_debug

#define DEFAULT_PAIR_WINDOW 1000        /* ms */
#define MAX_PAIR_WINDOW 60000           /* ms */
#define DEFAULT_FALLBACK TRUE
#define DEFAULT_MIN_CONFIDENCE 0.0

enum
{
  PROP_0,
  PROP_MODEL,
  PROP_PAIR_WINDOW,
  PROP_FALLBACK,
  PROP_MIN_CONFIDENCE,
};

struct _GstMmClassify
{
  GstAggregator parent;

  /* properties, under the object lock */
  gchar *model;
  guint pair_window_ms;
  gboolean fallback;
  gdouble min_confidence;

  /* the request pads (owned by the element, not reffed), object lock */
  GstAggregatorPad *image_pad;
  GstAggregatorPad *audio_pad;

  /* the model set (roles, plans, decisions: core/nets/mm-modelset.h): opened
   * at NULL→READY and freed at READY→NULL under the object lock, read by
   * the aggregate thread (which only runs in between) */
  MmModelSet *models;

  /* Serialises the aggregate thread's peeks and drops with release_pad.
   * GstAggregator (1.22) clears a released pad's peeked buffer outside the
   * pad lock, which can interleave with gst_aggregator_pad_pop_buffer()
   * taking that same buffer: one reference is then dropped twice. Never
   * held across a push (a prerolling sink would block a release).
   * get_next_time needs no such lock: the base class calls it, and
   * releases pads, under its own SRC lock. */
  GMutex consume_lock;

  /* aggregate thread only: running time before which a pad will send
   * nothing more (end of its last GAP), and scratch for one input */
  gboolean audio_refused;       /* the audio caps did not match the models */
  GstClockTime pos[2];
  guint64 n_decisions;          /* since start, to tell an empty stream */
  gboolean warned_empty;
  guint8 gray[MM_IMAGE_PIXELS];
  int audio_blocks;             /* blocks per buffer: the word's and its views' */
  float mfcc[MM_AUDIO_VALUES * (1 + MM_MFCC_MAX_VIEWS)];
};

/* One input at the head of a pad, with its times. */
typedef struct
{
  GstAggregatorPad *pad;
  GstBuffer *buf;               /* owned ref, or NULL */
  gboolean audio;
  GstClockTime pts;
  GstClockTime key;             /* running time compared for pairing */
  GstClockTime rt_start, rt_end;
  GstClockTime stream_time;
} Item;

/* One classification. */
typedef struct
{
  const char *modality;         /* "image", "audio" or "image+audio" */
  const char *arch;
  const char *averaged_with;    /* the audio partner's arch, or NULL */
  const char *deferred_from;    /* the hybrid's arch when the image network
                                 * decided a pair it was unsure of, or NULL */
  int digit;                    /* the arg-max */
  gboolean unsure;              /* its probability is below min-confidence */
  double probs[MM_N_CLASSES];
  GstClockTime timestamp, stream_time, running_time, duration;
} Decision;

static GstStaticPadTemplate image_sink_template =
GST_STATIC_PAD_TEMPLATE ("image_sink",
    GST_PAD_SINK,
    GST_PAD_REQUEST,
    GST_STATIC_CAPS ("video/x-raw, format=(string)GRAY8, width=(int)28, "
        "height=(int)28, framerate=(fraction)[ 0/1, max ]"));

static GstStaticPadTemplate audio_sink_template =
GST_STATIC_PAD_TEMPLATE ("audio_sink",
    GST_PAD_SINK,
    GST_PAD_REQUEST,
    GST_STATIC_CAPS ("audio/x-mfcc, frames=(int)39, coefficients=(int)13, "
        "format=(string)F32LE"));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("application/x-json"));

#define gst_mm_classify_parent_class parent_class
G_DEFINE_TYPE (GstMmClassify, gst_mm_classify, GST_TYPE_AGGREGATOR);

GST_ELEMENT_REGISTER_DEFINE (mmclassify, "mmclassify", GST_RANK_NONE,
    GST_TYPE_MM_CLASSIFY);

/* ---- models --------------------------------------------------------- */

/* The shipped models of the install this plugin belongs to (see
 * mm_models_dir): found from where the plugin was loaded, so a moved
 * install uses its own models, never a source tree's. */
static gchar *
default_model_dir (void)
{
  return mm_models_dir (MM_PLUGINDIR, gst_mm_plugin_dir ());
}

/* Posts a model-set error of the core as a resource error: NOT_FOUND for
 * what is missing, @code otherwise. */
static void
post_error (GstMmClassify * self, const GError * err, gint code)
{
  if (g_error_matches (err, MM_ERROR, MM_ERROR_NOT_FOUND))
    code = GST_RESOURCE_ERROR_NOT_FOUND;
  gst_element_message_full (GST_ELEMENT (self), GST_MESSAGE_ERROR,
      GST_RESOURCE_ERROR, code, g_strdup (err->message), NULL, __FILE__,
      GST_FUNCTION, __LINE__);
}

/* The core's plan for the pads and fallback of now (which network serves
 * pairs, lone crops, lone blocks); FALSE before NULL→READY. Object lock
 * held. The pads were checked when they came, so it does not fail then. */
static gboolean
current_plan (GstMmClassify * self, MmModelPlan * plan)
{
  if (self->models && mm_model_set_plan (self->models, self->image_pad != NULL,
          self->audio_pad != NULL, self->fallback, plan, NULL))
    return TRUE;
  memset (plan, 0, sizeof *plan);
  return FALSE;
}

/* NULL→READY: opens the model set and checks it serves the pads already
 * requested. */
static gboolean
gst_mm_classify_open (GstMmClassify * self)
{
  MmModelSet *models;
  MmModelPlan plan;
  GError *err = NULL;
  gchar *path;
  gboolean with_image, with_audio, fallback;

  GST_OBJECT_LOCK (self);
  path = self->model ? g_strdup (self->model) : default_model_dir ();
  with_image = self->image_pad != NULL;
  with_audio = self->audio_pad != NULL;
  fallback = self->fallback;
  GST_OBJECT_UNLOCK (self);

  models = mm_model_set_open (path, &err);
  g_free (path);
  if (!models) {
    post_error (self, err, GST_RESOURCE_ERROR_READ);
    g_error_free (err);
    return FALSE;
  }
  for (const char *const *note = mm_model_set_skipped (models); *note; note++)
    GST_ELEMENT_WARNING (self, RESOURCE, READ, ("%s", *note), (NULL));
  for (const char *const *note = mm_model_set_unused (models); *note; note++)
    GST_INFO_OBJECT (self, "%s", *note);
  if (!mm_model_set_plan (models, with_image, with_audio, fallback, &plan, &err)) {
    post_error (self, err, GST_RESOURCE_ERROR_SETTINGS);
    g_error_free (err);
    mm_model_set_free (models);
    return FALSE;
  }
  GST_OBJECT_LOCK (self);
  self->models = models;
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static void
gst_mm_classify_close (GstMmClassify * self)
{
  GST_OBJECT_LOCK (self);
  g_clear_pointer (&self->models, mm_model_set_free);
  GST_OBJECT_UNLOCK (self);
}

/* ---- pads ----------------------------------------------------------- */

static GstAggregatorPad *
gst_mm_classify_create_new_pad (GstAggregator * agg, GstPadTemplate * templ,
    const gchar * req_name, const GstCaps * caps)
{
  GstMmClassify *self = GST_MM_CLASSIFY (agg);
  const char *name = GST_PAD_TEMPLATE_NAME_TEMPLATE (templ);
  gboolean image = g_str_equal (name, "image_sink");
  GstAggregatorPad **slot = image ? &self->image_pad : &self->audio_pad;
  GstAggregatorPad *pad;
  MmModelPlan plan;
  GError *err = NULL;

  GST_OBJECT_LOCK (self);
  if (*slot) {
    GST_OBJECT_UNLOCK (self);
    GST_WARNING_OBJECT (self, "%s already requested: there is one per "
        "modality", name);
    return NULL;
  }
  /* After NULL→READY the models are loaded: check they serve this pad */
  if (self->models && !mm_model_set_plan (self->models,
          image || self->image_pad != NULL, !image || self->audio_pad != NULL,
          self->fallback, &plan, &err)) {
    GST_OBJECT_UNLOCK (self);
    post_error (self, err, GST_RESOURCE_ERROR_SETTINGS);
    g_error_free (err);
    return NULL;
  }
  pad = g_object_new (GST_TYPE_AGGREGATOR_PAD, "name", name,
      "direction", GST_PAD_SINK, "template", templ, NULL);
  /* the audio pad's CAPS answer names one front end (a suggestion); caps
   * are accepted by the template, and checked against the models when they
   * arrive (check_audio_caps), with an error that says what differs */
  GST_OBJECT_FLAG_SET (pad, GST_PAD_FLAG_ACCEPT_TEMPLATE);
  *slot = pad;
  GST_OBJECT_UNLOCK (self);
  return pad;
}

static void
gst_mm_classify_release_pad (GstElement * element, GstPad * pad)
{
  GstMmClassify *self = GST_MM_CLASSIFY (element);

  GST_OBJECT_LOCK (self);
  if (pad == GST_PAD (self->image_pad))
    self->image_pad = NULL;
  if (pad == GST_PAD (self->audio_pad))
    self->audio_pad = NULL;
  GST_OBJECT_UNLOCK (self);
  g_mutex_lock (&self->consume_lock);
  GST_ELEMENT_CLASS (parent_class)->release_pad (element, pad);
  g_mutex_unlock (&self->consume_lock);
}

/* ---- timing --------------------------------------------------------- */

static GstClockTime
to_running_time (const GstSegment * seg, GstClockTime t)
{
  if (seg->format != GST_FORMAT_TIME || !GST_CLOCK_TIME_IS_VALID (t))
    return GST_CLOCK_TIME_NONE;
  return gst_segment_to_running_time (seg, GST_FORMAT_TIME, t);
}

static void
item_times (Item * it)
{
  GstSegment *seg = &it->pad->segment;
  GstClockTime dur = GST_BUFFER_DURATION (it->buf);

  if (it->audio && !GST_CLOCK_TIME_IS_VALID (dur))
    dur = GST_MM_MFCC_BLOCK_DURATION;
  it->pts = GST_BUFFER_PTS (it->buf);
  GST_OBJECT_LOCK (it->pad);
  it->rt_start = to_running_time (seg, it->pts);
  it->stream_time = GST_CLOCK_TIME_IS_VALID (it->pts) &&
      seg->format == GST_FORMAT_TIME ?
      gst_segment_to_stream_time (seg, GST_FORMAT_TIME, it->pts) :
      GST_CLOCK_TIME_NONE;
  it->key = gst_mm_pairing_key (seg, it->pts, dur, it->audio);
  it->rt_end = GST_CLOCK_TIME_IS_VALID (it->pts) && GST_CLOCK_TIME_IS_VALID (dur) ?
      to_running_time (seg, it->pts + dur) : it->rt_start;
  if (!GST_CLOCK_TIME_IS_VALID (it->rt_end))
    it->rt_end = it->rt_start;
  GST_OBJECT_UNLOCK (it->pad);
}

/* gst_aggregator_pad_peek_buffer() and _drop_buffer() for the aggregate
 * thread, under consume_lock (see there). */
static GstBuffer *
pad_peek (GstMmClassify * self, GstAggregatorPad * pad)
{
  GstBuffer *buf;

  g_mutex_lock (&self->consume_lock);
  buf = gst_aggregator_pad_peek_buffer (pad);
  g_mutex_unlock (&self->consume_lock);
  return buf;
}

static void
pad_drop (GstMmClassify * self, GstAggregatorPad * pad)
{
  g_mutex_lock (&self->consume_lock);
  gst_aggregator_pad_drop_buffer (pad);
  g_mutex_unlock (&self->consume_lock);
}

/* Takes the head of @pad into @it. GAP buffers (GstAggregator turns GAP
 * events into them) are consumed on the way: they only tell up to when the
 * pad will send nothing. */
static void
item_peek (GstMmClassify * self, GstAggregatorPad * pad, gboolean audio,
    Item * it)
{
  memset (it, 0, sizeof *it);
  it->pad = pad;
  it->audio = audio;
  if (!pad)
    return;
  while ((it->buf = pad_peek (self, pad))) {
    if (!GST_BUFFER_FLAG_IS_SET (it->buf, GST_BUFFER_FLAG_GAP))
      break;
    GST_OBJECT_LOCK (pad);
    self->pos[audio] = to_running_time (&pad->segment,
        GST_BUFFER_PTS (it->buf) +
        (GST_BUFFER_DURATION_IS_VALID (it->buf) ?
            GST_BUFFER_DURATION (it->buf) : 0));
    GST_OBJECT_UNLOCK (pad);
    GST_LOG_OBJECT (pad, "gap up to %" GST_TIME_FORMAT,
        GST_TIME_ARGS (self->pos[audio]));
    gst_buffer_unref (it->buf);
    pad_drop (self, pad);
  }
  if (it->buf)
    item_times (it);
}

static void
item_clear (Item * it)
{
  gst_clear_buffer (&it->buf);
}

/* Whether the live deadline of @key (key + latency in running time) has
 * passed on the pipeline clock. */
static gboolean
deadline_passed (GstMmClassify * self, GstClockTime key)
{
  GstClockTime latency = gst_aggregator_get_latency (GST_AGGREGATOR (self));
  GstClock *clock = gst_element_get_clock (GST_ELEMENT (self));
  GstClockTime now;

  if (!clock || !GST_CLOCK_TIME_IS_VALID (latency)) {
    if (clock)
      gst_object_unref (clock);
    return TRUE;
  }
  now = gst_clock_get_time (clock) - gst_element_get_base_time (GST_ELEMENT
      (self));
  gst_object_unref (clock);
  return now >= key + latency;
}

/* Whether the lone @it can no longer be paired: the other pad is absent,
 * EOS, has moved more than @window past it, or the wait timed out. */
static gboolean
can_release (GstMmClassify * self, const Item * it, GstAggregatorPad * other,
    GstClockTime window, gboolean timeout)
{
  GstClockTime other_pos = self->pos[!it->audio];

  if (!other || !GST_CLOCK_TIME_IS_VALID (it->key) ||
      gst_aggregator_pad_is_eos (other))
    return TRUE;
  if (GST_CLOCK_TIME_IS_VALID (other_pos) && other_pos > it->key + window)
    return TRUE;
  return timeout && deadline_passed (self, it->key);
}

static GstClockTime
gst_mm_classify_get_next_time (GstAggregator * agg)
{
  GstMmClassify *self = GST_MM_CLASSIFY (agg);
  GstAggregatorPad *pads[2];
  GstClockTime next = GST_CLOCK_TIME_NONE;

  GST_OBJECT_LOCK (self);
  pads[0] = self->image_pad ? gst_object_ref (self->image_pad) : NULL;
  pads[1] = self->audio_pad ? gst_object_ref (self->audio_pad) : NULL;
  GST_OBJECT_UNLOCK (self);

  /* the wait is for the earliest item held: until its time + latency */
  for (int i = 0; i < 2; i++) {
    Item it = { 0 };

    if (!pads[i])
      continue;
    it.pad = pads[i];
    it.audio = i;
    it.buf = gst_aggregator_pad_peek_buffer (pads[i]);
    if (it.buf && !GST_BUFFER_FLAG_IS_SET (it.buf, GST_BUFFER_FLAG_GAP)) {
      item_times (&it);
      if (!GST_CLOCK_TIME_IS_VALID (it.key))
        next = 0;
      else if (!GST_CLOCK_TIME_IS_VALID (next) || it.key < next)
        next = it.key;
    }
    item_clear (&it);
    gst_object_unref (pads[i]);
  }
  return next;
}

/* ---- classification ------------------------------------------------- */

static gboolean
read_image (GstMmClassify * self, GstBuffer * buf)
{
  GstVideoMeta *meta = gst_buffer_get_video_meta (buf);
  gsize stride = meta ? (gsize) meta->stride[0] : MM_IMAGE_SIZE;
  gsize offset = meta ? meta->offset[0] : 0;
  GstMapInfo map;
  gboolean ok;

  if (!gst_buffer_map (buf, &map, GST_MAP_READ))
    return FALSE;
  ok = map.size >= offset + stride * (MM_IMAGE_SIZE - 1) + MM_IMAGE_SIZE;
  if (ok)
    for (int r = 0; r < MM_IMAGE_SIZE; r++)
      memcpy (self->gray + r * MM_IMAGE_SIZE, map.data + offset + r * stride,
          MM_IMAGE_SIZE);
  gst_buffer_unmap (buf, &map);
  return ok;
}

static gboolean
read_audio (GstMmClassify * self, GstBuffer * buf)
{
  GstMapInfo map;
  gboolean ok;

  if (!gst_buffer_map (buf, &map, GST_MAP_READ))
    return FALSE;
  ok = map.size >= sizeof (float) * MM_AUDIO_VALUES * self->audio_blocks;
  if (ok)
    for (int i = 0; i < MM_AUDIO_VALUES * self->audio_blocks; i++)
      self->mfcc[i] = GST_READ_FLOAT_LE (map.data + 4 * i);
  gst_buffer_unmap (buf, &map);
  return ok;
}

static void
decision_times (Decision * d, const Item * a, const Item * b)
{
  const Item *first = a;
  GstClockTime end = a->rt_end;

  if (b && GST_CLOCK_TIME_IS_VALID (b->rt_start) &&
      (!GST_CLOCK_TIME_IS_VALID (a->rt_start) || b->rt_start < a->rt_start))
    first = b;
  if (b && GST_CLOCK_TIME_IS_VALID (b->rt_end) &&
      (!GST_CLOCK_TIME_IS_VALID (end) || b->rt_end > end))
    end = b->rt_end;
  d->timestamp = first->pts;
  d->stream_time = first->stream_time;
  d->running_time = first->rt_start;
  d->duration = GST_CLOCK_TIME_IS_VALID (first->rt_start) &&
      GST_CLOCK_TIME_IS_VALID (end) ? end - first->rt_start :
      GST_CLOCK_TIME_NONE;
}

static void
append_number (GString * s, double v)
{
  char num[G_ASCII_DTOSTR_BUF_SIZE];

  g_string_append (s, g_ascii_formatd (num, sizeof num, "%.9g", v));
}

static gchar *
decision_json (const Decision * d, gsize * len)
{
  GString *s = g_string_new ("{\"pts\":");

  if (GST_CLOCK_TIME_IS_VALID (d->timestamp))
    g_string_append_printf (s, "%" G_GUINT64_FORMAT, d->timestamp);
  else
    g_string_append (s, "null");
  if (GST_CLOCK_TIME_IS_VALID (d->stream_time))
    g_string_append_printf (s, ",\"time\":\"%" GST_TIME_FORMAT "\"",
        GST_TIME_ARGS (d->stream_time));
  else
    g_string_append (s, ",\"time\":null");
  if (d->unsure)
    g_string_append (s, ",\"digit\":null,\"confidence\":");
  else
    g_string_append_printf (s, ",\"digit\":%d,\"confidence\":", d->digit);
  append_number (s, d->probs[d->digit]);
  g_string_append_printf (s, ",\"modality\":\"%s\",\"arch\":\"%s\",", d->modality, d->arch);
  if (d->averaged_with)
    g_string_append_printf (s, "\"averaged_with\":\"%s\",", d->averaged_with);
  if (d->deferred_from)
    g_string_append_printf (s, "\"deferred_from\":\"%s\",", d->deferred_from);
  g_string_append (s, "\"probabilities\":[");
  for (int k = 0; k < MM_N_CLASSES; k++) {
    if (k)
      g_string_append_c (s, ',');
    append_number (s, d->probs[k]);
  }
  g_string_append (s, "]}\n");
  *len = s->len;
  return g_string_free (s, FALSE);
}

static void
post_decision (GstMmClassify * self, const Decision * d)
{
  GValue probs = G_VALUE_INIT;
  GstStructure *s;

  g_value_init (&probs, GST_TYPE_ARRAY);
  for (int k = 0; k < MM_N_CLASSES; k++) {
    GValue v = G_VALUE_INIT;

    g_value_init (&v, G_TYPE_DOUBLE);
    g_value_set_double (&v, d->probs[k]);
    gst_value_array_append_and_take_value (&probs, &v);
  }
  s = gst_structure_new ("mmclassify",
      "digit", G_TYPE_INT, d->unsure ? -1 : d->digit,
      "confidence", G_TYPE_DOUBLE, d->probs[d->digit],
      "modality", G_TYPE_STRING, d->modality,
      "arch", G_TYPE_STRING, d->arch,
      "timestamp", G_TYPE_UINT64, d->timestamp,
      "stream-time", G_TYPE_UINT64, d->stream_time,
      "running-time", G_TYPE_UINT64, d->running_time,
      "duration", G_TYPE_UINT64, d->duration, NULL);
  if (d->averaged_with)
    gst_structure_set (s, "averaged-with", G_TYPE_STRING, d->averaged_with, NULL);
  if (d->deferred_from)
    gst_structure_set (s, "deferred-from", G_TYPE_STRING, d->deferred_from, NULL);
  gst_structure_take_value (s, "probabilities", &probs);
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self), s));
}

/* Classifies @a (and @b, its partner: the hybrid network), announces the
 * decision and pushes it downstream. The inputs stay on their pads. */
static GstFlowReturn
classify (GstMmClassify * self, const Item * a, const Item * b)
{
  const Item *img = a->audio ? b : a, *aud = a->audio ? a : b;
  Decision d = { 0 };
  MmDecision md;
  GError *err = NULL;
  gdouble min_confidence;
  GstBuffer *out;
  gchar *json;
  gsize len;

  if (img && !read_image (self, img->buf)) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT, (NULL),
        ("crop of %" G_GSIZE_FORMAT " bytes is smaller than 28x28 GRAY8",
            gst_buffer_get_size (img->buf)));
    return GST_FLOW_ERROR;
  }
  if (aud && !read_audio (self, aud->buf)) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT, (NULL),
        ("MFCC buffer of %" G_GSIZE_FORMAT " bytes, need %d blocks of 39x13 floats",
            gst_buffer_get_size (aud->buf), self->audio_blocks));
    return GST_FLOW_ERROR;
  }
  GST_OBJECT_LOCK (self);
  min_confidence = self->min_confidence;
  GST_OBJECT_UNLOCK (self);
  if (!mm_model_set_classify (self->models, img ? self->gray : NULL,
          aud ? self->mfcc : NULL, min_confidence, &md, &err)) {
    gboolean bad_block = g_error_matches (err, MM_ERROR, MM_ERROR_INVALID);

    /* a bad block is the stream's fault, not the model's: say so and go
     * on; a model whose outputs are not finite fails every later input */
    if (bad_block)
      GST_ELEMENT_WARNING (self, STREAM, FORMAT,
          ("MFCC block at %" GST_TIME_FORMAT " holds inf or NaN: not classified",
              GST_TIME_ARGS (aud->pts)), (NULL));
    else
      GST_ELEMENT_ERROR (self, STREAM, FAILED, ("%s", err->message), (NULL));
    g_error_free (err);
    return bad_block ? GST_FLOW_OK : GST_FLOW_ERROR;
  }
  /* what was classified: a pair even when the image network decided it */
  d.modality = mm_role_modality ((md.deferred_from ? md.deferred_from : md.model)->role);
  d.arch = mm_arch_name (md.model->arch);
  d.averaged_with = md.partner ? mm_arch_name (md.partner->arch) : NULL;
  d.deferred_from = md.deferred_from ? mm_arch_name (md.deferred_from->arch) : NULL;
  d.digit = md.digit;
  d.unsure = md.unsure;
  for (int k = 0; k < MM_N_CLASSES; k++)
    d.probs[k] = md.probs[k];
  decision_times (&d, a, b);
  GST_DEBUG_OBJECT (self, "%s at %" GST_TIME_FORMAT ": %d (%.3f)",
      d.modality, GST_TIME_ARGS (d.running_time), d.digit, d.probs[d.digit]);

  post_decision (self, &d);
  self->n_decisions++;
  gst_aggregator_selected_samples (GST_AGGREGATOR (self), d.running_time,
      GST_CLOCK_TIME_NONE, d.duration, NULL);
  json = decision_json (&d, &len);
  out = gst_buffer_new_wrapped (json, len);
  GST_BUFFER_PTS (out) = d.running_time;
  GST_BUFFER_DURATION (out) = d.duration;
  return gst_aggregator_finish_buffer (GST_AGGREGATOR (self), out);
}

/* A lone item: its single-modality network decides if the plan says so
 * (see mm_model_set_plan), else it is dropped. Consumes it. */
static GstFlowReturn
classify_lone (GstMmClassify * self, const Item * it, const MmModelPlan * plan)
{
  GstFlowReturn ret = GST_FLOW_OK;

  if (it->audio ? plan->lone_audio : plan->lone_image)
    ret = classify (self, it, NULL);
  else
    GST_DEBUG_OBJECT (it->pad, "lone item at %" GST_TIME_FORMAT " dropped "
        "(fallback=false, or no %s model)", GST_TIME_ARGS (it->key),
        mm_role_arch_name (it->audio ? MM_ROLE_AUDIO : MM_ROLE_IMAGE));
  pad_drop (self, it->pad);
  return ret;
}

/* Whether the crop @img goes before the block @aud: by pairing key (a
 * block's centre) when pairs are made, else by start, so that decisions
 * made alone come out in the order of their timestamps. */
static gboolean
image_first (const Item * img, const Item * aud, gboolean pair)
{
  GstClockTime i = pair ? img->key : img->rt_start;
  GstClockTime a = pair ? aud->key : aud->rt_start;

  return !GST_CLOCK_TIME_IS_VALID (i) || (GST_CLOCK_TIME_IS_VALID (a) && i <= a);
}

static GstFlowReturn
gst_mm_classify_aggregate (GstAggregator * agg, gboolean timeout)
{
  GstMmClassify *self = GST_MM_CLASSIFY (agg);
  GstAggregatorPad *ipad, *apad;
  GstClockTime window;
  MmModelPlan plan;
  Item img, aud;
  GstFlowReturn ret = GST_FLOW_OK;

  /* audio caps of another front end were refused (the error is posted):
   * the stream stops, not-negotiated, rather than classify them */
  if (self->audio_refused)
    return GST_FLOW_NOT_NEGOTIATED;

  GST_OBJECT_LOCK (self);
  ipad = self->image_pad ? gst_object_ref (self->image_pad) : NULL;
  apad = self->audio_pad ? gst_object_ref (self->audio_pad) : NULL;
  /* without pairs an item waits only until the other pad has passed it,
   * which keeps the decisions in time order */
  current_plan (self, &plan);
  window = plan.pair ? self->pair_window_ms * GST_MSECOND : 0;
  GST_OBJECT_UNLOCK (self);

  item_peek (self, ipad, FALSE, &img);
  item_peek (self, apad, TRUE, &aud);

  if (img.buf && aud.buf) {
    if (plan.pair && gst_mm_keys_within (img.key, aud.key, window)) {
      ret = classify (self, &img, &aud);
      pad_drop (self, ipad);
      pad_drop (self, apad);
    } else if (image_first (&img, &aud, plan.pair)) {
      ret = classify_lone (self, &img, &plan);
    } else {
      ret = classify_lone (self, &aud, &plan);
    }
  } else if (img.buf) {
    if (can_release (self, &img, apad, window, timeout))
      ret = classify_lone (self, &img, &plan);
  } else if (aud.buf) {
    if (can_release (self, &aud, ipad, window, timeout))
      ret = classify_lone (self, &aud, &plan);
  } else if ((!ipad || gst_aggregator_pad_is_eos (ipad)) &&
      (!apad || gst_aggregator_pad_is_eos (apad))) {
    /* everything classified: the base class pushes EOS */
    if (self->n_decisions == 0 && !self->warned_empty) {
      /* a warning, not an error: a recording of silence or a blank video is
       * valid input for a streaming classifier, but in a batch job it is
       * usually a mistake upstream, and this says where to look */
      GST_ELEMENT_WARNING (self, STREAM, FAILED,
          ("No crop or word reached mmclassify before the end of the stream."),
          ("digitimage emits a crop only when a digit is held still for "
              "stable-frames frames, mfccextract a block only for a word louder "
              "than its threshold (dB): check the input, or lower those properties."));
      self->warned_empty = TRUE;
    }
    ret = GST_FLOW_EOS;
  }

  item_clear (&img);
  item_clear (&aud);
  gst_clear_object (&ipad);
  gst_clear_object (&apad);
  return ret;
}

/* The audio caps carry the front end the blocks come from: each network
 * that will classify them (the audio and the hybrid one) must have been
 * trained on that front end, or its answers are meaningless. Refused with
 * an error naming the model and both values. */
static gboolean
check_audio_caps (GstMmClassify * self, GstCaps * caps)
{
  MmMfccParams stream, model;
  MmModelPlan plan;
  GError *err = NULL;
  gchar *what = NULL, *file = NULL;
  gboolean ok = TRUE;

  if (!gst_mm_mfcc_params_from_caps (caps, &stream, &err)) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
        ("Invalid audio/x-mfcc caps."), ("%s", err->message));
    g_error_free (err);
    return FALSE;
  }
  /* the plan's audio model stands for every network that will see the
   * blocks: the plan refuses a set whose audio networks differ */
  GST_OBJECT_LOCK (self);
  if (current_plan (self, &plan) && plan.audio_model) {
    model = plan.audio_model->frontend;
    file = g_strdup (plan.audio_model->file);
  }
  GST_OBJECT_UNLOCK (self);
  if (file && !gst_mm_mfcc_stream_fits (&model, &stream, TRUE, &what)) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
        ("The audio features are not those model %s was trained on "
            "(model vs stream: %s).", file, what),
        ("give mfccextract model=%s, or set its properties to match", file));
    ok = FALSE;
  }
  if (ok)
    self->audio_blocks = mm_frontend_n_blocks (&stream);
  g_free (what);
  g_free (file);
  return ok;
}

/* Downstream suggests, upstream decides: the audio pad answers CAPS
 * queries with the front end of the model that will classify the blocks
 * (the audio network's, else the hybrid's), so an mfccextract left at its
 * defaults makes the features the model was trained on. */
static gboolean
gst_mm_classify_sink_query (GstAggregator * agg, GstAggregatorPad * pad,
    GstQuery * query)
{
  GstMmClassify *self = GST_MM_CLASSIFY (agg);

  if (GST_QUERY_TYPE (query) == GST_QUERY_CAPS) {
    GstCaps *filter, *caps = NULL;
    MmMfccParams fe;
    MmModelPlan plan;
    gboolean have = FALSE;

    GST_OBJECT_LOCK (self);
    if (pad == self->audio_pad && current_plan (self, &plan) && plan.audio_model) {
      fe = plan.audio_model->frontend;
      have = TRUE;
    }
    GST_OBJECT_UNLOCK (self);
    if (have) {
      GstCaps *tmpl = gst_pad_get_pad_template_caps (GST_PAD (pad));
      GstCaps *ours = gst_mm_mfcc_caps_new (&fe);

      caps = gst_caps_intersect (tmpl, ours);
      gst_caps_unref (tmpl);
      gst_caps_unref (ours);
      gst_query_parse_caps (query, &filter);
      if (filter) {
        GstCaps *f = gst_caps_intersect_full (filter, caps, GST_CAPS_INTERSECT_FIRST);
        gst_caps_unref (caps);
        caps = f;
      }
      gst_query_set_caps_result (query, caps);
      gst_caps_unref (caps);
      return TRUE;
    }
  }
  return GST_AGGREGATOR_CLASS (parent_class)->sink_query (agg, pad, query);
}

static gboolean
gst_mm_classify_sink_event (GstAggregator * agg, GstAggregatorPad * pad,
    GstEvent * event)
{
  /* the sink caps are fixed by the templates (checked by the pad before
   * they get here), the audio ones must also match the models; the src
   * caps are our own, so they are not forwarded */
  if (GST_EVENT_TYPE (event) == GST_EVENT_CAPS) {
    GstMmClassify *self = GST_MM_CLASSIFY (agg);
    GstCaps *caps;
    gboolean ok = TRUE;

    gst_event_parse_caps (event, &caps);
    if (gst_caps_is_fixed (caps) && gst_structure_has_name (gst_caps_get_structure (caps, 0),
            "audio/x-mfcc"))
      self->audio_refused = !(ok = check_audio_caps (self, caps));
    gst_event_unref (event);
    return ok;
  }
  return GST_AGGREGATOR_CLASS (parent_class)->sink_event (agg, pad, event);
}

static GstFlowReturn
gst_mm_classify_flush (GstAggregator * agg)
{
  GstMmClassify *self = GST_MM_CLASSIFY (agg);

  self->pos[0] = self->pos[1] = GST_CLOCK_TIME_NONE;
  return GST_FLOW_OK;
}

static gboolean
gst_mm_classify_start (GstAggregator * agg)
{
  GstMmClassify *self = GST_MM_CLASSIFY (agg);

  self->n_decisions = 0;
  self->warned_empty = FALSE;
  self->audio_refused = FALSE;
  return gst_mm_classify_flush (agg) == GST_FLOW_OK;
}

/* ---- GstElement / GObject ------------------------------------------- */

static GstStateChangeReturn
gst_mm_classify_change_state (GstElement * element, GstStateChange transition)
{
  GstMmClassify *self = GST_MM_CLASSIFY (element);
  GstStateChangeReturn ret;

  if (transition == GST_STATE_CHANGE_NULL_TO_READY) {
    gst_mm_warn_threads_env (element);
    if (!gst_mm_classify_open (self))
      return GST_STATE_CHANGE_FAILURE;
  }

  ret = GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);

  if (transition == GST_STATE_CHANGE_READY_TO_NULL)
    gst_mm_classify_close (self);
  return ret;
}

static void
update_latency (GstMmClassify * self)
{
  GstClockTime w;

  GST_OBJECT_LOCK (self);
  w = self->pair_window_ms * GST_MSECOND;
  GST_OBJECT_UNLOCK (self);
  gst_aggregator_set_latency (GST_AGGREGATOR (self), w, w);
}

static void
gst_mm_classify_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstMmClassify *self = GST_MM_CLASSIFY (object);

  switch (prop_id) {
    case PROP_MODEL:
      GST_OBJECT_LOCK (self);
      g_free (self->model);
      self->model = g_value_dup_string (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_PAIR_WINDOW:
      GST_OBJECT_LOCK (self);
      self->pair_window_ms = g_value_get_uint (value);
      GST_OBJECT_UNLOCK (self);
      update_latency (self);
      break;
    case PROP_FALLBACK:
      GST_OBJECT_LOCK (self);
      self->fallback = g_value_get_boolean (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_MIN_CONFIDENCE:
      GST_OBJECT_LOCK (self);
      self->min_confidence = g_value_get_double (value);
      GST_OBJECT_UNLOCK (self);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_mm_classify_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstMmClassify *self = GST_MM_CLASSIFY (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL:
      g_value_set_string (value, self->model);
      break;
    case PROP_PAIR_WINDOW:
      g_value_set_uint (value, self->pair_window_ms);
      break;
    case PROP_FALLBACK:
      g_value_set_boolean (value, self->fallback);
      break;
    case PROP_MIN_CONFIDENCE:
      g_value_set_double (value, self->min_confidence);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_mm_classify_finalize (GObject * object)
{
  GstMmClassify *self = GST_MM_CLASSIFY (object);

  gst_mm_classify_close (self);
  g_free (self->model);
  g_mutex_clear (&self->consume_lock);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_mm_classify_class_init (GstMmClassifyClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstAggregatorClass *agg_class = GST_AGGREGATOR_CLASS (klass);

  gobject_class->set_property = gst_mm_classify_set_property;
  gobject_class->get_property = gst_mm_classify_get_property;
  gobject_class->finalize = gst_mm_classify_finalize;

  g_object_class_install_property (gobject_class, PROP_MODEL,
      g_param_spec_string ("model", "Model",
          "A model file (safetensors) or a directory of them, from which the "
          "hybrid and single-modality networks are chosen by their arch; "
          "NULL (the default): the shipped models — $MMDIGITS_MODELS if set, "
          "else the models installed with this plugin; read at NULL to READY",
          NULL, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_PAIR_WINDOW,
      g_param_spec_uint ("pair-window", "Pair window",
          "A crop (PTS) and an MFCC block (centre) within this many "
          "milliseconds of each other are classified together; also the "
          "element's latency", 0, MAX_PAIR_WINDOW, DEFAULT_PAIR_WINDOW,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_FALLBACK,
      g_param_spec_boolean ("fallback", "Fallback",
          "With both pads requested and a hybrid network, classify an item "
          "that found no partner with its single-modality network if there "
          "is one (TRUE) or drop it (FALSE); without a hybrid every item is "
          "classified alone",
          DEFAULT_FALLBACK, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_MIN_CONFIDENCE,
      g_param_spec_double ("min-confidence", "Minimum confidence",
          "A decision whose top probability is below this says it is not "
          "sure: digit -1 in the message, null in the JSON line, with the "
          "probabilities (0: always a digit)", 0.0, 1.0,
          DEFAULT_MIN_CONFIDENCE, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  gst_element_class_add_static_pad_template_with_gtype (element_class,
      &image_sink_template, GST_TYPE_AGGREGATOR_PAD);
  gst_element_class_add_static_pad_template_with_gtype (element_class,
      &audio_sink_template, GST_TYPE_AGGREGATOR_PAD);
  gst_element_class_add_static_pad_template_with_gtype (element_class,
      &src_template, GST_TYPE_AGGREGATOR_PAD);
  gst_element_class_set_static_metadata (element_class,
      "Multimodal digit classifier", "Filter/Analyzer/Video/Audio",
      "Classifies digit crops and MFCC blocks, fused by time window, "
      "posting messages and JSON lines", "mmdigits authors");

  element_class->change_state =
      GST_DEBUG_FUNCPTR (gst_mm_classify_change_state);
  element_class->release_pad = GST_DEBUG_FUNCPTR (gst_mm_classify_release_pad);

  agg_class->aggregate = GST_DEBUG_FUNCPTR (gst_mm_classify_aggregate);
  agg_class->create_new_pad =
      GST_DEBUG_FUNCPTR (gst_mm_classify_create_new_pad);
  agg_class->get_next_time = GST_DEBUG_FUNCPTR (gst_mm_classify_get_next_time);
  agg_class->sink_event = GST_DEBUG_FUNCPTR (gst_mm_classify_sink_event);
  agg_class->sink_query = GST_DEBUG_FUNCPTR (gst_mm_classify_sink_query);
  agg_class->flush = GST_DEBUG_FUNCPTR (gst_mm_classify_flush);
  agg_class->start = GST_DEBUG_FUNCPTR (gst_mm_classify_start);

  GST_DEBUG_CATEGORY_INIT (gst_mm_classify_debug, "mmclassify", 0,
      "multimodal digit classifier");
}

static void
gst_mm_classify_init (GstMmClassify * self)
{
  self->pair_window_ms = DEFAULT_PAIR_WINDOW;
  self->fallback = DEFAULT_FALLBACK;
  self->pos[0] = self->pos[1] = GST_CLOCK_TIME_NONE;
  self->audio_blocks = 1;
  g_mutex_init (&self->consume_lock);
  update_latency (self);
}
