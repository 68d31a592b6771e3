/* The training loop: seeded shuffling, optional augmentation and modality
 * dropout, Adam, ReduceLROnPlateau on validation accuracy, early stopping
 * that restores the best weights; checkpoints after every epoch, from which
 * a run continues as if it had never stopped. */
#include "mm-train.h"

#include <math.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "mm-error.h"
#include "mm-file.h"
#include "mm-json.h"
#include "mm-modelfile.h"
#include "mm-rng.h"
#include "mm-threads.h"

void
mm_train_config_init (MmTrainConfig *cfg, MmArch arch)
{
  /* the study's table: lr, epochs, batch per network */
  static const struct { float lr; int epochs, batch; } study[MM_N_ARCH] = {
    [MM_ARCH_IMAGENET_CNN] = { 1e-3f, 10, 32 },
    [MM_ARCH_AUDIONET_CNN] = { 1e-4f, 100, 64 },
    [MM_ARCH_AUDIONET_LSTM] = { 5e-4f, 50, 64 },
    [MM_ARCH_HYBRIDNET_CNN] = { 1e-3f, 20, 32 },
    [MM_ARCH_HYBRIDNET_CNN_LSTM] = { 1e-4f, 30, 64 },
  };
  memset (cfg, 0, sizeof *cfg);
  cfg->lr = study[arch].lr;
  cfg->epochs = study[arch].epochs;
  cfg->batch = study[arch].batch;
  cfg->weight_decay = 1e-5f;
  cfg->plateau_factor = 0.1f;
  cfg->plateau_patience = 5;
  cfg->early_stop_patience = 10;
  cfg->seed = 1;
}

/* Batch buffers gathered from shuffled indices, allocated once per run. */
typedef struct {
  float *image, *audio, *logits;
  int *labels;
  float *snr_db, *smoothing;  /* with per-sample smoothing only */
  /* with mixup only: the partners' labels, their weights, and the batch's
   * inputs before mixing */
  int *mix_labels;
  float *mix, *src_image, *src_audio;
} Batch;

static void
gather (const MmDataset *ds, const int *idx, int b, Batch *out)
{
  for (int i = 0; i < b; i++) {
    int j = idx[i];
    out->labels[i] = ds->labels[j];
    if (out->image)
      memcpy (out->image + (size_t) i * MM_IMAGE_PIXELS,
          ds->image + (size_t) j * MM_IMAGE_PIXELS, sizeof (float) * MM_IMAGE_PIXELS);
    if (out->audio)
      memcpy (out->audio + (size_t) i * MM_AUDIO_VALUES,
          ds->audio + (size_t) j * MM_AUDIO_VALUES, sizeof (float) * MM_AUDIO_VALUES);
  }
}

static int
count_correct (const float *logits, const int *labels, int b)
{
  int right = 0;
  for (int i = 0; i < b; i++) {
    const float *l = logits + i * MM_N_CLASSES;
    int best = 0;
    for (int k = 1; k < MM_N_CLASSES; k++)
      if (l[k] > l[best])
        best = k;
    right += best == labels[i];
  }
  return right;
}

/* Modality dropout (see MmTrainConfig): sample idx[i] of the batch loses
 * one branch with chance p, drawn from (seed, epoch, idx[i]) only. */
static void
drop_modality (const MmTrainConfig *cfg, const float *silence, const MmNorm *norm,
    const int *idx, int b, int epoch, Batch *bt)
{
  for (int i = 0; i < b; i++) {
    MmRng r;
    gboolean audio, noise;
    float *x;
    int n;

    mm_rng_seed (&r, cfg->seed ^ 0x6d6f64616cULL, ((guint64) epoch << 32) | (guint32) idx[i]);
    if (!(mm_rng_uniform (&r) < cfg->modality_dropout))
      continue;
    audio = mm_rng_below (&r, 2);
    noise = mm_rng_below (&r, 2);
    x = audio ? bt->audio + (size_t) i * MM_AUDIO_VALUES : bt->image + (size_t) i * MM_IMAGE_PIXELS;
    n = audio ? MM_AUDIO_VALUES : MM_IMAGE_PIXELS;
    for (int k = 0; k < n; k++) {
      if (noise)  /* unit-variance noise in the normalised domain */
        x[k] = (float) mm_rng_normal (&r);
      else
        x[k] = audio ? silence[k] : -norm->image_mean / norm->image_std;
    }
  }
}

/* @x = (1 − @m)·@x + @m·@y */
static void
mix_rows (float *x, const float *y, int n, float m)
{
  for (int k = 0; k < n; k++)
    x[k] += m * (y[k] - x[k]);
}

/* Mixup (see MmTrainConfig): sample i of the batch takes a partner j and a
 * weight m ~ Beta(α, α), drawn from (seed, epoch, idx[i]) only; its inputs
 * become (1 − m)·x_i + m·x_j (the partner as it was before mixing). */
static void
mix_batch (const MmTrainConfig *cfg, const int *idx, int b, int epoch, Batch *bt)
{
  if (bt->image)
    memcpy (bt->src_image, bt->image, sizeof (float) * b * MM_IMAGE_PIXELS);
  if (bt->audio)
    memcpy (bt->src_audio, bt->audio, sizeof (float) * b * MM_AUDIO_VALUES);
  for (int i = 0; i < b; i++) {
    MmRng r;
    int j;
    float m;

    mm_rng_seed (&r, cfg->seed ^ 0x6d69787570ULL, ((guint64) epoch << 32) | (guint32) idx[i]);
    j = (int) mm_rng_below (&r, (guint32) b);
    m = (float) mm_rng_beta_sym (&r, cfg->mixup);
    bt->mix_labels[i] = bt->labels[j];
    bt->mix[i] = m;
    if (bt->image)
      mix_rows (bt->image + (size_t) i * MM_IMAGE_PIXELS,
          bt->src_image + (size_t) j * MM_IMAGE_PIXELS, MM_IMAGE_PIXELS, m);
    if (bt->audio)
      mix_rows (bt->audio + (size_t) i * MM_AUDIO_VALUES,
          bt->src_audio + (size_t) j * MM_AUDIO_VALUES, MM_AUDIO_VALUES, m);
  }
}

/* The normalised features of one second of silence, as the front end
 * @params makes them. */
static gboolean
silence_features (const MmMfccParams *params, const MmNorm *norm, float *out, GError **error)
{
  MmMfccParams defaults;
  float *zeros, raw[MM_AUDIO_VALUES];
  MmMfcc *m;
  gboolean ok;

  if (!params) {
    mm_mfcc_params_init (&defaults);
    params = &defaults;
  }
  if (!(m = mm_mfcc_new (params, error)))
    return FALSE;
  zeros = g_new0 (float, params->sample_rate);
  ok = mm_mfcc_n_frames (m, params->sample_rate) == MM_MFCC_FRAMES
      && params->n_coeffs == MM_MFCC_COEFFS
      && mm_mfcc_compute (m, zeros, params->sample_rate, raw, error);
  if (ok)
    mm_net_prepare_audio (norm, raw, out);
  else if (error && !*error)
    g_set_error (error, MM_ERROR, MM_ERROR_INVALID,
        "modality dropout: the front end does not give 39×13 blocks for one second");
  g_free (zeros);
  mm_mfcc_free (m);
  return ok;
}

/* A tie in validation accuracy is broken by a lower validation loss, by at
 * least this fraction (ReduceLROnPlateau's relative threshold): once the
 * learning rate has decayed to nothing, the loss still creeps down in the
 * last digits, and that must not count as progress. */
#define LOSS_THRESHOLD 1e-4f

static float
mean_nll (const float *probs, const int *labels, int n)
{
  double sum = 0;
  for (int i = 0; i < n; i++)
    sum -= log (MAX (probs[i * MM_N_CLASSES + labels[i]], 1e-30f));
  return (float) (sum / n);
}

static gboolean
check_data (MmNet *net, const MmDataset *ds, const char *what, GError **error)
{
  MmArch arch = mm_net_arch (net);
  if (!ds || ds->n < 2) {
    g_set_error (error, MM_ERROR, MM_ERROR_INVALID, "%s set has fewer than 2 samples", what);
    return FALSE;
  }
  if ((mm_arch_uses_image (arch) && !ds->image) || (mm_arch_uses_audio (arch) && !ds->audio)) {
    g_set_error (error, MM_ERROR, MM_ERROR_MISMATCH,
        "%s set lacks the %s input that %s needs", what,
        mm_arch_uses_image (arch) && !ds->image ? "image" : "audio", mm_arch_name (arch));
    return FALSE;
  }
  return TRUE;
}

/* Everything the next epoch depends on besides the net itself (its weights,
 * batch-norm statistics and dropout stream): what a checkpoint holds. */
typedef struct {
  int epoch;            /* epochs done */
  gboolean stop;        /* early stopping reached */
  float lr;
  int bad;              /* epochs without a new best, for early stopping */
  MmPlateau plateau;
  MmRng rng;            /* shuffling */
  int *order;           /* [n_train]: each epoch reshuffles the previous order */
  int n_order;
  MmAdam *adam;
  MmNet *best;          /* the best epoch's weights (the kept ones) */
  MmNet *ema;           /* with cfg->ema: the weights' moving average; else NULL */
  /* the live weights' best validation, for early stopping (without ema the
   * kept weights are the live ones and these equal the result's) */
  float live_best_accuracy, live_best_loss;
  char *digest;         /* data_digest (), once per run */
  /* for nothing but the figures: */
  long samples_before;  /* trained on in the runs resumed from */
  double seconds_before;
  long samples_run;     /* trained on in this run */
  gint64 t_start;       /* of this run */
  /* from the config, not saved: their draws depend on (seed, epoch, sample) only */
  MmAugmenter *aug;
  float silence[MM_AUDIO_VALUES];   /* for modality dropout */
} RunState;

static double
run_seconds (const RunState *st)
{
  return (g_get_monotonic_time () - st->t_start) / 1e6;
}

#define CHECKPOINT_VERSION 1
/* the shuffled order is stored as I32 */
G_STATIC_ASSERT (sizeof (int) == 4);

static char *
float_text (float v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  /* %.9g gives every float32 back exactly, inf included */
  return g_strdup (g_ascii_formatd (buf, sizeof buf, "%.9g", v));
}

static void
set_string (JsonBuilder *b, const char *key, char *value /* owned */)
{
  mm_json_add_string (b, key, value);
  g_free (value);
}

/* A SHA-256 of the data the run learns from (after normalisation), so that
 * a resume on other data — another --limit, another protocol, other
 * statistics — is refused. */
static char *
data_digest (const MmDataset *train, const MmDataset *val)
{
  GChecksum *c = g_checksum_new (G_CHECKSUM_SHA256);
  const MmDataset *sets[2] = { train, val };
  char *out;

  for (int k = 0; k < 2; k++) {
    const MmDataset *ds = sets[k];
    g_checksum_update (c, (const guchar *) ds->labels, sizeof (int) * ds->n);
    if (ds->image)
      g_checksum_update (c, (const guchar *) ds->image,
          sizeof (float) * MM_IMAGE_PIXELS * ds->n);
    if (ds->audio)
      g_checksum_update (c, (const guchar *) ds->audio,
          sizeof (float) * MM_AUDIO_VALUES * ds->n);
  }
  out = g_strdup (g_checksum_get_string (c));
  g_checksum_free (c);
  return out;
}

/* What must be the same for a resume to give the uninterrupted run's
 * result, as a JSON object of strings (compared key by key). The epoch
 * count is not in it: a run may be resumed to go further. */
static void
add_run_identity (JsonBuilder *b, MmNet *net, const MmTrainConfig *cfg,
    const MmDataset *train, const MmDataset *val, const char *digest)
{
  mm_json_begin_object (b, "run");
  set_string (b, "arch", g_strdup (mm_arch_name (mm_net_arch (net))));
  set_string (b, "batch", g_strdup_printf ("%d", cfg->batch));
  set_string (b, "lr", float_text (cfg->lr));
  set_string (b, "weight_decay", float_text (cfg->weight_decay));
  set_string (b, "plateau_factor", float_text (cfg->plateau_factor));
  set_string (b, "plateau_patience", g_strdup_printf ("%d", cfg->plateau_patience));
  set_string (b, "early_stop_patience", g_strdup_printf ("%d", cfg->early_stop_patience));
  set_string (b, "seed", g_strdup_printf ("%" G_GUINT64_FORMAT, cfg->seed));
  /* no thread count: the floats do not depend on ours nor on OpenBLAS's
   * (mm-parallel.h), so a run may resume with other counts */
  set_string (b, "training_samples", g_strdup_printf ("%d", train->n));
  set_string (b, "validation_samples", g_strdup_printf ("%d", val->n));
  set_string (b, "data_sha256", g_strdup (digest));
  set_string (b, "modality_dropout", float_text (cfg->modality_dropout));
  set_string (b, "label_smoothing", float_text (cfg->label_smoothing));
  set_string (b, "noise_smoothing", float_text (cfg->noise_smoothing));
  set_string (b, "mixup", float_text (cfg->mixup));
  set_string (b, "ema", float_text (cfg->ema));
  set_string (b, "augment", cfg->augment && cfg->augment->enabled ?
      g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) cfg->augment,
          sizeof *cfg->augment) : g_strdup ("none"));
  set_string (b, "front_end", cfg->mfcc ? mm_mfcc_params_to_json (cfg->mfcc) : g_strdup (""));
  set_string (b, "settings", g_strdup (cfg->settings ? cfg->settings : ""));
  json_builder_end_object (b);
}

static void
add_rng (JsonBuilder *b, const char *key, const MmRng *r)
{
  /* 64-bit unsigned values do not fit JSON numbers everywhere: decimal text */
  mm_json_begin_array (b, key);
  {
    char *st = g_strdup_printf ("%" G_GUINT64_FORMAT, r->state);
    char *inc = g_strdup_printf ("%" G_GUINT64_FORMAT, r->inc);
    json_builder_add_string_value (b, st);
    json_builder_add_string_value (b, inc);
    g_free (st);
    g_free (inc);
  }
  json_builder_end_array (b);
}

static char *
state_json (MmNet *net, const RunState *st, const MmTrainResult *res,
    const MmTrainConfig *cfg, const MmDataset *train, const MmDataset *val)
{
  JsonBuilder *b = json_builder_new ();
  JsonNode *root;
  char *text;

  json_builder_begin_object (b);
  mm_json_add_int (b, "version", CHECKPOINT_VERSION);
  add_run_identity (b, net, cfg, train, val, st->digest);
  mm_json_add_int (b, "epoch", st->epoch);
  mm_json_add_int (b, "epochs", cfg->epochs);
  mm_json_add_boolean (b, "stopped_early", st->stop);
  set_string (b, "lr", float_text (st->lr));
  mm_json_add_int (b, "bad_epochs", st->bad);
  set_string (b, "plateau_best", float_text (st->plateau.best));
  mm_json_add_int (b, "plateau_bad_epochs", st->plateau.bad_epochs);
  mm_json_add_int (b, "adam_step", st->adam->t);
  mm_json_add_int (b, "best_epoch", res->best_epoch);
  set_string (b, "best_val_accuracy", float_text (res->best_val_accuracy));
  set_string (b, "best_val_loss", float_text (res->best_val_loss));
  set_string (b, "live_best_val_accuracy", float_text (st->live_best_accuracy));
  set_string (b, "live_best_val_loss", float_text (st->live_best_loss));
  add_rng (b, "shuffle_rng", &st->rng);
  add_rng (b, "dropout_rng", mm_net_dropout_rng (net));
  mm_json_add_int (b, "samples_seen", st->samples_before + st->samples_run);
  mm_json_add_double (b, "seconds", st->seconds_before + run_seconds (st));
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  text = json_to_string (root, FALSE);
  json_node_unref (root);
  g_object_unref (b);
  return text;
}

/* A net's tensors as extra tensors of a checkpoint, named @prefix + their
 * model names (owned by @names). Returns how many it wrote at @out. */
static int
net_tensors (MmNet *net, const char *prefix, MmExtraTensor *out, GPtrArray *names)
{
  int n = 0;

  for (int i = 0; i < mm_net_n_tensors (net); i++) {
    const MmTensorInfo *t = mm_net_tensor (net, i);
    char *name = g_strconcat (prefix, t->name, NULL);
    g_ptr_array_add (names, name);
    out[n++] = (MmExtraTensor) { name, FALSE, t->size, t->data };
  }
  return n;
}

/* How many extra tensors checkpoint_tensors () writes. */
static int
n_checkpoint_tensors (const RunState *st)
{
  return 3 + mm_net_n_tensors (st->best) * (st->ema ? 2 : 1);
}

/* The extra tensors of a checkpoint: Adam's moments, the shuffled order, the
 * best weights (under "best." + their model names) and, with ema, the moving
 * average (under "ema."). @out holds n_checkpoint_tensors (); names are owned
 * by @names. */
static int
checkpoint_tensors (RunState *st, MmExtraTensor *out, GPtrArray *names)
{
  int n = 0;

  out[n++] = (MmExtraTensor) { "adam.m", FALSE, st->adam->n, st->adam->m };
  out[n++] = (MmExtraTensor) { "adam.v", FALSE, st->adam->n, st->adam->v };
  out[n++] = (MmExtraTensor) { "order", TRUE, (size_t) st->n_order, st->order };
  n += net_tensors (st->best, "best.", out + n, names);
  if (st->ema)
    n += net_tensors (st->ema, "ema.", out + n, names);
  return n;
}

static gboolean
checkpoint_save (MmNet *net, RunState *st, const MmTrainResult *res,
    const MmTrainConfig *cfg, const MmDataset *train, const MmDataset *val, GError **error)
{
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  MmExtraTensor *extra = g_new (MmExtraTensor, n_checkpoint_tensors (st));
  int n = checkpoint_tensors (st, extra, names);
  char *json = state_json (net, st, res, cfg, train, val);
  gboolean ok = mm_checkpoint_save (net, json, extra, n, cfg->checkpoint, error);

  g_free (json);
  g_free (extra);
  g_ptr_array_unref (names);
  return ok;
}

/* ---- resume: reading the state back ---- */

#define RESUME_FAIL(code, ...) G_STMT_START { \
    g_set_error (error, MM_ERROR, code, __VA_ARGS__); \
    return FALSE; \
  } G_STMT_END

static const char *
member_string (JsonObject *o, const char *key)
{
  JsonNode *n = json_object_get_member (o, key);
  if (!n || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (n);
}

static gboolean
member_int (JsonObject *o, const char *key, gint64 lo, gint64 hi, gint64 *v)
{
  JsonNode *n = json_object_get_member (o, key);
  if (!n || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64)
    return FALSE;
  *v = json_node_get_int (n);
  return *v >= lo && *v <= hi;
}

static gboolean
member_float (JsonObject *o, const char *key, float *v)
{
  const char *s = member_string (o, key);
  char *end;
  if (!s || !*s)
    return FALSE;
  *v = (float) g_ascii_strtod (s, &end);
  return *end == '\0' && !isnan (*v);
}

static gboolean
member_rng (JsonObject *o, const char *key, MmRng *r)
{
  JsonNode *n = json_object_get_member (o, key);
  JsonArray *a;
  const char *st, *inc;
  char *end1, *end2;

  if (!n || !JSON_NODE_HOLDS_ARRAY (n) || json_array_get_length (a = json_node_get_array (n)) != 2)
    return FALSE;
  st = json_array_get_string_element (a, 0);
  inc = json_array_get_string_element (a, 1);
  if (!st || !inc || !g_ascii_isdigit (*st) || !g_ascii_isdigit (*inc))
    return FALSE;
  r->state = g_ascii_strtoull (st, &end1, 10);
  r->inc = g_ascii_strtoull (inc, &end2, 10);
  /* a PCG increment is odd */
  return *end1 == '\0' && *end2 == '\0' && (r->inc & 1);
}

/* Keys of the run identity added after checkpoints were first written, with
 * the value every older checkpoint's run had: such a checkpoint still
 * resumes, and only a run with that value. */
static const struct {
  const char *key, *before;
} run_keys_added[] = {
  { "label_smoothing", "0" },
  { "noise_smoothing", "0" },
  { "mixup", "0" },
  { "ema", "0" },
};

static const char *
saved_run_value (JsonObject *saved, const char *key)
{
  const char *v = saved ? member_string (saved, key) : NULL;

  if (v || !saved)
    return v;
  for (size_t i = 0; i < G_N_ELEMENTS (run_keys_added); i++)
    if (strcmp (key, run_keys_added[i].key) == 0)
      return run_keys_added[i].before;
  return NULL;
}

/* The checkpoint's run identity against this run's: the first key that
 * differs is named with both values. */
static gboolean
check_run_identity (const char *path, JsonObject *saved, MmNet *net, const MmTrainConfig *cfg,
    const MmDataset *train, const MmDataset *val, const char *digest, GError **error)
{
  JsonBuilder *b = json_builder_new ();
  JsonNode *root;
  JsonObject *now;
  GList *keys;
  gboolean ok = TRUE;

  json_builder_begin_object (b);
  add_run_identity (b, net, cfg, train, val, digest);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  now = json_node_get_object (json_object_get_member (json_node_get_object (root), "run"));
  keys = json_object_get_members (now);
  for (GList *l = keys; ok && l; l = l->next) {
    const char *key = l->data, *mine = member_string (now, key);
    const char *theirs = saved_run_value (saved, key);
    if (!theirs) {
      g_set_error (error, MM_ERROR, MM_ERROR_FORMAT, "%s: checkpoint has no run %s", path, key);
      ok = FALSE;
    } else if (strcmp (mine, theirs) != 0) {
      if (strcmp (key, "data_sha256") == 0)
        g_set_error (error, MM_ERROR, MM_ERROR_MISMATCH,
            "%s: checkpoint was written for other training data (or other "
            "normalisation); cannot resume on this data", path);
      else
        g_set_error (error, MM_ERROR, MM_ERROR_MISMATCH,
            "%s: checkpoint was written with %s %s, this run has %s; cannot resume",
            path, key, *theirs ? theirs : "(none)", *mine ? mine : "(none)");
      ok = FALSE;
    }
  }
  g_list_free (keys);
  json_node_unref (root);
  g_object_unref (b);
  return ok;
}

/* Fills @st, @res and @net's dropout stream from the state JSON. */
static gboolean
read_state (const char *path, JsonObject *o, RunState *st, MmTrainResult *res, MmNet *net,
    const MmTrainConfig *cfg, GError **error)
{
  gint64 version, epoch, bad, pbad, t, best_epoch, seen;
  JsonNode *stopped = json_object_get_member (o, "stopped_early");
  JsonNode *secs = json_object_get_member (o, "seconds");

  if (!member_int (o, "version", 0, G_MAXINT, &version))
    RESUME_FAIL (MM_ERROR_FORMAT, "%s: checkpoint has no version", path);
  if (version != CHECKPOINT_VERSION)
    RESUME_FAIL (MM_ERROR_FORMAT, "%s: checkpoint version %" G_GINT64_FORMAT
        " is not supported (this build reads %d)", path, version, CHECKPOINT_VERSION);
  if (!member_int (o, "epoch", 1, G_MAXINT, &epoch)
      || !member_int (o, "bad_epochs", 0, G_MAXINT, &bad)
      || !member_int (o, "plateau_bad_epochs", 0, G_MAXINT, &pbad)
      || !member_int (o, "adam_step", 0, G_MAXINT, &t)
      || !member_int (o, "best_epoch", 1, epoch, &best_epoch)
      || !member_int (o, "samples_seen", 0, G_MAXINT64, &seen)
      || !stopped || !JSON_NODE_HOLDS_VALUE (stopped)
      || json_node_get_value_type (stopped) != G_TYPE_BOOLEAN
      || !secs || !JSON_NODE_HOLDS_VALUE (secs)
      || !member_float (o, "lr", &st->lr) || !(st->lr > 0)
      || !member_float (o, "plateau_best", &st->plateau.best)
      || !member_float (o, "best_val_accuracy", &res->best_val_accuracy)
      || !member_float (o, "best_val_loss", &res->best_val_loss)
      || !member_rng (o, "shuffle_rng", &st->rng)
      || !member_rng (o, "dropout_rng", mm_net_dropout_rng (net)))
    RESUME_FAIL (MM_ERROR_FORMAT, "%s: checkpoint state is incomplete or invalid", path);
  if (epoch > cfg->epochs)
    RESUME_FAIL (MM_ERROR_MISMATCH, "%s: checkpoint has %" G_GINT64_FORMAT
        " epochs done, more than the %d asked for", path, epoch, cfg->epochs);
  st->epoch = (int) epoch;
  st->stop = json_node_get_boolean (stopped);
  st->bad = (int) bad;
  st->plateau.bad_epochs = (int) pbad;
  st->adam->t = (int) t;
  st->samples_before = seen;
  st->seconds_before = json_node_get_double (secs);
  res->best_epoch = (int) best_epoch;
  /* written since the moving average (ema) was added; before, the kept
   * weights were the live ones */
  st->live_best_accuracy = res->best_val_accuracy;
  st->live_best_loss = res->best_val_loss;
  if (json_object_has_member (o, "live_best_val_accuracy")
      && (!member_float (o, "live_best_val_accuracy", &st->live_best_accuracy)
          || !member_float (o, "live_best_val_loss", &st->live_best_loss)))
    RESUME_FAIL (MM_ERROR_FORMAT, "%s: checkpoint state is incomplete or invalid", path);
  res->epochs_run = st->epoch;
  res->stopped_early = st->stop;
  res->resumed_after = st->epoch;
  return TRUE;
}

/* The order must be a permutation of the training indices: anything else
 * would read outside the data. */
static gboolean
check_order (const char *path, const int *order, int n, GError **error)
{
  guint8 *seen = g_new0 (guint8, n);
  gboolean ok = TRUE;

  for (int i = 0; ok && i < n; i++) {
    ok = order[i] >= 0 && order[i] < n && !seen[order[i]];
    if (ok)
      seen[order[i]] = 1;
  }
  g_free (seen);
  if (!ok)
    RESUME_FAIL (MM_ERROR_FORMAT, "%s: checkpoint order is not a permutation of the %d "
        "training samples", path, n);
  return TRUE;
}

static gboolean
resume (MmNet *net, RunState *st, MmTrainResult *res, const MmTrainConfig *cfg,
    const MmDataset *train, const MmDataset *val, GError **error)
{
  const char *path = cfg->checkpoint;
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  MmExtraTensor *extra = g_new (MmExtraTensor, n_checkpoint_tensors (st));
  int n = checkpoint_tensors (st, extra, names);
  char *text = NULL, *again = NULL;
  JsonParser *parser = json_parser_new ();
  JsonNode *root, *run;
  MmNet *saved = NULL;
  gboolean ok = FALSE;

  /* which run it was, before asking for this run's tensors: another run's
   * may have others (ema), and a tensor missing would not say why */
  if (!(text = mm_checkpoint_read_state (path, mm_net_arch (net), error)))
    goto out;
  /* the reader checked that it is a JSON object */
  json_parser_load_from_data (parser, text, -1, NULL);
  root = json_parser_get_root (parser);
  run = json_object_get_member (json_node_get_object (root), "run");
  if (!check_run_identity (path, run && JSON_NODE_HOLDS_OBJECT (run) ?
          json_node_get_object (run) : NULL, net, cfg, train, val, st->digest, error)
      || !read_state (path, json_node_get_object (root), st, res, net, cfg, error)
      || !(saved = mm_checkpoint_load (path, mm_net_arch (net), &again, extra, n, error))
      || !check_order (path, st->order, st->n_order, error))
    goto out;
  mm_net_copy_weights (net, saved);
  ok = TRUE;
out:
  g_clear_pointer (&saved, mm_net_free);
  g_object_unref (parser);
  g_free (text);
  g_free (again);
  g_free (extra);
  g_ptr_array_unref (names);
  return ok;
}

/* ---- the loop ---- */

static void
run_state_init (RunState *st, MmNet *net, const MmTrainConfig *cfg, const MmDataset *train,
    const MmDataset *val)
{
  int n_train = train->n;

  memset (st, 0, sizeof *st);
  st->lr = cfg->lr;
  st->adam = mm_adam_new (mm_net_n_params (net), cfg->lr, cfg->weight_decay);
  mm_plateau_init (&st->plateau, cfg->plateau_factor, cfg->plateau_patience);
  mm_rng_seed (&st->rng, cfg->seed, 0x5);
  mm_net_seed_dropout (net, cfg->seed);
  st->best = mm_net_new (mm_net_arch (net), 0);
  mm_net_copy_weights (st->best, net);
  if (cfg->ema > 0) {
    st->ema = mm_net_new_blank (mm_net_arch (net));
    mm_net_copy_weights (st->ema, net);
  }
  st->live_best_accuracy = -1;
  st->live_best_loss = INFINITY;
  st->t_start = g_get_monotonic_time ();
  /* hashing all of MNIST takes a while: only for a run with checkpoints */
  st->digest = cfg->checkpoint ? data_digest (train, val) : NULL;
  st->n_order = n_train;
  st->order = g_new (int, n_train);
  for (int i = 0; i < n_train; i++)
    st->order[i] = i;
}

static void
run_state_clear (RunState *st)
{
  mm_net_free (st->best);
  mm_net_free (st->ema);
  mm_adam_free (st->adam);
  mm_augmenter_free (st->aug);
  g_free (st->order);
  g_free (st->digest);
}

static void
batch_alloc (Batch *bt, MmArch arch, int batch, gboolean smoothing, gboolean mixup)
{
  if (mm_arch_uses_image (arch))
    bt->image = g_new (float, (size_t) batch * MM_IMAGE_PIXELS);
  if (mm_arch_uses_audio (arch))
    bt->audio = g_new (float, (size_t) batch * MM_AUDIO_VALUES);
  if (mixup) {
    bt->mix_labels = g_new (int, batch);
    bt->mix = g_new (float, batch);
    if (bt->image)
      bt->src_image = g_new (float, (size_t) batch * MM_IMAGE_PIXELS);
    if (bt->audio)
      bt->src_audio = g_new (float, (size_t) batch * MM_AUDIO_VALUES);
  }
  bt->labels = g_new (int, batch);
  bt->logits = g_new (float, (size_t) batch * MM_N_CLASSES);
  if (smoothing) {
    /* no noise until an augmenter says otherwise (it rewrites every batch) */
    bt->snr_db = g_new (float, batch);
    for (int i = 0; i < batch; i++)
      bt->snr_db[i] = INFINITY;
    bt->smoothing = g_new (float, batch);
  }
}

static void
batch_free (Batch *bt)
{
  g_free (bt->image);
  g_free (bt->audio);
  g_free (bt->labels);
  g_free (bt->logits);
  g_free (bt->snr_db);
  g_free (bt->smoothing);
  g_free (bt->mix_labels);
  g_free (bt->mix);
  g_free (bt->src_image);
  g_free (bt->src_audio);
}

gboolean
mm_train_noise_smoothing_applies (MmArch arch, const MmAugment *augment)
{
  return mm_arch_uses_audio (arch) && !mm_arch_uses_image (arch)
      && augment && (augment->enabled & MM_AUG_NOISE_KINDS);
}

gboolean
mm_train_modality_dropout_applies (MmArch arch)
{
  return mm_arch_uses_image (arch) && mm_arch_uses_audio (arch);
}

float
mm_train_noise_smoothing (float noise_smoothing, float snr_db)
{
  float w = (MM_NOISE_SMOOTH_CLEAN_DB - snr_db)
      / (MM_NOISE_SMOOTH_CLEAN_DB - MM_NOISE_SMOOTH_FULL_DB);

  /* +∞ (no noise) gives −∞ here, clamped to 0 */
  return noise_smoothing * CLAMP (w, 0.0f, 1.0f);
}

/* Each sample's target smoothing: the run's label smoothing, or the noise
 * smoothing of the SNR its augmentation drew if that is larger. */
static void
batch_smoothing (const MmTrainConfig *cfg, int b, Batch *bt)
{
  for (int i = 0; i < b; i++)
    bt->smoothing[i] = MAX (cfg->label_smoothing,
        mm_train_noise_smoothing (cfg->noise_smoothing, bt->snr_db[i]));
}

typedef enum { EPOCH_DONE, EPOCH_CANCELLED, EPOCH_DIVERGED } EpochEnd;

/* One step of the weights' moving average after optimiser step @t (cfg->ema):
 * the early steps' decay is lower, so that the average soon forgets the
 * random initial weights it starts from. Every tensor, the batch-norm
 * statistics too: averaged weights with the live ones' statistics would
 * not match. */
static void
ema_update (MmNet *ema, MmNet *net, int t, float decay)
{
  float d = MIN (decay, (1.0f + t) / (10.0f + t));

  for (int i = 0; i < mm_net_n_tensors (net); i++) {
    const MmTensorInfo *a = mm_net_tensor (ema, i), *w = mm_net_tensor (net, i);

    for (size_t j = 0; j < a->size; j++)
      a->data[j] = d * a->data[j] + (1.0f - d) * w->data[j];
  }
}

/* One pass over the shuffled training set; fills the running figures of @pr. */
static EpochEnd
train_epoch (MmNet *net, const MmTrainConfig *cfg, const MmDataset *train, RunState *st,
    Batch *bt, MmTrainProgress *pr, GError **error)
{
  double loss_sum = 0;
  long right = 0, seen = 0;

  mm_rng_shuffle (&st->rng, st->order, train->n);
  mm_net_set_training (net, TRUE);
  for (int bi = 0; bi < pr->n_batches; bi++) {
    int start = bi * cfg->batch, b = MIN (cfg->batch, train->n - start);
    float loss;

    /* batch norm cannot take a lone sample in training (PyTorch refuses
     * it too): a last batch of one is skipped */
    if (b < 2)
      continue;
    gather (train, st->order + start, b, bt);
    if (st->aug)
      mm_augmenter_apply (st->aug, st->order + start, b, cfg->seed, pr->epoch, bt->image,
          bt->audio, bt->snr_db);
    if (bt->smoothing)
      batch_smoothing (cfg, b, bt);
    if (bt->mix)
      mix_batch (cfg, st->order + start, b, pr->epoch, bt);
    if (cfg->modality_dropout > 0)
      drop_modality (cfg, st->silence, mm_net_norm (net), st->order + start, b, pr->epoch, bt);
    mm_net_forward (net, b, bt->image, bt->audio, bt->logits);
    loss = mm_net_backward_mixed (net, bt->labels, bt->smoothing, bt->mix_labels, bt->mix);
    if (!isfinite (loss)) {
      g_set_error (error, MM_ERROR, MM_ERROR_INVALID,
          "training diverged: loss is %g at epoch %d, batch %d (lower --lr?)", loss,
          pr->epoch, bi + 1);
      return EPOCH_DIVERGED;
    }
    st->adam->lr = st->lr;
    mm_adam_step (st->adam, mm_net_params (net), mm_net_grads (net));
    if (st->ema)
      ema_update (st->ema, net, st->adam->t, cfg->ema);
    loss_sum += (double) loss * b;
    right += count_correct (bt->logits, bt->labels, b);
    seen += b;
    st->samples_run += b;
    pr->batch_index = bi + 1;
    pr->loss = (float) (loss_sum / seen);
    pr->accuracy = (float) right / seen;
    pr->lr = st->lr;
    if (cfg->progress) {
      double secs = run_seconds (st);
      pr->samples_per_s = secs > 0 ? st->samples_run / secs : 0;
      if (!cfg->progress (pr, cfg->user_data))
        return EPOCH_CANCELLED;
    }
  }
  return EPOCH_DONE;
}

/* @net's accuracy and mean cross-entropy on @val. */
static gboolean
validate (MmNet *net, const MmDataset *val, float *val_probs, int epoch, float *accuracy,
    float *loss, GError **error)
{
  MmConfusion conf;

  mm_confusion_init (&conf);
  if (!mm_net_predict (net, val, 256, NULL, val_probs, &conf, error)) {
    g_prefix_error (error, "training diverged: validation after epoch %d: ", epoch);
    return FALSE;
  }
  *accuracy = (float) mm_confusion_accuracy (&conf);
  *loss = mean_nll (val_probs, val->labels, val->n);
  return TRUE;
}

/* Whether (accuracy, loss) beats the best (*best_accuracy, *best_loss); if
 * so they become the best. */
static gboolean
improves (float accuracy, float loss, float *best_accuracy, float *best_loss)
{
  if (!(accuracy > *best_accuracy
          || (accuracy == *best_accuracy && loss < *best_loss * (1.0f - LOSS_THRESHOLD))))
    return FALSE;
  *best_accuracy = accuracy;
  *best_loss = loss;
  return TRUE;
}

/* Validation after an epoch: the best weights, early stopping, the rate.
 * Fails when the net's outputs are no longer finite. */
static gboolean
end_epoch (MmNet *net, const MmTrainConfig *cfg, const MmDataset *val, float *val_probs,
    RunState *st, MmTrainProgress *pr, MmTrainResult *result, GError **error)
{
  MmNet *kept = st->ema ? st->ema : net;
  gboolean live_improved;
  float kept_accuracy, kept_loss;

  if (!validate (net, val, val_probs, pr->epoch, &pr->val_accuracy, &pr->val_loss, error))
    return FALSE;
  pr->ema = st->ema != NULL;
  if (st->ema && !validate (st->ema, val, val_probs, pr->epoch, &pr->ema_val_accuracy,
          &pr->ema_val_loss, error))
    return FALSE;
  pr->end_of_epoch = TRUE;
  kept_accuracy = st->ema ? pr->ema_val_accuracy : pr->val_accuracy;
  kept_loss = st->ema ? pr->ema_val_loss : pr->val_loss;
  /* without ema both bests follow the same figures, so both agree */
  live_improved = improves (pr->val_accuracy, pr->val_loss, &st->live_best_accuracy,
      &st->live_best_loss);
  pr->improved = improves (kept_accuracy, kept_loss, &result->best_val_accuracy,
      &result->best_val_loss);
  result->epochs_run = pr->epoch;
  if (pr->improved) {
    result->best_epoch = pr->epoch;
    mm_net_copy_weights (st->best, kept);
  }
  if (live_improved)
    st->bad = 0;
  else if (cfg->early_stop_patience > 0 && ++st->bad >= cfg->early_stop_patience) {
    result->stopped_early = TRUE;
    st->stop = TRUE;
  }
  mm_plateau_step (&st->plateau, pr->val_accuracy, &st->lr);
  pr->lr = st->lr;
  st->epoch = pr->epoch;
  return TRUE;
}

gboolean
mm_train (MmNet *net, const MmTrainConfig *cfg, const MmDataset *train,
    const MmDataset *val, MmTrainResult *result, GError **error)
{
  RunState st;
  Batch bt = { 0 };
  float *val_probs;
  int n_batches;
  gboolean ok = TRUE;
  MmArch arch;
  MmAugmenter *aug = NULL;
  float silence[MM_AUDIO_VALUES] = { 0 };

  if (!check_data (net, train, "training", error) || !check_data (net, val, "validation", error))
    return FALSE;
  arch = mm_net_arch (net);
  if (cfg->modality_dropout != 0
      && (!(cfg->modality_dropout > 0 && cfg->modality_dropout <= 1)
          || !mm_train_modality_dropout_applies (arch))) {
    g_set_error (error, MM_ERROR, MM_ERROR_INVALID, "modality dropout (%g) must be in (0, 1] "
        "and needs a hybrid network (%s is not)", cfg->modality_dropout, mm_arch_name (arch));
    return FALSE;
  }
  if (cfg->modality_dropout > 0
      && !silence_features (cfg->mfcc, mm_net_norm (net), silence, error))
    return FALSE;
  if (!(cfg->label_smoothing >= 0 && cfg->label_smoothing < 1)) {
    g_set_error (error, MM_ERROR, MM_ERROR_INVALID, "label smoothing (%g) must be in [0, 1)",
        cfg->label_smoothing);
    return FALSE;
  }
  if (cfg->noise_smoothing != 0
      && (!(cfg->noise_smoothing > 0 && cfg->noise_smoothing < 1)
          || !mm_train_noise_smoothing_applies (arch, cfg->augment))) {
    g_set_error (error, MM_ERROR, MM_ERROR_INVALID, "noise smoothing (%g) must be in (0, 1) and "
        "needs an additive noise augmentation of an audio-only network (white, pink, babble or "
        "hum)", cfg->noise_smoothing);
    return FALSE;
  }
  if (cfg->mixup != 0 && !(cfg->mixup > 0 && cfg->mixup <= MM_TRAIN_MIXUP_MAX)) {
    g_set_error (error, MM_ERROR, MM_ERROR_INVALID, "mixup (%g) must be in (0, %g]",
        cfg->mixup, MM_TRAIN_MIXUP_MAX);
    return FALSE;
  }
  if (cfg->ema != 0 && !(cfg->ema > 0 && cfg->ema <= MM_TRAIN_EMA_MAX)) {
    g_set_error (error, MM_ERROR, MM_ERROR_INVALID, "ema decay (%g) must be in (0, %g]",
        cfg->ema, MM_TRAIN_EMA_MAX);
    return FALSE;
  }
  if (cfg->batch < 2 || cfg->epochs < 1 || !(cfg->lr > 0)) {
    g_set_error (error, MM_ERROR, MM_ERROR_INVALID,
        "training needs batch ≥ 2, epochs ≥ 1 and lr > 0 (got %d, %d, %g)",
        cfg->batch, cfg->epochs, cfg->lr);
    return FALSE;
  }
  if (cfg->resume && !cfg->checkpoint) {
    g_set_error (error, MM_ERROR, MM_ERROR_INVALID, "resuming needs a checkpoint file");
    return FALSE;
  }

  if (cfg->augment && cfg->augment->enabled
      && !(aug = mm_augmenter_new (cfg->augment, arch, cfg->mfcc, mm_net_norm (net), train, error)))
    return FALSE;
  memset (result, 0, sizeof *result);
  result->best_val_accuracy = -1;
  result->best_val_loss = INFINITY;
  run_state_init (&st, net, cfg, train, val);
  st.aug = aug;
  memcpy (st.silence, silence, sizeof silence);
  if (cfg->resume && !resume (net, &st, result, cfg, train, val, error)) {
    run_state_clear (&st);
    return FALSE;
  }
  val_probs = g_new (float, (size_t) val->n * MM_N_CLASSES);
  batch_alloc (&bt, mm_net_arch (net), cfg->batch,
      cfg->label_smoothing > 0 || cfg->noise_smoothing > 0, cfg->mixup > 0);
  n_batches = (train->n + cfg->batch - 1) / cfg->batch;

  for (int epoch = st.epoch + 1; ok && epoch <= cfg->epochs && !st.stop; epoch++) {
    MmTrainProgress pr = { .epoch = epoch, .n_epochs = cfg->epochs, .n_batches = n_batches };

    switch (train_epoch (net, cfg, train, &st, &bt, &pr, error)) {
      case EPOCH_DONE:
        break;
      case EPOCH_CANCELLED:
        g_set_error (error, MM_ERROR, MM_ERROR_CANCELLED,
            "training interrupted in epoch %d (%d complete)", epoch, st.epoch);
        /* fall through */
      case EPOCH_DIVERGED:
        ok = FALSE;
        continue;
    }
    /* the state after a complete epoch, before the caller may stop */
    ok = end_epoch (net, cfg, val, val_probs, &st, &pr, result, error)
        && (!cfg->checkpoint || checkpoint_save (net, &st, result, cfg, train, val, error));
    if (ok && cfg->progress && !cfg->progress (&pr, cfg->user_data)) {
      g_set_error (error, MM_ERROR, MM_ERROR_CANCELLED,
          "training interrupted after epoch %d", epoch);
      ok = FALSE;
    }
  }

  mm_net_copy_weights (net, st.best);
  mm_net_set_training (net, FALSE);
  result->seconds = st.seconds_before + run_seconds (&st);
  result->samples_per_s = run_seconds (&st) > 0 ? st.samples_run / run_seconds (&st) : 0;
  run_state_clear (&st);
  g_free (val_probs);
  batch_free (&bt);
  return ok;
}

gboolean
mm_train_check_checkpoint (const char *what, const char *path, gboolean resume,
    const char *out, const char *const *inputs, GError **error)
{
  if (!*path || g_strcmp0 (path, out) == 0 || (out && mm_file_same (path, out))) {
    g_set_error (error, MM_ERROR, MM_ERROR_MISMATCH,
        "%s %s: must name a file other than the model it trains", what, path);
    return FALSE;
  }
  if (resume && !g_file_test (path, G_FILE_TEST_IS_REGULAR)) {
    g_set_error (error, MM_ERROR, MM_ERROR_IO, "%s: no checkpoint to resume from", path);
    return FALSE;
  }
  if (!resume && g_file_test (path, G_FILE_TEST_EXISTS)) {
    g_set_error (error, MM_ERROR, MM_ERROR_IO, "%s: a checkpoint is already there: resume "
        "to continue that run, or remove it to start a new one", path);
    return FALSE;
  }
  return mm_file_check_output (what, path, inputs, error);
}
