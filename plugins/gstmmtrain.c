/* mmdigits — mmtrain element.
 *
 * Copyright (C) 2025 mmdigits authors. LGPL-2.1-or-later.
 */

/**
 * SECTION:element-mmtrain
 * @title: mmtrain
 *
 * A sink that turns a labelled stream into a model: it keeps the 28 × 28
 * GRAY8 crops of its `image_sink` request pad and the 39 × 13 MFCC blocks of
 * its `audio_sink` request pad (either may be absent; each is requested at
 * most once) together with their label, and at EOS trains a new network or
 * fine-tunes #GstMmTrain:init-model on them with the core's training loop,
 * then writes the model to #GstMmTrain:out.
 *
 * ## Labels
 * A buffer gets the value #GstMmTrain:label has when it arrives (read under
 * the object lock, so the application may change it at any time); -1 means
 * unlabelled, and unlabelled buffers are not kept. A serialized custom
 * downstream event whose structure is named `mmdigits-label` with an int
 * field `label` (-1…9) sets the property for what follows it:
 * |[
 * gst_pad_send_event (pad, gst_event_new_custom (GST_EVENT_CUSTOM_DOWNSTREAM,
 *     gst_structure_new ("mmdigits-label", "label", G_TYPE_INT, 7, NULL)));
 * ]|
 *
 * ## What is trained
 * The network is #GstMmTrain:init-model's arch when it is set (fine-tuning:
 * its weights and its input norm are the starting point), else
 * #GstMmTrain:arch, whose default `auto` picks the network matching the
 * requested pads: HybridNet_CNN for both, ImageNet_CNN for images,
 * AudioNet_CNN for audio. A hybrid network learns from pairs: a crop and a
 * block whose times (the crop's PTS, the block's centre, as running time)
 * are within #GstMmTrain:pair-window and whose labels agree, matched
 * earliest first as mmclassify matches them; a single-modality network
 * learns from every labelled item of its kind. A new network's norm is the
 * study's image norm (0.5, 0.5) and the per-coefficient mean and standard
 * deviation of the MFCC blocks it learns from (all of them, before the
 * split).
 *
 * The model records the audio front end the `audio/x-mfcc` caps carried
 * (mfccextract puts its whole front-end contract there; caps without those
 * fields mean the study's front end), so it is later fed the same features.
 * Caps whose front end differs from an earlier one of the same run, or from
 * #GstMmTrain:init-model's, are refused with an error naming both values.
 *
 * The samples are split (seeded by #GstMmTrain:seed) into training and
 * validation sets by #GstMmTrain:validation-fraction; the weights of the
 * epoch with the best validation accuracy are written, atomically, with
 * mm_recipe_save(). The split, the norm, the provenance and the save are
 * the core's training recipe (mm-recipe.h), the same as `mmdigits train`'s.
 *
 * ## Checkpoints
 * With #GstMmTrain:checkpoint set, the core's training loop writes its
 * whole state there after every epoch (docs/model-format.md); a pipeline
 * stopped or killed in the middle of training is run again with the same
 * stream and #GstMmTrain:resume=true to continue from the last complete
 * epoch, and ends with the model the uninterrupted run would have written.
 * A checkpoint written for other data or settings is refused with an
 * error. The checkpoint path is checked at NULL→READY as `mmdigits train
 * --checkpoint` checks it: not #GstMmTrain:out (also through a link), not
 * #GstMmTrain:init-model, in a directory where a file can be created, and
 * without resume not a file that is already there (another run's).
 *
 * ## Threading
 * Training can take minutes, so it runs in a thread of its own started at
 * EOS: the streaming threads return at once. As any sink renders only in
 * PLAYING, training starts (or the error for too few samples is posted)
 * once every requested pad is EOS AND the element is PLAYING: a stream
 * that ends while the pipeline is still PAUSED is trained on when it
 * reaches PLAYING. Going to READY cancels it
 * (after the current batch) without writing a model. When the model is
 * written the element posts EOS on the bus, as a sink does, so
 * `gst-launch-1.0` exits once the model exists.
 *
 * Why a #GstElement and not a #GstAggregator: nothing goes downstream, so
 * an aggregator's mandatory src pad would hang unlinked, and pairing for
 * training needs no waiting or latency — every item is kept until EOS, when
 * the two sorted lists are matched in one pass.
 *
 * ## Messages
 * `mmtrain-progress`, after each epoch:
 *
 * * #gint `epoch`: the epoch just finished, from 1.
 * * #gint `epochs`: the number of epochs asked for.
 * * #gdouble `loss`: mean training loss of the epoch.
 * * #gdouble `accuracy`: training accuracy of the epoch, 0–1.
 * * #gdouble `val-accuracy`: validation accuracy after the epoch, 0–1.
 *
 * `mmtrain-done`, once the model is written:
 *
 * * #gchararray `out`: the model file.
 * * #gchararray `arch`: the network trained.
 * * #gint `samples`: the labelled samples (pairs for a hybrid network) used.
 * * #gint `epochs`: the epochs run (early stopping may end sooner).
 * * #gdouble `val-accuracy`: the best validation accuracy, 0–1.
 *
 * Fewer than two usable labelled samples at EOS is an error (`no labelled
 * samples: ...`). At NULL→READY, before any sample is taken,
 * #GstMmTrain:out left unset or empty (RESOURCE, SETTINGS), or a directory,
 * in a directory where no file can be created, or the same file as
 * #GstMmTrain:init-model (RESOURCE, OPEN_WRITE) is an error.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 -m filesrc location=sevens.mp4 ! decodebin ! videoconvert ! digitimage ! mmtrain label=7 init-model=models/imagenet_cnn.safetensors epochs=5 out=tuned.safetensors
 * ]| fine-tunes an image model on a video of sevens.
 * |[
 * gst-launch-1.0 -m mmtrain name=t label=3 out=hybrid.safetensors \
 *   filesrc location=three.mp4 ! decodebin ! videoconvert ! digitimage ! t.image_sink \
 *   filesrc location=three.wav ! decodebin ! audioconvert ! audioresample ! audio/x-raw,format=F32LE,rate=16000,channels=1 ! mfccextract ! t.audio_sink
 * ]| trains a new HybridNet_CNN on pairs of crops and spoken words.
 */

#include "mm-config.h"

#include <string.h>

#include <gst/video/video.h>

#include "gstmmtrain.h"
#include "gstmmutil.h"

#include "mm-mfcc.h"
#include "mm-dataset.h"
#include "mm-error.h"
#include "mm-file.h"
#include "mm-modelset.h"
#include "mm-net.h"
#include "mm-recipe.h"
#include "mm-train.h"

GST_DEBUG_CATEGORY_STATIC (gst_mm_train_debug);
#define GST_CAT_DEFAULT gst_mm_train_debug

#define DEFAULT_LABEL -1
#define DEFAULT_ARCH GST_MM_TRAIN_ARCH_AUTO
#define DEFAULT_EPOCHS 10
#define DEFAULT_LR 0.0          /* automatic, see the property */
#define FINE_TUNE_LR 1e-4
#define DEFAULT_BATCH 16
#define DEFAULT_VALIDATION_FRACTION 0.2
#define DEFAULT_PAIR_WINDOW 1000        /* ms */
#define MAX_PAIR_WINDOW 60000
#define DEFAULT_SEED 1

enum
{
  PROP_0,
  PROP_LABEL,
  PROP_INIT_MODEL,
  PROP_ARCH,
  PROP_EPOCHS,
  PROP_LR,
  PROP_BATCH,
  PROP_OUT,
  PROP_VALIDATION_FRACTION,
  PROP_PAIR_WINDOW,
  PROP_SEED,
  PROP_CHECKPOINT,
  PROP_RESUME,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

enum
{
  IMAGE,
  AUDIO
};

typedef struct
{
  GstClockTime key;             /* running time: crop PTS or block centre */
  int label;
  guint8 px[MM_IMAGE_PIXELS];
} ImageSample;

typedef struct
{
  GstClockTime key;
  int label;
  float v[MM_AUDIO_VALUES];
} AudioSample;

struct _GstMmTrain
{
  GstElement parent;

  /* properties, under the object lock */
  gint label;
  gchar *init_model;
  gint arch;
  guint epochs;
  gdouble lr;
  guint batch;
  gchar *out;
  gdouble validation_fraction;
  guint pair_window_ms;
  guint64 seed;
  gchar *checkpoint;
  gboolean resume;

  /* collection state, under the object lock */
  GstPad *pads[2];              /* request pads (owned by the element) */
  GstSegment segment[2];
  gboolean eos[2];
  GArray *samples[2];           /* ImageSample, AudioSample */
  gboolean playing;             /* in PLAYING: EOS may launch */
  guint32 eos_seqnum;           /* of the last EOS, for the EOS message */
  gboolean launched;            /* training started for this run */
  MmMfccParams audio_fe;        /* the front end of the audio caps received */
  gboolean have_audio_fe;

  /* loaded at NULL→READY, read-only until READY→NULL: init-model as a
   * model set of one (its network, metadata and front end, read as
   * mmclassify and the CLI read a model file), and that network */
  MmModelSet *init_set;
  const MmModel *init;

  GThread *thread;
  gint cancel;                  /* atomic: the thread stops after a batch */
};

/* Everything the training thread needs, owned by it. */
typedef struct
{
  GstMmTrain *self;             /* ref */
  MmNet *net;
  MmTrainConfig cfg;
  MmDataset *train, *val;
  int n_samples;
  gchar *out;
  gchar *init_model;
  MmMfccParams mfcc;            /* the front end the model records */
  gboolean have_mfcc;
  gchar *checkpoint;            /* cfg.checkpoint points here */
  gchar *settings;              /* cfg.settings points here */
  guint32 seqnum;
} Job;

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

#define gst_mm_train_parent_class parent_class
G_DEFINE_TYPE (GstMmTrain, gst_mm_train, GST_TYPE_ELEMENT);

GST_ELEMENT_REGISTER_DEFINE (mmtrain, "mmtrain", GST_RANK_NONE,
    GST_TYPE_MM_TRAIN);

GType
gst_mm_train_arch_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_MM_TRAIN_ARCH_AUTO, "The network matching the requested pads "
          "(HybridNet_CNN for both)", "auto"},
    {MM_ARCH_IMAGENET_CNN, "Image CNN", "ImageNet_CNN"},
    {MM_ARCH_AUDIONET_CNN, "Audio CNN", "AudioNet_CNN"},
    {MM_ARCH_AUDIONET_LSTM, "Audio LSTM", "AudioNet_LSTM"},
    {MM_ARCH_HYBRIDNET_CNN, "Image CNN + audio CNN", "HybridNet_CNN"},
    {MM_ARCH_HYBRIDNET_CNN_LSTM, "Image CNN + audio LSTM",
        "HybridNet_CNN_LSTM"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstMmTrainArch", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

/* ---- collection ----------------------------------------------------- */

static void
reset_collection (GstMmTrain * self)
{
  GST_OBJECT_LOCK (self);
  for (int m = 0; m < 2; m++) {
    gst_segment_init (&self->segment[m], GST_FORMAT_TIME);
    self->eos[m] = FALSE;
    g_array_set_size (self->samples[m], 0);
  }
  self->playing = FALSE;
  self->launched = FALSE;
  self->have_audio_fe = FALSE;
  GST_OBJECT_UNLOCK (self);
}

/* The audio caps say which front end made the blocks: that is what the
 * model will record, so one run must not mix two, and a fine-tuned model
 * must keep the front end it was trained on. Test-time views are not
 * learnt from: a buffer's first block (the word's own) is the sample, the
 * model records the front end without views (a temperature fitted on the
 * views' mean is `mmdigits calibrate --views`'s to add), and an init-model
 * with views takes a stream of its front end with or without them. */
static gboolean
set_audio_caps (GstMmTrain * self, GstCaps * caps)
{
  MmMfccParams fe;
  GError *err = NULL;
  gchar *what = NULL;
  gboolean ok = TRUE;

  if (!gst_mm_mfcc_params_from_caps (caps, &fe, &err)) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, ("Invalid audio/x-mfcc caps."),
        ("%s", err->message));
    g_error_free (err);
    return FALSE;
  }
  fe.n_views = 0;
  GST_OBJECT_LOCK (self);
  /* the caps carry no word_cut: a fine-tuned model keeps init-model's */
  if (self->init)
    fe.word_cut = self->init->frontend.word_cut;
  if (self->init && !gst_mm_mfcc_stream_fits (&self->init->frontend, &fe, FALSE, &what)) {
    GST_OBJECT_UNLOCK (self);
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
        ("The audio features are not those init-model was trained on "
            "(model vs stream: %s).", what), (NULL));
    ok = FALSE;
  } else if (self->have_audio_fe && !mm_mfcc_params_equal (&self->audio_fe, &fe, &what)) {
    GST_OBJECT_UNLOCK (self);
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
        ("The audio front end changed during the run (before vs now: %s); "
            "one model cannot learn from both.", what), (NULL));
    ok = FALSE;
  } else {
    self->audio_fe = fe;
    self->have_audio_fe = TRUE;
    GST_OBJECT_UNLOCK (self);
  }
  g_free (what);
  return ok;
}

/* Copies the 28×28 pixels of a mapped crop, honouring a video meta's
 * stride (without one, GRAY8 rows of 28 bytes are not padded). */
static gboolean
copy_image (GstBuffer * buf, const GstMapInfo * map, guint8 * px)
{
  GstVideoMeta *meta = gst_buffer_get_video_meta (buf);
  gsize stride = meta ? (gsize) meta->stride[0] : MM_IMAGE_SIZE;
  gsize offset = meta ? meta->offset[0] : 0;

  if (map->size < offset + stride * (MM_IMAGE_SIZE - 1) + MM_IMAGE_SIZE)
    return FALSE;
  for (int r = 0; r < MM_IMAGE_SIZE; r++)
    memcpy (px + r * MM_IMAGE_SIZE, map->data + offset + r * stride,
        MM_IMAGE_SIZE);
  return TRUE;
}

static GstFlowReturn
gst_mm_train_chain (GstPad * pad, GstObject * parent, GstBuffer * buf)
{
  GstMmTrain *self = GST_MM_TRAIN (parent);
  int m = GPOINTER_TO_INT (gst_pad_get_element_private (pad));
  gsize need = m == IMAGE ? MM_IMAGE_PIXELS : sizeof (float) * MM_AUDIO_VALUES;
  GstMapInfo map;

  if (GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_GAP) ||
      gst_buffer_get_size (buf) == 0) {
    gst_buffer_unref (buf);
    return GST_FLOW_OK;
  }
  if (!gst_buffer_map (buf, &map, GST_MAP_READ) || map.size < need) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT, (NULL),
        ("%s buffer of %" G_GSIZE_FORMAT " bytes, need %" G_GSIZE_FORMAT,
            m == IMAGE ? "image" : "MFCC", gst_buffer_get_size (buf), need));
    gst_buffer_unref (buf);
    return GST_FLOW_ERROR;
  }

  GST_OBJECT_LOCK (self);
  if (self->label >= 0) {
    GstClockTime key = gst_mm_pairing_key (&self->segment[m], GST_BUFFER_PTS (buf),
        GST_BUFFER_DURATION (buf), m == AUDIO);

    if (m == IMAGE) {
      ImageSample s = {.key = key,.label = self->label };

      if (!copy_image (buf, &map, s.px))
        GST_WARNING_OBJECT (pad, "crop smaller than its video meta says");
      else
        g_array_append_val (self->samples[IMAGE], s);
    } else {
      AudioSample *s;

      g_array_set_size (self->samples[AUDIO], self->samples[AUDIO]->len + 1);
      s = &g_array_index (self->samples[AUDIO], AudioSample,
          self->samples[AUDIO]->len - 1);
      s->key = key;
      s->label = self->label;
      for (int i = 0; i < MM_AUDIO_VALUES; i++)
        s->v[i] = GST_READ_FLOAT_LE (map.data + 4 * i);
    }
    GST_LOG_OBJECT (pad, "kept sample at %" GST_TIME_FORMAT ", label %d",
        GST_TIME_ARGS (key), self->label);
  }
  GST_OBJECT_UNLOCK (self);

  gst_buffer_unmap (buf, &map);
  gst_buffer_unref (buf);
  return GST_FLOW_OK;
}

static void
set_label_from_event (GstMmTrain * self, const GstStructure * s)
{
  gint label;

  if (!gst_structure_get_int (s, "label", &label) || label < -1 || label > 9) {
    GST_WARNING_OBJECT (self, "mmdigits-label event without a label in "
        "-1..9: %" GST_PTR_FORMAT, s);
    return;
  }
  GST_OBJECT_LOCK (self);
  self->label = label;
  GST_OBJECT_UNLOCK (self);
  GST_DEBUG_OBJECT (self, "label %d from event", label);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_LABEL]);
}

/* ---- training ------------------------------------------------------- */

static gint
compare_image (gconstpointer a, gconstpointer b)
{
  GstClockTime x = ((const ImageSample *) a)->key;
  GstClockTime y = ((const ImageSample *) b)->key;
  return x < y ? -1 : x > y;
}

static gint
compare_audio (gconstpointer a, gconstpointer b)
{
  GstClockTime x = ((const AudioSample *) a)->key;
  GstClockTime y = ((const AudioSample *) b)->key;
  return x < y ? -1 : x > y;
}

static void
put_image (MmDataset * ds, int i, const ImageSample * s)
{
  for (int p = 0; p < MM_IMAGE_PIXELS; p++)
    ds->image[(size_t) i * MM_IMAGE_PIXELS + p] = s->px[p] / 255.0f;
}

static void
put_audio (MmDataset * ds, int i, const AudioSample * s)
{
  memcpy (ds->audio + (size_t) i * MM_AUDIO_VALUES, s->v, sizeof s->v);
}

/* The raw data set @arch learns from: every item of its kind, or for a
 * hybrid the pairs within @window whose labels agree, matched earliest
 * first. NULL when there are fewer than 2. Object lock held. */
static MmDataset *
collect_dataset (GstMmTrain * self, MmArch arch, GstClockTime window)
{
  GArray *im = self->samples[IMAGE], *au = self->samples[AUDIO];
  gboolean use_i = mm_arch_uses_image (arch), use_a = mm_arch_uses_audio (arch);
  GArray *pairs = g_array_new (FALSE, FALSE, sizeof (int) * 2);
  MmDataset *ds = NULL;
  guint i = 0, j = 0;
  int n;

  g_array_sort (im, compare_image);
  g_array_sort (au, compare_audio);
  if (use_i && use_a) {
    while (i < im->len && j < au->len) {
      const ImageSample *a = &g_array_index (im, ImageSample, i);
      const AudioSample *b = &g_array_index (au, AudioSample, j);
      if (gst_mm_keys_within (a->key, b->key, window) && a->label == b->label) {
        int p[2] = { i++, j++ };
        g_array_append_val (pairs, p);
      } else if (a->key <= b->key) {
        i++;
      } else {
        j++;
      }
    }
    n = pairs->len;
  } else {
    n = use_i ? im->len : au->len;
  }

  if (n >= 2) {
    ds = mm_dataset_new (n, use_i, use_a);
    for (int k = 0; k < n; k++) {
      int ii = use_a && use_i ? g_array_index (pairs, int, 2 * k) : k;
      int jj = use_a && use_i ? g_array_index (pairs, int, 2 * k + 1) : k;

      if (use_i) {
        put_image (ds, k, &g_array_index (im, ImageSample, ii));
        ds->labels[k] = g_array_index (im, ImageSample, ii).label;
      }
      if (use_a) {
        put_audio (ds, k, &g_array_index (au, AudioSample, jj));
        ds->labels[k] = g_array_index (au, AudioSample, jj).label;
      }
    }
  }
  g_array_unref (pairs);
  return ds;
}

static void
job_free (Job * job)
{
  g_clear_pointer (&job->net, mm_net_free);
  g_clear_pointer (&job->train, mm_dataset_free);
  g_clear_pointer (&job->val, mm_dataset_free);
  g_free (job->out);
  g_free (job->init_model);
  g_free (job->checkpoint);
  g_free (job->settings);
  gst_object_unref (job->self);
  g_free (job);
}

static gboolean
on_progress (const MmTrainProgress * p, gpointer user_data)
{
  Job *job = user_data;

  if (p->end_of_epoch) {
    GstStructure *s = gst_structure_new ("mmtrain-progress",
        "epoch", G_TYPE_INT, p->epoch,
        "epochs", G_TYPE_INT, p->n_epochs,
        "loss", G_TYPE_DOUBLE, (double) p->loss,
        "accuracy", G_TYPE_DOUBLE, (double) p->accuracy,
        "val-accuracy", G_TYPE_DOUBLE, (double) p->val_accuracy, NULL);

    GST_INFO_OBJECT (job->self, "epoch %d/%d: loss %.4f, accuracy %.3f, "
        "validation %.3f", p->epoch, p->n_epochs, p->loss, p->accuracy,
        p->val_accuracy);
    gst_element_post_message (GST_ELEMENT (job->self),
        gst_message_new_element (GST_OBJECT (job->self), s));
  }
  return !g_atomic_int_get (&job->self->cancel);
}

static gchar *
provenance_json (const Job * job, const MmTrainResult * res)
{
  MmRecipeProvenance prov = {
    .tool = "mmtrain",
    .data = "GStreamer stream, labelled live",
    .init_model = job->init_model,
    .samples = job->n_samples,
    .arch = mm_net_arch (job->net),
    .cfg = &job->cfg,
    .res = res,
  };

  return mm_recipe_provenance_json (&prov);
}

static gpointer
train_thread (gpointer data)
{
  Job *job = data;
  GstMmTrain *self = job->self;
  MmTrainResult res;
  gchar *provenance;
  GError *err = NULL;
  GstMessage *eos;

  if (!mm_train (job->net, &job->cfg, job->train, job->val, &res, &err)) {
    if (g_error_matches (err, MM_ERROR, MM_ERROR_CANCELLED))
      GST_INFO_OBJECT (self, "%s: no model written", err->message);
    else
      GST_ELEMENT_ERROR (self, LIBRARY, FAILED,
          ("training failed: %s", err->message), (NULL));
    g_error_free (err);
    goto done;
  }
  if (g_atomic_int_get (&self->cancel)) {
    GST_INFO_OBJECT (self, "stopped as training ended: no model written");
    goto done;
  }

  provenance = provenance_json (job, &res);
  if (!mm_recipe_save (job->net, job->have_mfcc ? &job->mfcc : NULL, provenance,
          job->out, &err)) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE,
        ("could not write the model: %s", err->message), (NULL));
    g_error_free (err);
    g_free (provenance);
    goto done;
  }
  g_free (provenance);

  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self),
          gst_structure_new ("mmtrain-done",
              "out", G_TYPE_STRING, job->out,
              "arch", G_TYPE_STRING, mm_arch_name (mm_net_arch (job->net)),
              "samples", G_TYPE_INT, job->n_samples,
              "epochs", G_TYPE_INT, res.epochs_run,
              "val-accuracy", G_TYPE_DOUBLE,
              (double) res.best_val_accuracy, NULL)));
  eos = gst_message_new_eos (GST_OBJECT (self));
  if (job->seqnum != GST_SEQNUM_INVALID)
    gst_message_set_seqnum (eos, job->seqnum);
  gst_element_post_message (GST_ELEMENT (self), eos);

done:
  job_free (job);
  return NULL;
}

static MmArch
resolve_arch (GstMmTrain * self, gboolean with_image, gboolean with_audio)
{
  if (self->init)
    return self->init->arch;
  if (self->arch != GST_MM_TRAIN_ARCH_AUTO)
    return (MmArch) self->arch;
  if (with_image && with_audio)
    return MM_ARCH_HYBRIDNET_CNN;
  return with_image ? MM_ARCH_IMAGENET_CNN : MM_ARCH_AUDIONET_CNN;
}

/* All pads are EOS: builds the data set and starts the training thread.
 * Called from the streaming thread of the last EOS. */
static void
gst_mm_train_launch (GstMmTrain * self, guint32 seqnum)
{
  Job *job;
  MmDataset *all;
  MmArch arch;
  MmNorm *norm;
  gboolean with_image, with_audio, split;
  guint n_image, n_audio;
  GstClockTime window;

  GST_OBJECT_LOCK (self);
  with_image = self->pads[IMAGE] != NULL;
  with_audio = self->pads[AUDIO] != NULL;
  arch = resolve_arch (self, with_image, with_audio);
  window = self->pair_window_ms * GST_MSECOND;
  n_image = self->samples[IMAGE]->len;
  n_audio = self->samples[AUDIO]->len;
  if ((mm_arch_uses_image (arch) && !with_image) ||
      (mm_arch_uses_audio (arch) && !with_audio)) {
    GST_OBJECT_UNLOCK (self);
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
        ("%s needs the %s pad, which was not requested", mm_arch_name (arch),
            mm_arch_uses_image (arch) && !with_image ? "image_sink" :
            "audio_sink"), (NULL));
    return;
  }
  all = collect_dataset (self, arch, window);
  if (!all) {
    GST_OBJECT_UNLOCK (self);
    GST_ELEMENT_ERROR (self, STREAM, FAILED,
        ("no labelled samples: set the label property or send "
            "mmdigits-label events"),
        ("fewer than 2 usable samples for %s (%u labelled crops, %u labelled "
            "MFCC blocks%s)", mm_arch_name (arch), n_image, n_audio,
            mm_arch_uses_image (arch) && mm_arch_uses_audio (arch) ?
            ", paired within pair-window with equal labels" : ""));
    return;
  }

  job = g_new0 (Job, 1);
  job->self = gst_object_ref (self);
  job->seqnum = seqnum;
  job->n_samples = all->n;
  job->out = g_strdup (self->out);
  mm_train_config_init (&job->cfg, arch);
  job->cfg.epochs = self->epochs;
  job->cfg.batch = self->batch;
  job->cfg.seed = self->seed;
  job->cfg.progress = on_progress;
  job->cfg.user_data = job;
  if (self->checkpoint && *self->checkpoint) {
    job->checkpoint = g_strdup (self->checkpoint);
    job->cfg.checkpoint = job->checkpoint;
    job->cfg.resume = self->resume;
    /* the rest (data, split, norm, seed, rates) the core compares itself */
    job->settings = g_strdup_printf ("mmtrain init-model=%s",
        self->init_model ? self->init_model : "");
    job->cfg.settings = job->settings;
  }
  job->net = mm_net_new (arch, self->seed);
  if (self->init) {
    /* fine-tuning: the init model's weights and norm */
    mm_net_copy_weights (job->net, self->init->net);
    job->init_model = g_strdup (self->init_model);
    job->cfg.lr = self->lr > 0 ? self->lr : FINE_TUNE_LR;
  } else {
    if (self->lr > 0)
      job->cfg.lr = self->lr;
    /* the norm from every sample it learns from, before the split */
    mm_recipe_norm (job->net, all);
  }
  /* the front end the audio caps carried (set_audio_caps: for a
   * fine-tuned model, the one init-model records) */
  job->have_mfcc = all->audio != NULL;
  if (self->have_audio_fe)
    job->mfcc = self->audio_fe;
  else
    mm_mfcc_params_init (&job->mfcc);
  split = mm_recipe_split (all, self->validation_fraction, self->seed,
      &job->train, &job->val);
  GST_OBJECT_UNLOCK (self);

  if (!split)
    GST_WARNING_OBJECT (self, "%d samples and validation-fraction %g: "
        "validating on the training set", job->n_samples,
        self->validation_fraction);

  mm_dataset_free (all);
  norm = mm_net_norm (job->net);
  mm_dataset_normalize (job->train, norm);
  mm_dataset_normalize (job->val, norm);

  GST_INFO_OBJECT (self, "training %s on %d samples (%d / %d), %d epochs, "
      "lr %g, batch %d", mm_arch_name (arch), job->n_samples, job->train->n,
      job->val->n, job->cfg.epochs, job->cfg.lr, job->cfg.batch);
  g_atomic_int_set (&self->cancel, 0);
  self->thread = g_thread_new ("mmtrain", train_thread, job);
}

static void
gst_mm_train_stop_thread (GstMmTrain * self)
{
  if (!self->thread)
    return;
  g_atomic_int_set (&self->cancel, 1);
  g_thread_join (self->thread);
  self->thread = NULL;
}

/* Whether training may start now: every requested pad is EOS, the element
 * is PLAYING and it has not started yet; if so, marks it started. Object
 * lock held.
 *
 * Why PLAYING: like any sink, mmtrain acts on what it received (writes a
 * file, posts EOS or an error) only in PLAYING. In PAUSED a whole short
 * stream can arrive before the application runs its main loop, and
 * gst-launch-1.0 quits that loop from a bus sync handler, which is lost
 * when the loop is not running yet: an error posted then left it waiting
 * forever. An application sets PLAYING from the running loop (or before
 * it), so what mmtrain posts from PLAYING on is always seen. */
static gboolean
take_launch (GstMmTrain * self)
{
  if (self->launched || !self->playing ||
      (self->pads[IMAGE] && !self->eos[IMAGE]) ||
      (self->pads[AUDIO] && !self->eos[AUDIO]))
    return FALSE;
  self->launched = TRUE;
  return TRUE;
}

static void
handle_eos (GstMmTrain * self, int m, guint32 seqnum)
{
  gboolean go;

  GST_OBJECT_LOCK (self);
  self->eos[m] = TRUE;
  self->eos_seqnum = seqnum;
  go = take_launch (self);
  GST_OBJECT_UNLOCK (self);

  if (go)
    gst_mm_train_launch (self, seqnum);
}

/* PAUSED→PLAYING: a stream that ended while PAUSED is trained on now. */
static void
handle_playing (GstMmTrain * self)
{
  gboolean go;
  guint32 seqnum;

  GST_OBJECT_LOCK (self);
  self->playing = TRUE;
  go = take_launch (self);
  seqnum = self->eos_seqnum;
  GST_OBJECT_UNLOCK (self);

  if (go)
    gst_mm_train_launch (self, seqnum);
}

static gboolean
gst_mm_train_sink_event (GstPad * pad, GstObject * parent, GstEvent * event)
{
  GstMmTrain *self = GST_MM_TRAIN (parent);
  int m = GPOINTER_TO_INT (gst_pad_get_element_private (pad));
  const GstStructure *s;

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_CAPS:
      if (m == AUDIO) {
        GstCaps *caps;
        gboolean ok;

        gst_event_parse_caps (event, &caps);
        ok = set_audio_caps (self, caps);
        gst_event_unref (event);
        return ok;
      }
      break;
    case GST_EVENT_SEGMENT:
      GST_OBJECT_LOCK (self);
      gst_event_copy_segment (event, &self->segment[m]);
      GST_OBJECT_UNLOCK (self);
      break;
    case GST_EVENT_CUSTOM_DOWNSTREAM:
    case GST_EVENT_CUSTOM_DOWNSTREAM_OOB:
    case GST_EVENT_CUSTOM_DOWNSTREAM_STICKY:
      s = gst_event_get_structure (event);
      if (s && gst_structure_has_name (s, "mmdigits-label"))
        set_label_from_event (self, s);
      break;
    case GST_EVENT_EOS:
      handle_eos (self, m, gst_event_get_seqnum (event));
      break;
    case GST_EVENT_FLUSH_STOP:
      GST_OBJECT_LOCK (self);
      gst_segment_init (&self->segment[m], GST_FORMAT_TIME);
      self->eos[m] = FALSE;
      GST_OBJECT_UNLOCK (self);
      break;
    default:
      /* image caps are checked against the template by the pad; the
       * rest (stream-start, tags, gaps...) matters not to a sink that
       * keeps everything until EOS */
      break;
  }
  gst_event_unref (event);
  return TRUE;
}

/* ---- pads ----------------------------------------------------------- */

static GstPad *
gst_mm_train_request_new_pad (GstElement * element, GstPadTemplate * templ,
    const gchar * name, const GstCaps * caps)
{
  GstMmTrain *self = GST_MM_TRAIN (element);
  const char *tname = GST_PAD_TEMPLATE_NAME_TEMPLATE (templ);
  int m = g_str_equal (tname, "image_sink") ? IMAGE : AUDIO;
  GstPad *pad;

  GST_OBJECT_LOCK (self);
  if (self->pads[m]) {
    GST_OBJECT_UNLOCK (self);
    GST_WARNING_OBJECT (self, "%s already requested: there is one per "
        "modality", tname);
    return NULL;
  }
  pad = gst_pad_new_from_template (templ, tname);
  gst_pad_set_element_private (pad, GINT_TO_POINTER (m));
  gst_pad_set_chain_function (pad, GST_DEBUG_FUNCPTR (gst_mm_train_chain));
  gst_pad_set_event_function (pad,
      GST_DEBUG_FUNCPTR (gst_mm_train_sink_event));
  self->pads[m] = pad;
  GST_OBJECT_UNLOCK (self);

  gst_element_add_pad (element, pad);
  return pad;
}

static void
gst_mm_train_release_pad (GstElement * element, GstPad * pad)
{
  GstMmTrain *self = GST_MM_TRAIN (element);

  GST_OBJECT_LOCK (self);
  for (int m = 0; m < 2; m++)
    if (self->pads[m] == pad)
      self->pads[m] = NULL;
  GST_OBJECT_UNLOCK (self);
  gst_pad_set_active (pad, FALSE);
  gst_element_remove_pad (element, pad);
}

/* ---- state ---------------------------------------------------------- */

/* checkpoint and resume, as `mmdigits train` checks them
 * (mm_train_check_checkpoint): not out itself, not init-model; resume needs
 * the file; a fresh run does not overwrite another run's. */
static gboolean
check_checkpoint (GstMmTrain * self, const gchar * out, const gchar * init)
{
  const char *inputs[] = { init, NULL };
  GError *err = NULL;
  gchar *ck;
  gboolean resume, ok = FALSE;

  GST_OBJECT_LOCK (self);
  ck = g_strdup (self->checkpoint);
  resume = self->resume;
  GST_OBJECT_UNLOCK (self);

  if (resume && (!ck || !*ck))
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("resume is set but checkpoint is not: give the checkpoint file"), (NULL));
  else if (!ck || !*ck)
    ok = TRUE;
  else if (!(ok = mm_train_check_checkpoint ("checkpoint", ck, resume, out, inputs, &err))) {
    if (g_error_matches (err, MM_ERROR, MM_ERROR_MISMATCH))
      GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, ("%s", err->message), (NULL));
    else
      GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE, ("%s", err->message), (NULL));
    g_error_free (err);
  }
  g_free (ck);
  return ok;
}

/* NULL→READY: out must be set; init-model is loaded and must agree with
 * arch; checkpoint is checked. */
static gboolean
gst_mm_train_open (GstMmTrain * self)
{
  gchar *out, *init;
  gint arch;
  MmModelSet *set = NULL;
  const MmModel *model = NULL;
  GError *err = NULL;

  GST_OBJECT_LOCK (self);
  out = g_strdup (self->out);
  init = g_strdup (self->init_model);
  arch = self->arch;
  GST_OBJECT_UNLOCK (self);

  if (!out || !*out) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("the out property is not set: give the model file to write"),
        (NULL));
    goto fail;
  }
  /* the model is written after training: an out that cannot be written,
   * or that would replace init-model, fails before any of it */
  {
    const char *inputs[] = { init, NULL };

    if (!mm_file_check_output ("out", out, inputs, &err)) {
      GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE, ("%s", err->message), (NULL));
      g_error_free (err);
      goto fail;
    }
  }
  if (!check_checkpoint (self, out, init))
    goto fail;
  if (init && *init) {
    /* read as every reader of a model file reads it (mm_model_set_open):
     * its front end is the set's (the study's when the file has none; a
     * file whose "mfcc" is not a front end does not load), not a second
     * reading of its metadata here */
    if (!(set = mm_model_set_open (init, &err))) {
      GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
          ("init-model: %s", err->message), (NULL));
      g_error_free (err);
      goto fail;
    }
    if (!(model = mm_model_set_single (set))) {
      GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
          ("init-model %s holds several models: give the one model file to "
              "fine-tune", init), (NULL));
      mm_model_set_free (set);
      goto fail;
    }
    if (arch != GST_MM_TRAIN_ARCH_AUTO && (MmArch) arch != model->arch) {
      GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
          ("init-model %s is %s but arch is %s", init,
              mm_arch_name (model->arch), mm_arch_name (arch)), (NULL));
      mm_model_set_free (set);
      goto fail;
    }
  }
  GST_OBJECT_LOCK (self);
  self->init_set = set;
  self->init = model;
  GST_OBJECT_UNLOCK (self);
  g_free (out);
  g_free (init);
  return TRUE;

fail:
  g_free (out);
  g_free (init);
  return FALSE;
}

static void
gst_mm_train_close (GstMmTrain * self)
{
  GST_OBJECT_LOCK (self);
  self->init = NULL;
  g_clear_pointer (&self->init_set, mm_model_set_free);
  GST_OBJECT_UNLOCK (self);
}

static GstStateChangeReturn
gst_mm_train_change_state (GstElement * element, GstStateChange transition)
{
  GstMmTrain *self = GST_MM_TRAIN (element);
  GstStateChangeReturn ret;

  switch (transition) {
    case GST_STATE_CHANGE_NULL_TO_READY:
      gst_mm_warn_threads_env (element);
      if (!gst_mm_train_open (self))
        return GST_STATE_CHANGE_FAILURE;
      break;
    case GST_STATE_CHANGE_READY_TO_PAUSED:
      gst_mm_train_stop_thread (self);
      reset_collection (self);
      break;
    case GST_STATE_CHANGE_PLAYING_TO_PAUSED:
      GST_OBJECT_LOCK (self);
      self->playing = FALSE;
      GST_OBJECT_UNLOCK (self);
      break;
    default:
      break;
  }

  ret = GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);

  switch (transition) {
    case GST_STATE_CHANGE_PAUSED_TO_PLAYING:
      if (ret != GST_STATE_CHANGE_FAILURE)
        handle_playing (self);
      break;
    case GST_STATE_CHANGE_PAUSED_TO_READY:
      gst_mm_train_stop_thread (self);
      reset_collection (self);
      break;
    case GST_STATE_CHANGE_READY_TO_NULL:
      gst_mm_train_close (self);
      break;
    default:
      break;
  }
  return ret;
}

/* ---- GObject -------------------------------------------------------- */

static void
gst_mm_train_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstMmTrain *self = GST_MM_TRAIN (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_LABEL:
      self->label = g_value_get_int (value);
      break;
    case PROP_INIT_MODEL:
      g_free (self->init_model);
      self->init_model = g_value_dup_string (value);
      break;
    case PROP_ARCH:
      self->arch = g_value_get_enum (value);
      break;
    case PROP_EPOCHS:
      self->epochs = g_value_get_uint (value);
      break;
    case PROP_LR:
      self->lr = g_value_get_double (value);
      break;
    case PROP_BATCH:
      self->batch = g_value_get_uint (value);
      break;
    case PROP_OUT:
      g_free (self->out);
      self->out = g_value_dup_string (value);
      break;
    case PROP_VALIDATION_FRACTION:
      self->validation_fraction = g_value_get_double (value);
      break;
    case PROP_PAIR_WINDOW:
      self->pair_window_ms = g_value_get_uint (value);
      break;
    case PROP_SEED:
      self->seed = g_value_get_uint64 (value);
      break;
    case PROP_CHECKPOINT:
      g_free (self->checkpoint);
      self->checkpoint = g_value_dup_string (value);
      break;
    case PROP_RESUME:
      self->resume = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_mm_train_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  GstMmTrain *self = GST_MM_TRAIN (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_LABEL:
      g_value_set_int (value, self->label);
      break;
    case PROP_INIT_MODEL:
      g_value_set_string (value, self->init_model);
      break;
    case PROP_ARCH:
      g_value_set_enum (value, self->arch);
      break;
    case PROP_EPOCHS:
      g_value_set_uint (value, self->epochs);
      break;
    case PROP_LR:
      g_value_set_double (value, self->lr);
      break;
    case PROP_BATCH:
      g_value_set_uint (value, self->batch);
      break;
    case PROP_OUT:
      g_value_set_string (value, self->out);
      break;
    case PROP_VALIDATION_FRACTION:
      g_value_set_double (value, self->validation_fraction);
      break;
    case PROP_PAIR_WINDOW:
      g_value_set_uint (value, self->pair_window_ms);
      break;
    case PROP_SEED:
      g_value_set_uint64 (value, self->seed);
      break;
    case PROP_CHECKPOINT:
      g_value_set_string (value, self->checkpoint);
      break;
    case PROP_RESUME:
      g_value_set_boolean (value, self->resume);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_mm_train_finalize (GObject * object)
{
  GstMmTrain *self = GST_MM_TRAIN (object);

  /* the thread holds a ref: if it dropped the last one, it is this one */
  if (self->thread == g_thread_self ())
    g_thread_unref (g_steal_pointer (&self->thread));
  gst_mm_train_stop_thread (self);
  gst_mm_train_close (self);
  for (int m = 0; m < 2; m++)
    g_array_unref (self->samples[m]);
  g_free (self->init_model);
  g_free (self->out);
  g_free (self->checkpoint);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_mm_train_class_init (GstMmTrainClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;

  gobject_class->set_property = gst_mm_train_set_property;
  gobject_class->get_property = gst_mm_train_get_property;
  gobject_class->finalize = gst_mm_train_finalize;

  props[PROP_LABEL] = g_param_spec_int ("label", "Label",
      "Digit of the buffers that arrive from now on (-1: unlabelled, not "
      "kept); also set by mmdigits-label events", -1, 9, DEFAULT_LABEL,
      rw | GST_PARAM_MUTABLE_PLAYING | G_PARAM_EXPLICIT_NOTIFY);
  props[PROP_INIT_MODEL] = g_param_spec_string ("init-model", "Initial model",
      "Model file to fine-tune (its arch and norm are kept); unset: train a "
      "new network of arch", NULL, rw | GST_PARAM_MUTABLE_READY);
  props[PROP_ARCH] = g_param_spec_enum ("arch", "Architecture",
      "Network to train from scratch (auto: the one matching the requested "
      "pads, HybridNet_CNN for both); must match init-model if both are set",
      GST_TYPE_MM_TRAIN_ARCH, DEFAULT_ARCH, rw | GST_PARAM_MUTABLE_READY);
  props[PROP_EPOCHS] = g_param_spec_uint ("epochs", "Epochs",
      "Training epochs run at EOS", 1, 10000, DEFAULT_EPOCHS,
      rw | GST_PARAM_MUTABLE_PLAYING);
  props[PROP_LR] = g_param_spec_double ("lr", "Learning rate",
      "Adam learning rate (0: automatic, 1e-4 when fine-tuning init-model, "
      "the study's rate for the arch when training from scratch)",
      0, 1, DEFAULT_LR, rw | GST_PARAM_MUTABLE_PLAYING);
  props[PROP_BATCH] = g_param_spec_uint ("batch", "Batch size",
      "Mini-batch size", 2, 4096, DEFAULT_BATCH,
      rw | GST_PARAM_MUTABLE_PLAYING);
  props[PROP_OUT] = g_param_spec_string ("out", "Output model",
      "Safetensors file the trained model is written to, atomically "
      "(required)", NULL, rw | GST_PARAM_MUTABLE_PLAYING);
  props[PROP_VALIDATION_FRACTION] =
      g_param_spec_double ("validation-fraction", "Validation fraction",
      "Share of the samples held out (seeded split) to choose the best "
      "epoch; with too few samples the training set is used", 0, 0.9,
      DEFAULT_VALIDATION_FRACTION, rw | GST_PARAM_MUTABLE_PLAYING);
  props[PROP_PAIR_WINDOW] = g_param_spec_uint ("pair-window", "Pair window",
      "A crop (PTS) and an MFCC block (centre) within this many "
      "milliseconds of each other, with the same label, form one hybrid "
      "sample", 0, MAX_PAIR_WINDOW, DEFAULT_PAIR_WINDOW,
      rw | GST_PARAM_MUTABLE_PLAYING);
  props[PROP_SEED] = g_param_spec_uint64 ("seed", "Seed",
      "Seed of the initial weights, the split, the shuffling and dropout",
      0, G_MAXUINT64, DEFAULT_SEED, rw | GST_PARAM_MUTABLE_PLAYING);
  props[PROP_CHECKPOINT] = g_param_spec_string ("checkpoint", "Checkpoint",
      "File the whole training state is written to, atomically, after every "
      "epoch (unset: none); must not exist yet unless resume is set",
      NULL, rw | GST_PARAM_MUTABLE_READY);
  props[PROP_RESUME] = g_param_spec_boolean ("resume", "Resume",
      "Continue the training saved in checkpoint (same data and settings, "
      "else an error) instead of starting anew", FALSE,
      rw | GST_PARAM_MUTABLE_READY);
  g_object_class_install_properties (gobject_class, N_PROPS, props);

  gst_element_class_add_static_pad_template (element_class,
      &image_sink_template);
  gst_element_class_add_static_pad_template (element_class,
      &audio_sink_template);
  gst_element_class_set_static_metadata (element_class,
      "Multimodal digit trainer", "Sink/Analyzer/Video/Audio",
      "Trains or fine-tunes a digit network on labelled crops and MFCC "
      "blocks at EOS", "mmdigits authors");

  element_class->change_state = GST_DEBUG_FUNCPTR (gst_mm_train_change_state);
  element_class->request_new_pad =
      GST_DEBUG_FUNCPTR (gst_mm_train_request_new_pad);
  element_class->release_pad = GST_DEBUG_FUNCPTR (gst_mm_train_release_pad);

  gst_type_mark_as_plugin_api (GST_TYPE_MM_TRAIN_ARCH, 0);
  GST_DEBUG_CATEGORY_INIT (gst_mm_train_debug, "mmtrain", 0,
      "multimodal digit trainer");
}

static void
gst_mm_train_init (GstMmTrain * self)
{
  self->label = DEFAULT_LABEL;
  self->arch = DEFAULT_ARCH;
  self->epochs = DEFAULT_EPOCHS;
  self->lr = DEFAULT_LR;
  self->batch = DEFAULT_BATCH;
  self->validation_fraction = DEFAULT_VALIDATION_FRACTION;
  self->pair_window_ms = DEFAULT_PAIR_WINDOW;
  self->seed = DEFAULT_SEED;
  for (int m = 0; m < 2; m++) {
    self->samples[m] = g_array_new (FALSE, FALSE, m == IMAGE ?
        sizeof (ImageSample) : sizeof (AudioSample));
    gst_segment_init (&self->segment[m], GST_FORMAT_TIME);
  }
  GST_OBJECT_FLAG_SET (self, GST_ELEMENT_FLAG_SINK);
}
