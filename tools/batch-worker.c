/* One batch worker: kept classifier bins put into each file's pipeline
 * (see batch-worker.h).
 *
 * Why this shape. Building `filesrc ! decodebin ! … ! mmclassify` per file
 * costs far more than classifying a one-second recording: the pipeline, its
 * threads, decodebin's type finding and auto-plugging, and loading every
 * network from disk. A worker therefore keeps the classifier half — the
 * only part whose setup is expensive and the same for every file — as a
 * bin, and replays it: PLAYING for a file, READY after it. READY keeps mmclassify's
 * networks (it loads them at NULL→READY) and resets every element's stream
 * state, so a file is classified exactly as by a fresh pipeline. A flush
 * between files would be cheaper still, but after a flush audioresample
 * gives one sample fewer at the start of the next file than a fresh
 * element (measured): the features, and some decisions, then differ from
 * the pipeline's.
 *
 * The decoding half is per file: a `filesrc ! decodebin` pipeline into
 * which the kept bin is added once decodebin has exposed its streams, its
 * ghost pads linked to the kept streams' pads, and taken out (at READY)
 * after the file: the one-file pipeline predict builds, with its times and
 * stream times. The decoders' threads run the branches up to mmclassify.
 * (Until 2026-12-06 the bin was a pipeline of its own fed by appsrcs from
 * the decoder's appsinks: two more threads and a hand-over per video frame
 * and per decoded audio buffer; see docs/performance.md.)
 *
 * WAV files skip GStreamer's pipelines altogether (run_core): even a kept
 * pipeline costs two state changes and thread hand-overs per file, several
 * times the decoding, features and network together; and a WAV file is
 * decided as one recording, with the cut eval and training use. */
#include "batch-worker.h"

#include <gst/gst.h>
#include <string.h>

#include "mm-frontend.h"
#include "mm-media.h"
#include "mm-modelset.h"
#include "mm-error.h"

/* A file whose pipeline has not moved for this long is stuck. */
#define STALL_US (60 * G_USEC_PER_SEC)

/* What a file gives the classifier: which branches it needs. */
typedef enum {
  SHAPE_VIDEO = 1 << 0,
  SHAPE_STILL = 1 << 1,         /* a still image instead of a video */
  SHAPE_AUDIO = 1 << 2,
  N_SHAPES = 1 << 3
} Shape;

/* A kept classifier for one shape: a bin whose ghost pads the decoder's
 * pads are linked to, put into a file's pipeline for that file. */
typedef struct {
  GstElement *bin;              /* owned ref */
  GstPad *video, *audio;        /* the bin's ghost sink pads (borrowed), NULL if none */
  GstElement *gray;             /* the capsfilter after img-conv (borrowed), NULL if none */
  GHashTable *luma;             /* the worker's luma_is_gray8 */
  MmCliLines *lines;
  guint n_sinks;
} Classifier;

struct _MmBatchWorker {
  char *model;
  MmCliNets nets;
  MmBatchDecode decode;
  Classifier *classifiers[N_SHAPES];
  /* the pipeline-free path (run_core): made on the first WAV file, with the
   * set batch opened to check it (the first worker) or one of its own */
  gboolean core_tried;
  MmModelSet *models;
  MmMfcc *mfcc;                 /* the front end of its audio network; NULL: the pipeline serves */
  MmFrontendViews *views;       /* and its test-time views */
  /* video caps (but the frame size) → whether videoconvert's GRAY8 of
   * them is their luma plane (mm_media_luma_is_gray8), found once each */
  GHashTable *luma_is_gray8;
};

/* ---- the classifier half ------------------------------------------------ */

/* Out of any pipeline (see run_decodebin). */
static void
classifier_free (Classifier *c)
{
  if (!c)
    return;
  gst_element_set_state (c->bin, GST_STATE_NULL);
  gst_object_unref (c->bin);
  mm_cli_lines_free (c->lines);
  g_free (c);
}

/* The video's grey frames without a conversion where that is the same
 * bytes. videoconvert makes GRAY8 of a decoder's I420 by copying its luma
 * plane when the colorimetry is BT.601 (not for BT.709, whose luma it
 * converts); the copy is a pass over every frame beside a buffer pool per
 * file, a few per cent of decoding one. So digitimage takes YUV frames
 * (luma) and, for each stream's caps, the filter after videoconvert is set
 * to those caps — videoconvert then passes the frames through — when the
 * conversion to GRAY8 has been found to be a copy of the luma plane
 * (mm_media_luma_is_gray8, run once per caps), else to GRAY8 as in
 * predict's pipeline. The caps event reaches this probe before
 * videoconvert negotiates, also for a change of caps within a stream. */
static GstPadProbeReturn
on_video_caps (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  Classifier *c = user_data;
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
  GstCaps *caps, *key_caps, *want;
  GstStructure *st;
  char *key;
  gpointer found;
  gboolean copy;

  if (GST_EVENT_TYPE (event) != GST_EVENT_CAPS)
    return GST_PAD_PROBE_OK;
  gst_event_parse_caps (event, &caps);
  key_caps = gst_caps_copy (caps);
  st = gst_caps_get_size (key_caps) == 1 ? gst_caps_get_structure (key_caps, 0) : NULL;
  if (st)
    gst_structure_remove_fields (st, "width", "height", "framerate", "pixel-aspect-ratio",
        NULL);
  key = gst_caps_to_string (key_caps);
  if (g_hash_table_lookup_extended (c->luma, key, NULL, &found)) {
    copy = GPOINTER_TO_INT (found);
    g_free (key);
  } else {
    copy = mm_media_luma_is_gray8 (caps);
    g_hash_table_insert (c->luma, key, GINT_TO_POINTER (copy));
  }
  if (copy)
    want = gst_caps_copy (key_caps);
  else
    want = gst_caps_new_simple ("video/x-raw", "format", G_TYPE_STRING, "GRAY8", NULL);
  g_object_set (c->gray, "caps", want, NULL);
  gst_caps_unref (want);
  gst_caps_unref (key_caps);
  return GST_PAD_PROBE_OK;
}

/* Sets up on_video_caps on the bin's videoconvert @conv. */
static void
gray_without_copy (Classifier *c, GstElement *conv, GHashTable *luma)
{
  GstPad *sink = gst_element_get_static_pad (conv, "sink");
  GstPad *src = gst_element_get_static_pad (conv, "src");
  GstPad *peer = gst_pad_get_peer (src);
  GstElement *digit = gst_bin_get_by_name (GST_BIN (c->bin), "img-digit");

  c->gray = gst_pad_get_parent_element (peer);
  gst_object_unref (c->gray);   /* the bin holds it */
  c->luma = luma;
  g_object_set (digit, "luma", TRUE, NULL);
  gst_pad_add_probe (sink, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_video_caps, c, NULL);
  gst_object_unref (digit);
  gst_object_unref (peer);
  gst_object_unref (src);
  gst_object_unref (sink);
}

/* The bin's sink pad @name ghosting the sink pad of its element @element. */
static GstPad *
add_ghost (GstElement *bin, const char *name, const char *element)
{
  GstElement *e = gst_bin_get_by_name (GST_BIN (bin), element);
  GstPad *target = gst_element_get_static_pad (e, "sink");
  GstPad *ghost = gst_ghost_pad_new (name, target);

  gst_element_add_pad (bin, ghost);
  gst_object_unref (target);
  gst_object_unref (e);
  return ghost;
}

static Classifier *
classifier_new (MmBatchWorker *w, Shape shape, char **error)
{
  Classifier *c = g_new0 (Classifier, 1);
  /* predict's pipeline (one mmclassify: its model set's plan says whether
   * it pairs or classifies each modality alone), its branches starting at
   * their converters */
  char *desc = mm_cli_classifier_description (shape & (SHAPE_VIDEO | SHAPE_STILL) ? "" : NULL,
      (shape & SHAPE_STILL) != 0, shape & SHAPE_AUDIO ? "" : NULL, NULL);
  GstElement *mm, *sink;
  GError *err = NULL;

  c->bin = gst_parse_bin_from_description (desc, FALSE, &err);
  g_free (desc);
  if (!c->bin || err) {
    *error = g_strdup_printf ("could not build the classifier: %s", err ? err->message : "?");
    g_clear_error (&err);
    g_clear_object (&c->bin);
    g_free (c);
    return NULL;
  }
  gst_object_ref_sink (c->bin);
  if (shape & (SHAPE_VIDEO | SHAPE_STILL)) {
    GstElement *conv = gst_bin_get_by_name (GST_BIN (c->bin), "img-conv");

    c->video = add_ghost (c->bin, "video", "img-conv");
    gray_without_copy (c, conv, w->luma_is_gray8);
    gst_object_unref (conv);
  }
  if (shape & SHAPE_AUDIO)
    c->audio = add_ghost (c->bin, "audio", "aud-conv");
  c->lines = mm_cli_lines_new ();
  c->n_sinks = 1;
  mm = gst_bin_get_by_name (GST_BIN (c->bin), "mm");
  sink = gst_bin_get_by_name (GST_BIN (c->bin), "sink");
  /* the path is set as a property, never pasted into the description; the
   * element opens its own set (the plugin carries its own copy of the core,
   * so a set of ours cannot cross into it) */
  g_object_set (mm, "model", w->model, NULL);
  mm_cli_lines_attach (c->lines, sink, 0);
  gst_object_unref (mm);
  gst_object_unref (sink);
  return c;
}

/* The classifier's errors (models) are its own; any other element's is the
 * file's. */
static char *
take_error (GstMessage *msg)
{
  char *path = gst_object_get_path_string (GST_MESSAGE_SRC (msg));
  gboolean classifier = path && strstr (path, "/GstMmClassify:");
  char *text = mm_cli_gst_error_text (msg, !classifier), *why;

  why = classifier ? g_strdup (text) : g_strdup_printf ("could not decode: %s", text);
  g_free (text);
  g_free (path);
  return why;
}

static char *
pop_error (GstBus *bus)
{
  GstMessage *msg = bus ? gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR) : NULL;
  char *why;

  if (!msg)
    return NULL;
  why = take_error (msg);
  gst_message_unref (msg);
  return why;
}

/* The kept classifier for @shape, made on first use and put into
 * @pipeline (playing), empty. The bin keeps its state between files
 * (READY: mmclassify loads its networks at NULL→READY and keeps them
 * until NULL; READY resets every element's stream state, so a file is
 * classified exactly as by a fresh pipeline). */
static Classifier *
classifier_start (MmBatchWorker *w, Shape shape, GstElement *pipeline, char **error)
{
  Classifier *c = w->classifiers[shape];

  if (!c && !(c = w->classifiers[shape] = classifier_new (w, shape, error)))
    return NULL;
  mm_cli_lines_reset (c->lines);
  gst_bin_add (GST_BIN (pipeline), c->bin);
  if (!gst_element_sync_state_with_parent (c->bin)) {
    *error = g_strdup ("the classifier would not start");
    return NULL;
  }
  return c;
}

/* Takes @c out of @pipeline (stopped) after a file: back to READY, or, if
 * the file failed, dropped so that the next file gets a fresh one (a
 * classifier that failed is not kept: its models are suspect). Its ghost
 * pads are unlinked by the removal. */
static void
classifier_stop (MmBatchWorker *w, Shape shape, GstElement *pipeline, gboolean failed)
{
  Classifier *c = w->classifiers[shape];

  if (!c || GST_OBJECT_PARENT (c->bin) != GST_OBJECT (pipeline))
    return;
  gst_bin_remove (GST_BIN (pipeline), c->bin);
  gst_element_set_locked_state (c->bin, FALSE);
  if (failed) {
    classifier_free (c);
    w->classifiers[shape] = NULL;
  }
}

/* The decisions, once every appsink got EOS. @bus: the file's pipeline's;
 * @progress: bumped as data moves, so that a stuck file is told from a
 * slow one. */
static char *
classifier_wait (Classifier *c, GstBus *bus, volatile gint *progress, GPtrArray *lines)
{
  gint seen = g_atomic_int_get (progress);
  gint64 still_since = g_get_monotonic_time ();
  char *why = NULL;

  for (;;) {
    gint64 now = g_get_monotonic_time ();
    gint moved;

    if (mm_cli_lines_wait_eos (c->lines, c->n_sinks, now + G_USEC_PER_SEC / 10))
      break;
    if ((why = pop_error (bus)))
      return why;
    if ((moved = g_atomic_int_get (progress)) != seen) {
      seen = moved;
      still_since = g_get_monotonic_time ();
    } else if (g_get_monotonic_time () - still_since > STALL_US) {
      return g_strdup_printf ("no progress for %d s", (int) (STALL_US / G_USEC_PER_SEC));
    }
  }
  /* an error posted before the end still fails the file */
  if ((why = pop_error (bus)))
    return why;
  {
    GPtrArray *sorted = mm_cli_lines_sorted (c->lines);

    for (guint i = 0; i < sorted->len; i++)
      g_ptr_array_add (lines, g_strdup (g_ptr_array_index (sorted, i)));
  }
  return NULL;
}

/* ---- WAV files without a pipeline --------------------------------------- */

/* A WAV file is classified as one recording, exactly as eval and training
 * make a recording's block (mm_recording_clip: mm_media_decode_audio, then
 * mm_frontend_clip with the model's contract): read by mm_media_read_wav
 * (libsndfile, then GstAudioConverter set as audioconvert and audioresample
 * set themselves: the pipeline's samples, bit for bit), cut as the model's
 * front end says (word_cut "whole", the shipped models': the recording is
 * the word; "detector": its loudest word), centred in one second, MFCC and
 * the blocks of the front end's test-time views (mm_frontend_blocks), and
 * the audio network of the model set's plan for audio alone, which decides
 * as in mmclassify (mm_model_set_classify: normalisation, calibrated
 * softmax, arg-max), in mmclassify's JSON line. So batch, eval and training cut a WAV recording the same
 * way by construction. The kept pipeline (--decode gstreamer, and every
 * file that is not a WAV) treats a file as a stream instead: mfccextract
 * gives one block per word its detector finds.
 *
 * Anything this path does not cover — a model set without a plan for audio
 * alone (no audio network, networks of different front ends), a WAV
 * longer than CORE_MAX_SECONDS — goes through the pipeline, which says
 * what is wrong. */

/* The longest WAV read whole into memory (38 MB of 16 kHz floats); a longer
 * one streams through the pipeline. */
#define CORE_MAX_SECONDS 600

/* Opens the model set (unless the worker was given it) and plans for audio
 * alone, once; FALSE if this path cannot serve it (see above). */
static gboolean
core_ready (MmBatchWorker *w)
{
  MmModelPlan plan;

  if (w->core_tried)
    return w->mfcc != NULL;
  w->core_tried = TRUE;
  if (!w->models)
    w->models = mm_model_set_open (w->model, NULL);
  return w->models && mm_model_set_plan (w->models, FALSE, TRUE, FALSE, &plan, NULL)
      && plan.lone_audio && mm_frontend_check_network (&plan.audio_model->frontend, NULL)
      && (w->views = mm_frontend_views_new (&plan.audio_model->frontend, NULL)) != NULL
      && (w->mfcc = mm_mfcc_new (&plan.audio_model->frontend, NULL)) != NULL;
}

static void
append_number (GString *s, double v)
{
  char num[G_ASCII_DTOSTR_BUF_SIZE];

  g_string_append (s, g_ascii_formatd (num, sizeof num, "%.9g", v));
}

/* One word's blocks (its own and its views') through the audio network →
 * mmclassify's JSON object for it at @pts (its stream time too: the file starts at 0); NULL when the block
 * is not finite (mmclassify skips it with a warning) or, with *@why set,
 * when the network fails (mmclassify's error). */
static char *
classify_block (MmBatchWorker *w, const float *block, GstClockTime pts, char **why)
{
  MmDecision d;
  GError *err = NULL;
  GString *s;

  if (!mm_model_set_classify (w->models, NULL, block, 0.0, &d, &err)) {
    if (!g_error_matches (err, MM_ERROR, MM_ERROR_INVALID))
      *why = g_strdup (err->message);
    g_error_free (err);
    return NULL;
  }
  s = g_string_new (NULL);
  g_string_append_printf (s, "{\"pts\":%" G_GUINT64_FORMAT ",\"time\":\"%" GST_TIME_FORMAT
      "\",", pts, GST_TIME_ARGS (pts));
  if (d.unsure)
    g_string_append (s, "\"digit\":null,\"confidence\":");
  else
    g_string_append_printf (s, "\"digit\":%d,\"confidence\":", d.digit);
  append_number (s, d.probs[d.digit]);
  g_string_append_printf (s, ",\"modality\":\"%s\",\"arch\":\"%s\",",
      mm_role_modality (d.model->role), mm_arch_name (d.model->arch));
  /* as mmclassify's line: the set's audio partner, when it averaged */
  if (d.partner)
    g_string_append_printf (s, "\"averaged_with\":\"%s\",", mm_arch_name (d.partner->arch));
  g_string_append (s, "\"probabilities\":[");
  for (int k = 0; k < MM_N_CLASSES; k++) {
    if (k)
      g_string_append_c (s, ',');
    append_number (s, d.probs[k]);
  }
  g_string_append (s, "]}");
  return g_string_free (s, FALSE);
}

/* The decision on the 16 kHz recording @x (@n samples): none when
 * mm_frontend_clip finds no word (no sound, whatever the cut, or no word
 * the detector accepts), as the stream path finds none. Its
 * time is the start of the one-second window the word is centred in. */
static char *
run_core (MmBatchWorker *w, const float *x, size_t n, GPtrArray *lines)
{
  const MmMfccParams *p = mm_mfcc_params (w->mfcc);
  float block[MM_AUDIO_VALUES * (1 + MM_MFCC_MAX_VIEWS)];
  GError *err = NULL;
  MmWordSpan word;
  char *why = NULL, *line;

  if (!mm_frontend_blocks (w->mfcc, w->views, NULL, x, n, block, &word, &err)) {
    if (!g_error_matches (err, MM_ERROR, MM_ERROR_NO_WORD))
      why = g_strdup (err->message);
    goto out;
  }
  {
    gint64 start = mm_frontend_word_window (p, &word);
    GstClockTime pts = start <= 0 ? 0 : gst_util_uint64_scale_int ((guint64) start, GST_SECOND,
        p->sample_rate);

    if ((line = classify_block (w, block, pts, &why)))
      g_ptr_array_add (lines, line);
  }
out:
  g_clear_error (&err);
  return why;
}

/* ---- decoding by decodebin ---------------------------------------------- */

/* One file's pipeline: `filesrc ! decodebin`, whose kept streams' pads are
 * linked to the kept classifier once decodebin has exposed them all (until
 * then they are blocked), the rest to fakesinks. The decoders' threads
 * then run the classifier's branches up to mmclassify, as in predict's one
 * pipeline: no hand-over between threads but the aggregator's. The lock
 * guards the stream choice, made in decodebin's threads. */
typedef struct {
  MmBatchWorker *w;
  GstElement *pipeline;
  GMutex lock;
  GCond chosen_cond;
  gboolean saw_video, saw_audio;
  gboolean still;
  GstPad *video_pad, *audio_pad;            /* the kept streams' pads (owned refs) */
  gulong video_block, audio_block;          /* their blocking probes, until linked */
  gboolean chosen;                          /* no-more-pads came: shape known */
  Classifier *classifier;                   /* NULL until chosen (or if it failed) */
  char *classifier_error;
  gint progress;
  gint n_video, n_audio;                    /* buffers decoded into each kept stream */
} Decoding;

static GstPadProbeReturn
hold (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  return GST_PAD_PROBE_OK;      /* stays blocked until the probe is removed */
}

static GstPadProbeReturn
count_video (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  Decoding *d = user_data;

  g_atomic_int_inc (&d->progress);
  g_atomic_int_inc (&d->n_video);
  return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn
count_audio (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  Decoding *d = user_data;

  g_atomic_int_inc (&d->progress);
  g_atomic_int_inc (&d->n_audio);
  return GST_PAD_PROBE_OK;
}

/* Keeps @pad blocked (and counted) until the classifier is linked to it. */
static gulong
keep_pad (Decoding *d, GstPad *pad, gboolean video)
{
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
      video ? count_video : count_audio, d, NULL);
  return gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BLOCK_DOWNSTREAM, hold, NULL, NULL);
}

static void
add_fakesink (Decoding *d, GstPad *pad)
{
  GstElement *sink = gst_element_factory_make ("fakesink", NULL);
  GstPad *sinkpad = gst_element_get_static_pad (sink, "sink");

  g_object_set (sink, "sync", FALSE, NULL);
  gst_bin_add (GST_BIN (d->pipeline), sink);
  gst_pad_link (pad, sinkpad);
  gst_object_unref (sinkpad);
  gst_element_sync_state_with_parent (sink);
}

static gboolean
caps_is_still (const GstStructure *s)
{
  int n = 0, den = 1;

  return gst_structure_get_fraction (s, "framerate", &n, &den) && n == 0;
}

/* decodebin exposes a stream: keep the first video and the first audio
 * stream that a network can classify, discard the rest. */
static void
on_pad_added (GstElement *decodebin, GstPad *pad, gpointer user_data)
{
  Decoding *d = user_data;
  const MmCliNets *nets = &d->w->nets;
  GstCaps *caps = gst_pad_get_current_caps (pad);
  const GstStructure *st;
  gboolean video, audio;

  if (!caps)
    caps = gst_pad_query_caps (pad, NULL);
  st = gst_caps_get_size (caps) ? gst_caps_get_structure (caps, 0) : NULL;
  video = st && g_str_has_prefix (gst_structure_get_name (st), "video/");
  audio = st && g_str_has_prefix (gst_structure_get_name (st), "audio/");

  g_mutex_lock (&d->lock);
  d->saw_video |= video;
  d->saw_audio |= audio;
  if (!d->chosen && video && !d->video_pad && (nets->hybrid || nets->image)) {
    d->still = caps_is_still (st);
    d->video_pad = gst_object_ref (pad);
    d->video_block = keep_pad (d, pad, TRUE);
  } else if (!d->chosen && audio && !d->audio_pad && (nets->hybrid || nets->audio)) {
    d->audio_pad = gst_object_ref (pad);
    d->audio_block = keep_pad (d, pad, FALSE);
  } else {
    add_fakesink (d, pad);      /* another stream, or a chained file's next group */
  }
  g_mutex_unlock (&d->lock);
  gst_caps_unref (caps);
}

static Shape
shape_of (const Decoding *d)
{
  return (d->video_pad ? (d->still ? SHAPE_STILL : SHAPE_VIDEO) : 0)
      | (d->audio_pad ? SHAPE_AUDIO : 0);
}

/* Links a kept stream's @pad to the classifier's @ghost and lets it flow. */
static void
link_kept (GstPad *pad, GstPad *ghost, gulong block)
{
  gst_pad_link (pad, ghost);
  gst_pad_remove_probe (pad, block);
}

/* All streams are known: put the classifier of their shape into the
 * pipeline and link the kept streams to it. */
static void
on_no_more_pads (GstElement *decodebin, gpointer user_data)
{
  Decoding *d = user_data;
  Shape shape;

  g_mutex_lock (&d->lock);
  if (!d->chosen) {
    shape = shape_of (d);
    if (shape)
      d->classifier = classifier_start (d->w, shape, d->pipeline, &d->classifier_error);
    if (d->classifier && d->video_pad)
      link_kept (d->video_pad, d->classifier->video, d->video_block);
    if (d->classifier && d->audio_pad)
      link_kept (d->audio_pad, d->classifier->audio, d->audio_block);
    d->chosen = TRUE;
    g_cond_broadcast (&d->chosen_cond);
  }
  g_mutex_unlock (&d->lock);
}

/* Why a file gave nothing to classify. */
static char *
nothing_linked (const Decoding *d)
{
  if (!d->saw_video && !d->saw_audio)
    return g_strdup ("no video or audio stream");
  return g_strdup_printf ("no network in %s for its %s (add %s)", d->w->model,
      d->saw_video ? (d->saw_audio ? "video and audio" : "video") : "audio",
      d->saw_video ? (d->saw_audio ? "ImageNet_CNN or AudioNet_CNN" : "ImageNet_CNN")
      : "AudioNet_CNN or AudioNet_LSTM");
}

/* Waits for the decoder to choose its streams (or fail). */
static char *
wait_chosen (Decoding *d, GstBus *bus)
{
  gint64 still_since = g_get_monotonic_time ();
  char *why = NULL;

  g_mutex_lock (&d->lock);
  while (!d->chosen) {
    g_cond_wait_until (&d->chosen_cond, &d->lock, g_get_monotonic_time () + G_USEC_PER_SEC / 10);
    if (d->chosen)
      break;
    g_mutex_unlock (&d->lock);
    why = pop_error (bus);
    if (!why && g_get_monotonic_time () - still_since > STALL_US)
      why = g_strdup_printf ("no progress for %d s", (int) (STALL_US / G_USEC_PER_SEC));
    g_mutex_lock (&d->lock);
    if (why)
      break;
  }
  g_mutex_unlock (&d->lock);
  return why;
}

/* Stops the file's pipeline and takes the classifier out of it, kept at
 * READY (or dropped if the file failed). */
static void
decoding_stop (Decoding *d, gboolean failed)
{
  Classifier *c;
  Shape shape;

  /* no-more-pads cannot come any more once the pipeline is stopped; the
   * lock orders this after a choice being made */
  g_mutex_lock (&d->lock);
  d->chosen = TRUE;
  c = d->classifier;
  shape = shape_of (d);
  g_mutex_unlock (&d->lock);
  if (c) {
    /* READY first, out of the pipeline's reach: the decoders' threads
     * pushing into it (or waiting in mmclassify for room) are told to
     * stop, and the networks stay loaded when the pipeline goes to NULL */
    gst_element_set_locked_state (c->bin, TRUE);
    gst_element_set_state (c->bin, GST_STATE_READY);
  }
  gst_element_set_state (d->pipeline, GST_STATE_NULL);
  classifier_stop (d->w, shape, d->pipeline, failed || !c);
  g_clear_object (&d->video_pad);
  g_clear_object (&d->audio_pad);
}

static char *
run_decodebin (MmBatchWorker *w, const char *path, GPtrArray *lines)
{
  Decoding d = { .w = w };
  GstElement *src = gst_element_factory_make ("filesrc", NULL);
  GstElement *dec = gst_element_factory_make ("decodebin", NULL);
  GstBus *bus;
  char *why = NULL;

  g_mutex_init (&d.lock);
  g_cond_init (&d.chosen_cond);
  d.pipeline = gst_pipeline_new (NULL);
  bus = gst_element_get_bus (d.pipeline);
  g_object_set (src, "location", path, NULL);
  gst_bin_add_many (GST_BIN (d.pipeline), src, dec, NULL);
  gst_element_link (src, dec);
  mm_media_strict_decoders (d.pipeline);
  g_signal_connect (dec, "pad-added", G_CALLBACK (on_pad_added), &d);
  g_signal_connect (dec, "no-more-pads", G_CALLBACK (on_no_more_pads), &d);

  if (gst_element_set_state (d.pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE
      && !(why = pop_error (bus)))
    why = g_strdup ("could not decode: the pipeline would not start");
  if (!why)
    why = wait_chosen (&d, bus);
  /* a classifier that would not start: its element's error says why */
  if (!why && d.classifier_error && !(why = pop_error (bus)))
    why = g_steal_pointer (&d.classifier_error);
  else if (!why && !d.classifier)
    why = nothing_linked (&d);
  if (!why)
    why = classifier_wait (d.classifier, bus, &d.progress, lines);
  /* pngdec drops a cut picture at EOS without a message */
  if (!why && ((d.video_pad && !g_atomic_int_get (&d.n_video))
          || (d.audio_pad && !g_atomic_int_get (&d.n_audio))))
    why = g_strdup_printf ("could not decode: no %s came out of the decoder (a truncated "
        "or corrupt file?)", d.video_pad && !g_atomic_int_get (&d.n_video) ? "picture"
        : "audio");

  decoding_stop (&d, why != NULL);
  gst_object_unref (bus);
  gst_object_unref (d.pipeline);
  g_free (d.classifier_error);
  g_cond_clear (&d.chosen_cond);
  g_mutex_clear (&d.lock);
  return why;
}

/* ---- the worker --------------------------------------------------------- */

MmBatchWorker *
mm_batch_worker_new (const char *model, MmModelSet *models, const MmCliNets *nets,
    MmBatchDecode decode)
{
  MmBatchWorker *w = g_new0 (MmBatchWorker, 1);

  w->model = g_strdup (model);
  w->models = models;
  w->nets = *nets;
  w->decode = decode;
  w->luma_is_gray8 = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  return w;
}

void
mm_batch_worker_free (MmBatchWorker *w)
{
  if (!w)
    return;
  for (int s = 0; s < N_SHAPES; s++)
    classifier_free (w->classifiers[s]);
  mm_model_set_free (w->models);
  mm_mfcc_free (w->mfcc);
  mm_frontend_views_free (w->views);
  g_hash_table_destroy (w->luma_is_gray8);
  g_free (w->model);
  g_free (w);
}

char *
mm_batch_worker_run (MmBatchWorker *w, const char *path, GPtrArray *lines)
{
  GError *err = NULL;
  gboolean handled = FALSE;
  float *x = NULL;
  size_t n = 0;
  char *why;

  /* a cut JPEG or WAV decodes without a word from GStreamer or libsndfile */
  if (!mm_media_check_file (path, &err))
    goto failed;
  /* the core's models are opened on the first WAV file, not before: a
   * list of videos never needs them (opening them costs more than
   * classifying a video) */
  if (w->decode == MM_BATCH_DECODE_AUTO && (w->nets.hybrid || w->nets.audio)
      && (!w->core_tried || w->mfcc)) {
    if (!mm_media_read_wav (path, CORE_MAX_SECONDS, &x, &n, &handled, &err)) {
      if (core_ready (w))
        goto failed;
      g_clear_error (&err);     /* the pipeline serves this model set */
    } else if (handled && core_ready (w)) {
      why = run_core (w, x, n, lines);
      g_free (x);
      return why;
    }
    g_free (x);
  }
  return run_decodebin (w, path, lines);
failed:
  /* the message starts with the file's name, which the result holds */
  why = g_strdup (g_str_has_prefix (err->message, path) ?
      err->message + strlen (path) + 2 : err->message);
  g_error_free (err);
  return why;
}
