/* mmdigits figures — the study's figures (4–8), robustness curves,
 * calibration and confusion heat maps from the models and the data, as PNG
 * and SVG, with figures.json holding every number drawn.
 *
 * Everything is measured on the clean protocol's held-out test (10,000 MNIST
 * test images paired with FSDD test recordings; see mm-cli.h), except
 * Figure 5's paper panel (the 9,000-sample split test). The degradations
 * and all seeds are fixed, so two runs give the same numbers.
 */
#include "mm-config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "degrade.h"
#include "figures.h"
#include "mm-augment.h"
#include "mm-cli.h"
#include "mm-embed.h"
#include "mm-error.h"
#include "mm-json.h"
#include "mm-metrics.h"
#include "mm-modelfile.h"
#include "mm-modelset.h"
#include "mm-threads.h"

#define BATCH 256
#define SEED 2019               /* degradations, t-SNE, k-means */
#define PCA_DIMS 50

/* The three networks of Figures 4–8, by role. */
enum { ROLE_IMAGE, ROLE_AUDIO, ROLE_HYBRID, N_ROLES };
static const char *const role_option[N_ROLES] = { "--image", "--audio", "--hybrid" };

typedef struct {
  char *path;
  MmModelSet *set;           /* the file as a model set of one: owns net */
  MmNet *net;
  MmMfccParams mfcc;         /* its front end (the set's reading of the file) */
  int *pred;                 /* held-out predictions [n] */
  float *probs;              /* [n][10] */
  int *pred_split;           /* split-test predictions [n_split] */
  MmConfusion conf;
} Model;

typedef struct {
  char *out, *data_dir;
  Model models[MM_N_ARCH];   /* by arch; net NULL when absent */
  int role[N_ROLES];         /* the arch playing each role */
  MmSplits splits;
  int tsne_samples;
  int sample_limit;          /* 0: every sample */
  int robust_samples;        /* the first N held-out samples the robustness curves use */
  int n_robust;              /* that, capped at the held-out set's size */
  JsonBuilder *json;         /* the numbers, by figure */
  JsonBuilder *files;        /* the files written, by stem */
  JsonBuilder *timings;      /* seconds per stage */
  gint64 stage_start;
  double stage_cpu;
  double seconds_total;
  GError *error;
} Figures;

/* ---- models ---- */

/* the figures' roles are the model set's (ROLE_* in MmRole's order) */
G_STATIC_ASSERT ((int) ROLE_IMAGE == (int) MM_ROLE_IMAGE && (int) ROLE_AUDIO == (int) MM_ROLE_AUDIO
    && (int) ROLE_HYBRID == (int) MM_ROLE_HYBRID);

static gboolean
role_takes (int role, MmArch a)
{
  return (int) mm_role_of_arch (a) == role;
}

static const char *
role_wants (int role)
{
  static const char *const w[N_ROLES] = {
    "an image-only network (ImageNet_CNN)",
    "an audio-only network (AudioNet_CNN or AudioNet_LSTM)",
    "a hybrid network (HybridNet_CNN or HybridNet_CNN_LSTM)",
  };
  return w[role];
}

/* Loads @path into its arch's slot; a second model of one arch replaces
 * the first only when @replace (a role override), else it is an error:
 * which one to draw must not depend on file names. The file is read as
 * every reader of a model file reads it (a model set of one: its network
 * and front end), not by a reading of its metadata of our own. */
static gboolean
load_model (Figures *f, const char *path, gboolean replace, MmArch *arch, GError **error)
{
  const MmModel *model;
  MmModelSet *set = mm_cli_open_model (path, "figures", &model, error);
  Model *m;

  if (!set)
    return FALSE;
  *arch = model->arch;
  m = &f->models[*arch];
  if (m->net && !replace) {
    g_set_error (error, MM_ERROR, MM_ERROR_MISMATCH,
        "%s and %s are both %s models; keep one in the directory or choose with %s FILE",
        m->path, path, mm_arch_name (*arch),
        mm_arch_uses_image (*arch) && mm_arch_uses_audio (*arch) ? "--hybrid"
        : mm_arch_uses_image (*arch) ? "--image" : "--audio");
    mm_model_set_free (set);
    return FALSE;
  }
  if (m->net) {
    g_free (m->path);
    mm_model_set_free (m->set);
  }
  m->path = g_strdup (path);
  m->set = set;
  m->net = model->net;
  m->mfcc = model->frontend;
  return TRUE;
}

/* Every *.safetensors of @dir (one per arch), then the role overrides,
 * which must be of their role's kind. */
static gboolean
load_models (Figures *f, const char *dir, char *const overrides[N_ROLES], GError **error)
{
  GDir *d = g_dir_open (dir, 0, error);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  gboolean ok = TRUE;

  if (!d) {
    g_ptr_array_unref (names);
    return FALSE;
  }
  while ((name = g_dir_read_name (d)))
    if (g_str_has_suffix (name, ".safetensors"))
      g_ptr_array_add (names, g_build_filename (dir, name, NULL));
  g_dir_close (d);
  g_ptr_array_sort (names, (GCompareFunc) g_strcmp0);
  for (guint i = 0; ok && i < names->len; i++) {
    MmArch a;
    ok = load_model (f, g_ptr_array_index (names, i), FALSE, &a, error);
  }
  g_ptr_array_unref (names);
  for (int r = 0; ok && r < N_ROLES; r++) {
    MmArch a;
    f->role[r] = -1;
    if (overrides[r]) {
      if (!(ok = load_model (f, overrides[r], TRUE, &a, error)))
        break;
      if (!role_takes (r, a)) {
        g_set_error (error, MM_ERROR, MM_ERROR_MISMATCH, "%s is %s %s; %s needs %s",
            overrides[r], a == MM_ARCH_IMAGENET_CNN || a == MM_ARCH_AUDIONET_CNN
            || a == MM_ARCH_AUDIONET_LSTM ? "an" : "a", mm_arch_name (a), role_option[r],
            role_wants (r));
        ok = FALSE;
        break;
      }
      f->role[r] = a;
    } else {
      /* the CNN of the kind, as in the study's figures, else the other */
      for (int k = 0; k < MM_N_ARCH && f->role[r] < 0; k++)
        if (role_takes (r, (MmArch) k) && f->models[k].net)
          f->role[r] = k;
      if (f->role[r] < 0) {
        g_set_error (error, MM_ERROR, MM_ERROR_MISMATCH,
            "no model in %s is %s (give %s FILE)", dir, role_wants (r), role_option[r]);
        ok = FALSE;
      }
    }
  }
  return ok;
}

static gboolean
same_front_end (const MmMfccParams *a, const MmMfccParams *b)
{
  char *ja = mm_mfcc_params_to_json (a), *jb = mm_mfcc_params_to_json (b);
  gboolean same = g_str_equal (ja, jb);
  g_free (ja);
  g_free (jb);
  return same;
}

/* The audio networks must share one front end: the robustness curves and
 * the pairs are made once. */
static gboolean
common_mfcc (Figures *f, MmMfccParams *mfcc, GError **error)
{
  const Model *first = NULL;

  mm_mfcc_params_init (mfcc);
  for (int a = 0; a < MM_N_ARCH; a++) {
    const Model *m = &f->models[a];
    if (!m->net || !mm_arch_uses_audio ((MmArch) a))
      continue;
    if (!first) {
      first = m;
      *mfcc = m->mfcc;
    } else if (!same_front_end (&m->mfcc, mfcc)) {
      g_set_error (error, MM_ERROR, MM_ERROR_MISMATCH,
          "%s and %s use different MFCC front ends; figures needs one for all audio networks",
          first->path, m->path);
      return FALSE;
    }
  }
  return TRUE;
}

/* ---- JSON ---- */

/* Records a drawn figure's files and sizes under "files". */
static void
record_files (Figures *f, const char *stem, const MmFigSize *size)
{
  JsonBuilder *b = f->files;
  char *png = g_strconcat (stem, ".png", NULL), *svg = g_strconcat (stem, ".svg", NULL);

  mm_json_begin_object (b, stem);
  mm_json_add_string (b, "png", png);
  mm_json_add_string (b, "svg", svg);
  mm_json_add_double (b, "width_pt", size->width);
  mm_json_add_double (b, "height_pt", size->height);
  mm_json_add_int (b, "png_width", (gint64) ceil (size->width * MM_FIG_PNG_SCALE));
  mm_json_add_int (b, "png_height", (gint64) ceil (size->height * MM_FIG_PNG_SCALE));
  json_builder_end_object (b);
  g_free (png);
  g_free (svg);
}

/* ---- predictions ---- */

/* A copy of the first @n samples of @src normalised for @net. */
static MmDataset *
prepared (const MmDataset *src, int n, MmNet *net)
{
  MmDataset *ds = mm_dataset_head (src, n);
  mm_dataset_normalize (ds, mm_net_norm (net));
  return ds;
}

static gboolean
predict_all (Figures *f)
{
  const MmDataset *held = f->splits.heldout, *split = f->splits.test;
  gboolean ok = TRUE;

  for (int a = 0; ok && a < MM_N_ARCH; a++) {
    Model *m = &f->models[a];
    MmDataset *ds;
    if (!m->net)
      continue;
    m->pred = g_new (int, held->n);
    m->probs = g_new (float, (size_t) held->n * MM_N_CLASSES);
    mm_confusion_init (&m->conf);
    ds = prepared (held, held->n, m->net);
    ok = mm_net_predict (m->net, ds, BATCH, m->pred, m->probs, &m->conf, &f->error);
    mm_dataset_free (ds);
    m->pred_split = g_new (int, split->n);
    ds = prepared (split, split->n, m->net);
    ok = ok && mm_net_predict (m->net, ds, BATCH, m->pred_split, NULL, NULL, &f->error);
    mm_dataset_free (ds);
    if (!ok)
      g_prefix_error (&f->error, "%s: ", m->path);
  }
  return ok;
}

/* @net's accuracy on @raw into @acc; FALSE with @error when its outputs are
 * not finite. */
static gboolean
accuracy_of (MmNet *net, const MmDataset *raw, double *acc, GError **error)
{
  MmDataset *ds = prepared (raw, raw->n, net);
  MmConfusion c;
  gboolean ok;

  mm_confusion_init (&c);
  ok = mm_net_predict (net, ds, BATCH, NULL, NULL, &c, error);
  mm_dataset_free (ds);
  *acc = mm_confusion_accuracy (&c);
  return ok;
}

/* ---- Figure 4 ---- */

static void
json_tile (JsonBuilder *b, const MmFigTile *t)
{
  json_builder_begin_object (b);
  mm_json_add_int (b, "index", t->index);
  mm_json_add_int (b, "label", t->label);
  mm_json_begin_array (b, "predicted");
  for (int k = 0; k < 3; k++)
    json_builder_add_int_value (b, t->pred[k]);
  json_builder_end_array (b);
  mm_json_begin_array (b, "confidence");
  for (int k = 0; k < 3; k++)
    json_builder_add_double_value (b, t->conf[k]);
  json_builder_end_array (b);
  json_builder_end_object (b);
}

static gboolean
figure4 (Figures *f, const MmArch nets[3])
{
  const MmDataset *held = f->splits.heldout;
  GArray *parts[2] = { g_array_new (FALSE, FALSE, sizeof (MmFigTile)),
    g_array_new (FALSE, FALSE, sizeof (MmFigTile)) };
  const Model *m[3] = { &f->models[nets[0]], &f->models[nets[1]], &f->models[nets[2]] };
  MmFigGallery g[2];
  MmFigSize size;
  gboolean ok;
  char *titles[2], *stem;

  for (int i = 0; i < held->n; i++) {
    MmFigTile t = { i, held->labels[i], held->image + (size_t) i * MM_IMAGE_PIXELS, { 0 }, { 0 } };
    gboolean image_wrong = m[0]->pred[i] != t.label, hybrid_wrong = m[2]->pred[i] != t.label;
    for (int k = 0; k < 3; k++) {
      t.pred[k] = m[k]->pred[i];
      t.conf[k] = m[k]->probs[(size_t) i * MM_N_CLASSES + t.pred[k]];
    }
    if (image_wrong)
      g_array_append_val (parts[0], t);
    if (hybrid_wrong && !image_wrong)
      g_array_append_val (parts[1], t);
  }
  titles[0] = g_strdup_printf ("Test images %s gets wrong", mm_arch_name (nets[0]));
  titles[1] = g_strdup_printf ("The reverse: %s wrong, %s right", mm_arch_name (nets[2]),
      mm_arch_name (nets[0]));
  for (int p = 0; p < 2; p++)
    g[p] = (MmFigGallery) { titles[p], (const MmFigTile *) parts[p]->data, (int) parts[p]->len,
      (int) parts[p]->len };
  stem = g_build_filename (f->out, "figure4-errors", NULL);
  ok = mm_fig_gallery (stem, nets, g, 2, &size, &f->error);
  if (ok) {
    JsonBuilder *b = f->json;
    record_files (f, "figure4-errors", &size);
    mm_json_begin_object (b, "figure4");
    mm_json_begin_array (b, "networks");
    for (int k = 0; k < 3; k++)
      json_builder_add_string_value (b, mm_arch_name (nets[k]));
    json_builder_end_array (b);
    mm_json_begin_array (b, "image_wrong");
    for (guint i = 0; i < parts[0]->len; i++)
      json_tile (b, &g_array_index (parts[0], MmFigTile, i));
    json_builder_end_array (b);
    mm_json_begin_array (b, "hybrid_wrong_image_right");
    for (guint i = 0; i < parts[1]->len; i++)
      json_tile (b, &g_array_index (parts[1], MmFigTile, i));
    json_builder_end_array (b);
    json_builder_end_object (b);
  }
  g_free (stem);
  g_free (titles[0]);
  g_free (titles[1]);
  g_array_unref (parts[0]);
  g_array_unref (parts[1]);
  return ok;
}

/* ---- Figure 5 ---- */

static void
venn_regions (const int *const pred[3], const int *labels, int n, MmFigVenn *v)
{
  memset (v->region, 0, sizeof v->region);
  v->n = n;
  for (int i = 0; i < n; i++) {
    int r = 0;
    for (int k = 0; k < 3; k++)
      r |= (pred[k][i] != labels[i]) << k;
    v->region[r]++;
  }
}

static gboolean
figure5 (Figures *f, const MmArch nets[3])
{
  const Model *m[3] = { &f->models[nets[0]], &f->models[nets[1]], &f->models[nets[2]] };
  const int *split[3] = { m[0]->pred_split, m[1]->pred_split, m[2]->pred_split };
  const int *held[3] = { m[0]->pred, m[1]->pred, m[2]->pred };
  static const char *const keys[8] = {
    "none", "image", "audio", "image_audio", "hybrid", "image_hybrid", "audio_hybrid", "all",
  };
  MmFigVenn v[2];
  MmFigSize size;
  char *stem = g_build_filename (f->out, "figure5-venn", NULL);
  gboolean ok;

  v[0].title = "paper protocol: split test";
  venn_regions (split, f->splits.test->labels, f->splits.test->n, &v[0]);
  v[1].title = "clean protocol: held-out test";
  venn_regions (held, f->splits.heldout->labels, f->splits.heldout->n, &v[1]);
  ok = mm_fig_venn (stem, nets, v, 2, &size, &f->error);
  if (ok) {
    JsonBuilder *b = f->json;
    record_files (f, "figure5-venn", &size);
    mm_json_begin_object (b, "figure5");
    mm_json_add_string (b, "regions", "samples wrong for exactly the named networks (image, audio, hybrid)");
    for (int p = 0; p < 2; p++) {
      mm_json_begin_object (b, p == 0 ? "paper" : "clean");
      mm_json_add_int (b, "samples", v[p].n);
      for (int r = 0; r < 8; r++)
        mm_json_add_int (b, keys[r], v[p].region[r]);
      json_builder_end_object (b);
    }
    json_builder_end_object (b);
  }
  g_free (stem);
  return ok;
}

/* ---- Figures 6–8 ---- */

/* The representations @which[0..n_which) of the first @n held-out samples:
 * out[w] [n][dims[w]] (g_free). */
static void
collect_embeddings (Figures *f, MmNet *net, int n, const MmEmbedding *which, int n_which,
    float **out, int *dims)
{
  MmDataset *ds = prepared (f->splits.heldout, n, net);
  MmArch a = mm_net_arch (net);
  float logits[BATCH * MM_N_CLASSES];

  for (int w = 0; w < n_which; w++)
    out[w] = NULL;
  mm_net_set_training (net, FALSE);
  for (int s = 0; s < n; s += BATCH) {
    int b = MIN (BATCH, n - s);
    mm_net_forward (net, b,
        mm_arch_uses_image (a) ? ds->image + (size_t) s * MM_IMAGE_PIXELS : NULL,
        mm_arch_uses_audio (a) ? ds->audio + (size_t) s * MM_AUDIO_VALUES : NULL, logits);
    for (int w = 0; w < n_which; w++) {
      const float *e = mm_net_embedding (net, which[w], &dims[w]);
      if (!out[w])
        out[w] = g_new (float, (size_t) n * dims[w]);
      memcpy (out[w] + (size_t) s * dims[w], e, sizeof (float) * b * dims[w]);
    }
  }
  mm_dataset_free (ds);
}

/* PCA to 50, t-SNE to 2, k-means (k = 10) on the PCA points, and the
 * scores. k-means clusters the network's representation, not the t-SNE
 * picture, whose distances t-SNE distorts. Fills @e (xy, clusters: owned by
 * the caller). */
static gboolean
analyse (const float *x, int n, int dim, const int *labels, MmFigEmbedding *e, double *kl,
    GError **error)
{
  int k = MIN (PCA_DIMS, dim);
  float *pca = g_new (float, (size_t) n * k), *xy = g_new (float, (size_t) n * 2);
  int *clusters = g_new (int, n);
  MmTsneParams tp;
  MmKmeansParams kp;
  gboolean ok;

  mm_tsne_params_init (&tp);
  tp.seed = SEED;
  mm_kmeans_params_init (&kp);
  kp.seed = SEED;
  ok = mm_pca (x, n, dim, k, pca, NULL, error)
      && mm_tsne (pca, n, k, &tp, xy, kl, error)
      && mm_kmeans (pca, n, k, &kp, clusters, NULL, NULL, error)
      && mm_trustworthiness (pca, k, xy, 2, n, 5, &e->trustworthiness, error);
  if (ok) {
    e->n = n;
    e->xy = xy;
    e->labels = labels;
    e->clusters = clusters;
    e->ari = mm_adjusted_rand_index (labels, clusters, n);
    e->nmi = mm_normalized_mutual_info (labels, clusters, n);
  } else {
    g_free (xy);
    g_free (clusters);
  }
  g_free (pca);
  return ok;
}

static const char *
embedding_name (MmEmbedding w)
{
  return w == MM_EMBED_IMAGE ? "image encoder" : w == MM_EMBED_AUDIO ? "audio encoder"
      : "fusion layer";
}

static const char *
embedding_key (MmEmbedding w)
{
  return w == MM_EMBED_IMAGE ? "image_encoder" : w == MM_EMBED_AUDIO ? "audio_encoder" : "fusion";
}

/* One of Figures 6–8: the representations @which of @arch. */
static gboolean
embedding_figure (Figures *f, int number, MmArch arch, const MmEmbedding *which, int n_which)
{
  MmNet *net = f->models[arch].net;
  int n = MIN (f->tsne_samples, f->splits.heldout->n), dims[3];
  float *emb[3];
  MmFigEmbedding rows[3];
  double kl[3];
  char *titles[3] = { NULL }, *title, *name, *stem;
  gboolean ok = TRUE;
  int done = 0;
  MmFigSize size;

  collect_embeddings (f, net, n, which, n_which, emb, dims);
  for (int w = 0; ok && w < n_which; w++) {
    titles[w] = n_which == 1 ? g_strdup_printf ("%s, %s (%d)", mm_arch_name (arch),
        embedding_name (which[w]), dims[w])
        : g_strdup_printf ("%c. %s, %s (%d)", 'a' + w, mm_arch_name (arch),
            embedding_name (which[w]), dims[w]);
    rows[w].title = titles[w];
    ok = analyse (emb[w], n, dims[w], f->splits.heldout->labels, &rows[w], &kl[w], &f->error);
    done += ok;
  }
  title = g_strdup_printf ("Figure %d — what %s learned: %d held-out samples, clean protocol",
      number, mm_arch_name (arch), n);
  {
    char *lower = g_ascii_strdown (mm_arch_name (arch), -1);
    name = g_strdup_printf ("figure%d-%s", number, lower);
    g_free (lower);
  }
  stem = g_build_filename (f->out, name, NULL);
  if (ok)
    ok = mm_fig_embeddings (stem, title, rows, n_which, &size, &f->error);
  if (ok) {
    JsonBuilder *b = f->json;
    char *key = g_strdup_printf ("figure%d", number);
    record_files (f, name, &size);
    mm_json_begin_object (b, key);
    mm_json_add_string (b, "network", mm_arch_name (arch));
    mm_json_add_int (b, "samples", n);
    for (int w = 0; w < n_which; w++) {
      mm_json_begin_object (b, embedding_key (which[w]));
      mm_json_add_int (b, "dimensions", dims[w]);
      mm_json_add_int (b, "pca_dimensions", MIN (PCA_DIMS, dims[w]));
      mm_json_add_double (b, "tsne_kl_divergence", kl[w]);
      mm_json_add_double (b, "trustworthiness", rows[w].trustworthiness);
      mm_json_add_double (b, "kmeans_ari", rows[w].ari);
      mm_json_add_double (b, "kmeans_nmi", rows[w].nmi);
      json_builder_end_object (b);
    }
    json_builder_end_object (b);
    g_free (key);
  }
  for (int w = 0; w < n_which; w++) {
    g_free (emb[w]);
    g_free (titles[w]);
    if (w < done) {
      g_free ((float *) rows[w].xy);
      g_free ((int *) rows[w].clusters);
    }
  }
  g_free (title);
  g_free (name);
  g_free (stem);
  return ok;
}

/* ---- robustness ---- */

#define MAX_LEVELS 10

typedef struct {
  const char *key, *title, *xlabel;
  gboolean audio;
  int n;
  double levels[MAX_LEVELS];
} Sweep;

static const Sweep sweeps[] = {
  { "audio_white_noise", "audio: white noise", "SNR (dB)", TRUE, 8,
    { INFINITY, 30, 20, 15, 10, 5, 0, -5 } },
  { "audio_babble_noise", "audio: babble (6 talkers)", "SNR (dB)", TRUE, 8,
    { INFINITY, 30, 20, 15, 10, 5, 0, -5 } },
  { "image_occlusion", "image: occluded square", "occluded area (%)", FALSE, 7,
    { 0, 10, 20, 30, 40, 50, 60 } },
  { "image_noise", "image: pixel noise", "noise σ (pixel range 0–1)", FALSE, 6,
    { 0, 0.2, 0.4, 0.6, 0.8, 1.0 } },
  { "image_blur", "image: Gaussian blur", "blur σ (pixels)", FALSE, 7,
    { 0, 0.5, 1, 1.5, 2, 2.5, 3 } },
};

/* The held-out clips (the front end's one-second clips the protocol made
 * the held-out blocks from: its wave bank), and the noises mixed into them. */
typedef struct {
  int n;                     /* distinct clips among the first n_robust samples */
  int len;                   /* samples per clip */
  int *slot;                 /* [waves->n]: index into the arrays below, −1 if unused */
  const float **clip;        /* [n] views into the wave bank */
  int *label;                /* [n] the digit said */
  float *white, *babble;     /* [n][len], unit power */
} AudioBank;

static void
audio_bank_clear (AudioBank *ab)
{
  g_free (ab->slot);
  g_free (ab->clip);
  g_free (ab->label);
  g_free (ab->white);
  g_free (ab->babble);
}

/* Babble: each track mixes MM_BABBLE_TALKERS recordings of the protocol's split
 * test (never a held-out recording; mm_degrade_babble_pool, as eval --noise
 * babble), as the trainer's babble does (mm_aug_babble). */
static void
make_babble (Figures *f, AudioBank *ab)
{
  const MmWaveBank *bank = f->splits.test->waves;
  GArray *pool;
  MmRng rng;

  mm_rng_seed (&rng, SEED, 0xbab);
  pool = mm_degrade_babble_pool (f->splits.test, &rng);
  ab->babble = g_new0 (float, (size_t) ab->n * ab->len);
  for (int s = 0; s < ab->n; s++)
    mm_aug_babble (&rng, bank->samples, bank->len, (const int *) pool->data, pool->len,
        MM_BABBLE_TALKERS, ab->babble + (size_t) s * ab->len, ab->len);
  g_array_unref (pool);
}

static gboolean
audio_bank_load (Figures *f, AudioBank *ab, GError **error)
{
  const MmDataset *held = f->splits.heldout;
  const MmWaveBank *bank = held->waves;

  memset (ab, 0, sizeof *ab);
  if (!bank || !held->wave || !f->splits.test->waves) {
    g_set_error (error, MM_ERROR, MM_ERROR_INVALID, "the protocol gave no audio clips");
    return FALSE;
  }
  ab->len = bank->len;
  ab->slot = g_new (int, bank->n);
  for (int r = 0; r < bank->n; r++)
    ab->slot[r] = -1;
  ab->clip = g_new (const float *, MAX (f->n_robust, 1));
  ab->label = g_new (int, MAX (f->n_robust, 1));
  for (int i = 0; i < f->n_robust; i++)
    if (ab->slot[held->wave[i]] < 0) {
      ab->clip[ab->n] = bank->samples + (size_t) held->wave[i] * bank->len;
      ab->label[ab->n] = held->labels[i];
      ab->slot[held->wave[i]] = ab->n++;
    }
  ab->white = g_new (float, (size_t) MAX (ab->n, 1) * ab->len);
  for (int s = 0; s < ab->n; s++) {
    MmRng rng;
    mm_rng_seed (&rng, SEED, (guint64) s);
    mm_aug_white (&rng, ab->white + (size_t) s * ab->len, ab->len);
  }
  make_babble (f, ab);
  return TRUE;
}

/* The MFCC of every held-out recording with @noise at @snr (∞: none):
 * [ab->n][39·13] (g_free), or NULL with @error. */
static float *
noisy_table (const AudioBank *ab, const float *noise, double snr, MmMfcc *extractor,
    GError **error)
{
  const int L = ab->len;
  float *table = g_new (float, (size_t) MAX (ab->n, 1) * MM_AUDIO_VALUES), *mixed = g_new (float, L);
  gboolean ok = TRUE;

  for (int s = 0; ok && s < ab->n; s++) {
    memcpy (mixed, ab->clip[s], sizeof (float) * L);
    if (!isinf (snr))
      mm_aug_add_noise (mixed, noise + (size_t) s * L, L, (float) snr);
    ok = mm_mfcc_compute (extractor, mixed, L, table + (size_t) s * MM_AUDIO_VALUES, error);
  }
  g_free (mixed);
  if (!ok)
    g_clear_pointer (&table, g_free);
  return table;
}

/* An audio-only network's answer depends on the recording alone, and the
 * 10,000 held-out pairs share a few hundred recordings: classify each
 * recording once and count it for every sample it is paired with (the same
 * accuracy as classifying the 10,000). */
static gboolean
audio_only_accuracy (Figures *f, MmNet *net, const AudioBank *ab, const float *table,
    double *acc)
{
  MmDataset *ds = mm_dataset_new (ab->n, FALSE, TRUE);
  int *pred = g_new (int, ab->n), right = 0;
  const MmDataset *held = f->splits.heldout;
  gboolean ok;

  memcpy (ds->audio, table, sizeof (float) * ab->n * MM_AUDIO_VALUES);
  memcpy (ds->labels, ab->label, sizeof (int) * ab->n);
  mm_dataset_normalize (ds, mm_net_norm (net));
  ok = mm_net_predict (net, ds, BATCH, pred, NULL, NULL, &f->error);
  for (int i = 0; ok && i < f->n_robust; i++)
    right += pred[ab->slot[held->wave[i]]] == held->labels[i];
  g_free (pred);
  mm_dataset_free (ds);
  *acc = (double) right / f->n_robust;
  return ok;
}

/* The held-out set's audio from @table (see noisy_table). */
static void
fill_audio (Figures *f, const AudioBank *ab, const float *table, MmDataset *ds)
{
  for (int i = 0; i < ds->n; i++)
    memcpy (ds->audio + (size_t) i * MM_AUDIO_VALUES,
        table + (size_t) ab->slot[f->splits.heldout->wave[i]] * MM_AUDIO_VALUES,
        sizeof (float) * MM_AUDIO_VALUES);
}

static void
degrade_images (const Sweep *sw, double level, MmDataset *ds)
{
  if (!strcmp (sw->key, "image_occlusion"))
    mm_degrade_occlude (ds->image, ds->n, level / 100, SEED);
  else if (!strcmp (sw->key, "image_noise"))
    mm_degrade_noise (ds->image, ds->n, level, SEED);
  else
    for (int i = 0; i < ds->n; i++)
      mm_aug_blur (ds->image + (size_t) i * MM_IMAGE_PIXELS, (float) level);
}

static gboolean
robustness (Figures *f, const MmMfccParams *mfcc)
{
  const int n_sweeps = G_N_ELEMENTS (sweeps);
  MmArch nets[MM_N_ARCH];
  int n_nets = 0;
  double *acc[G_N_ELEMENTS (sweeps)];
  double clean[MM_N_ARCH];
  MmFigCurves panels[G_N_ELEMENTS (sweeps)];
  AudioBank ab = { 0 };
  MmMfcc *extractor = NULL;
  MmFigSize size;
  char *stem = g_build_filename (f->out, "robustness", NULL);
  gboolean ok;

  f->n_robust = MIN (f->robust_samples, f->splits.heldout->n);
  for (int a = 0; a < MM_N_ARCH; a++)
    if (f->models[a].net) {
      int right = 0;
      for (int i = 0; i < f->n_robust; i++)
        right += f->models[a].pred[i] == f->splits.heldout->labels[i];
      clean[n_nets] = (double) right / f->n_robust;
      nets[n_nets++] = (MmArch) a;
    }
  ok = audio_bank_load (f, &ab, &f->error)
      && (extractor = mm_mfcc_new (mfcc, &f->error)) != NULL;
  for (int w = 0; w < n_sweeps; w++) {
    const Sweep *sw = &sweeps[w];
    acc[w] = g_new (double, (size_t) n_nets * sw->n);
    for (int l = 0; ok && l < sw->n; l++) {
      MmDataset *ds = NULL;
      float *table = NULL;
      if (sw->audio) {
        ok = (table = noisy_table (&ab, !strcmp (sw->key, "audio_white_noise") ? ab.white
                : ab.babble, sw->levels[l], extractor, &f->error)) != NULL;
      } else if (sw->levels[l] > 0) {
        ds = mm_dataset_head (f->splits.heldout, f->n_robust);
        degrade_images (sw, sw->levels[l], ds);
      }
      for (int k = 0; ok && k < n_nets; k++) {
        MmNet *net = f->models[nets[k]].net;
        double *a = &acc[w][(size_t) k * sw->n + l];
        gboolean sees = sw->audio ? mm_arch_uses_audio (nets[k]) : mm_arch_uses_image (nets[k]);
        /* a network that does not see the worsened input keeps its accuracy,
         * and so does every network at an image level that changes nothing */
        if (!sees || (!sw->audio && !ds)) {
          *a = clean[k];
        } else if (sw->audio && !mm_arch_uses_image (nets[k])) {
          ok = audio_only_accuracy (f, net, &ab, table, a);
        } else {
          if (!ds) {
            ds = mm_dataset_head (f->splits.heldout, f->n_robust);
            fill_audio (f, &ab, table, ds);
          }
          ok = accuracy_of (net, ds, a, &f->error);
        }
      }
      g_clear_pointer (&ds, mm_dataset_free);
      g_free (table);
    }
    panels[w] = (MmFigCurves) { sw->title, sw->xlabel, sw->n, sw->levels, n_nets, nets, acc[w] };
  }
  if (ok) {
    char *title = g_strdup_printf ("Robustness — accuracy on %d clean held-out samples as one "
        "input gets worse", f->n_robust);
    ok = mm_fig_curves (stem, title, panels, n_sweeps, &size, &f->error);
    g_free (title);
  }
  if (ok) {
    JsonBuilder *b = f->json;
    record_files (f, "robustness", &size);
    mm_json_begin_object (b, "robustness");
    mm_json_add_int (b, "samples", f->n_robust);
    mm_json_add_int (b, "recordings", ab.n);
    for (int w = 0; w < n_sweeps; w++) {
      const Sweep *sw = &sweeps[w];
      mm_json_begin_object (b, sw->key);
      mm_json_add_string (b, "x", sw->xlabel);
      mm_json_begin_array (b, "levels");
      for (int l = 0; l < sw->n; l++)
        if (isinf (sw->levels[l]))
          json_builder_add_string_value (b, "clean");
        else
          json_builder_add_double_value (b, sw->levels[l]);
      json_builder_end_array (b);
      mm_json_begin_object (b, "accuracy");
      for (int k = 0; k < n_nets; k++) {
        mm_json_begin_array (b, mm_arch_name (nets[k]));
        for (int l = 0; l < sw->n; l++)
          json_builder_add_double_value (b, acc[w][(size_t) k * sw->n + l]);
        json_builder_end_array (b);
      }
      json_builder_end_object (b);
      json_builder_end_object (b);
    }
    json_builder_end_object (b);
  }
  for (int w = 0; w < n_sweeps; w++)
    g_free (acc[w]);
  mm_mfcc_free (extractor);
  audio_bank_clear (&ab);
  g_free (stem);
  return ok;
}

/* ---- calibration and confusion ---- */

static gboolean
calibration (Figures *f)
{
  MmFigReliability panels[MM_N_ARCH];
  MmCalibrationBin bins[MM_N_ARCH][MM_ECE_BINS];
  int n = 0;
  MmFigSize size;
  char *stem = g_build_filename (f->out, "calibration", NULL);
  gboolean ok;

  for (int a = 0; a < MM_N_ARCH; a++) {
    const Model *m = &f->models[a];
    if (!m->net)
      continue;
    panels[n] = (MmFigReliability) { (MmArch) a, f->splits.heldout->n, MM_ECE_BINS, bins[n], 0 };
    panels[n].ece = mm_calibration (m->probs, f->splits.heldout->labels, f->splits.heldout->n,
        MM_ECE_BINS, bins[n]);
    n++;
  }
  ok = mm_fig_reliability (stem, panels, n, &size, &f->error);
  if (ok) {
    JsonBuilder *b = f->json;
    record_files (f, "calibration", &size);
    mm_json_begin_object (b, "calibration");
    mm_json_add_int (b, "samples", f->splits.heldout->n);
    mm_json_add_int (b, "bins", MM_ECE_BINS);
    for (int i = 0; i < n; i++) {
      mm_json_begin_object (b, mm_arch_name (panels[i].net));
      mm_json_add_double (b, "ece", panels[i].ece);
      mm_json_begin_array (b, "bins");
      for (int k = 0; k < MM_ECE_BINS; k++) {
        json_builder_begin_object (b);
        mm_json_add_double (b, "low", (double) k / MM_ECE_BINS);
        mm_json_add_double (b, "high", (double) (k + 1) / MM_ECE_BINS);
        mm_json_add_int (b, "count", bins[i][k].count);
        mm_json_add_double (b, "confidence", bins[i][k].confidence);
        mm_json_add_double (b, "accuracy", bins[i][k].accuracy);
        json_builder_end_object (b);
      }
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
    json_builder_end_object (b);
  }
  g_free (stem);
  return ok;
}

static gboolean
confusion (Figures *f)
{
  MmFigConfusion panels[MM_N_ARCH];
  int n = 0;
  MmFigSize size;
  char *stem = g_build_filename (f->out, "confusion", NULL);
  gboolean ok;

  for (int a = 0; a < MM_N_ARCH; a++)
    if (f->models[a].net)
      panels[n++] = (MmFigConfusion) { (MmArch) a, &f->models[a].conf };
  ok = mm_fig_confusion (stem, "Confusion matrices — clean held-out test", panels, n, &size,
      &f->error);
  if (ok) {
    JsonBuilder *b = f->json;
    record_files (f, "confusion", &size);
    mm_json_begin_object (b, "confusion");
    for (int i = 0; i < n; i++) {
      mm_json_begin_object (b, mm_arch_name (panels[i].net));
      mm_json_add_int (b, "samples", panels[i].c->n);
      mm_json_add_double (b, "accuracy", mm_confusion_accuracy (panels[i].c));
      mm_json_add_double (b, "macro_f1", mm_confusion_macro_f1 (panels[i].c));
      mm_json_begin_array (b, "matrix");
      for (int t = 0; t < MM_N_CLASSES; t++) {
        json_builder_begin_array (b);
        for (int k = 0; k < MM_N_CLASSES; k++)
          json_builder_add_int_value (b, panels[i].c->confusion[t][k]);
        json_builder_end_array (b);
      }
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
    json_builder_end_object (b);
  }
  g_free (stem);
  return ok;
}

/* ---- the command ---- */

/* Makes @dir and proves a file can be written in it, before any work. */
static gboolean
check_out_dir (const char *dir, GError **error)
{
  char *probe;
  int fd;

  if (g_mkdir_with_parents (dir, 0755) != 0) {
    g_set_error (error, MM_ERROR, MM_ERROR_IO, "--out %s: %s", dir, g_strerror (errno));
    return FALSE;
  }
  probe = g_build_filename (dir, ".mmdigits-figures-XXXXXX", NULL);
  fd = g_mkstemp (probe);
  if (fd < 0) {
    g_set_error (error, MM_ERROR, MM_ERROR_IO, "--out %s: cannot write there: %s", dir,
        g_strerror (errno));
    g_free (probe);
    return FALSE;
  }
  g_close (fd, NULL);
  g_unlink (probe);
  g_free (probe);
  return TRUE;
}

static gboolean
write_json (Figures *f, double seconds, GError **error)
{
  JsonBuilder *b = f->json;
  JsonNode *files = json_builder_get_root (f->files), *root, *timings;
  char *text, *path = g_build_filename (f->out, "figures.json", NULL);
  gboolean ok;

  json_builder_set_member_name (b, "files");
  json_builder_add_value (b, files);     /* takes the node */
  json_builder_end_object (f->timings);
  timings = json_builder_get_root (f->timings);
  json_builder_set_member_name (b, "timings");
  json_builder_add_value (b, timings);
  mm_json_add_double (b, "seconds", seconds);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  text = mm_json_node_to_text (root, TRUE);
  /* g_file_set_contents writes a temporary and renames it */
  ok = g_file_set_contents (path, text, -1, error);
  g_free (text);
  g_free (path);
  json_node_unref (root);
  return ok;
}

static void
figures_clear (Figures *f)
{
  for (int a = 0; a < MM_N_ARCH; a++) {
    Model *m = &f->models[a];
    g_free (m->path);
    mm_model_set_free (m->set);
    g_free (m->pred);
    g_free (m->probs);
    g_free (m->pred_split);
  }
  mm_splits_clear (&f->splits);
  g_clear_object (&f->json);
  g_clear_object (&f->files);
  g_clear_object (&f->timings);
  g_clear_error (&f->error);
  g_free (f->data_dir);
}

/* Notes how long the stage that just ended took (figures.json "timings"). */
static double
cpu_seconds (void)
{
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec
      + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Notes how long the stage that just ended took, on the clock and in CPU
 * time of all threads (figures.json "timings"): on a shared machine the
 * two differ. */
static gboolean
stage (Figures *f, const char *name)
{
  gint64 now = g_get_monotonic_time ();
  double cpu = cpu_seconds ();

  mm_json_begin_object (f->timings, name);
  mm_json_add_double (f->timings, "wall_s", (now - f->stage_start) / 1e6);
  mm_json_add_double (f->timings, "cpu_s", cpu - f->stage_cpu);
  json_builder_end_object (f->timings);
  f->stage_start = now;
  f->stage_cpu = cpu;
  return TRUE;
}

/* Keeps the first f->sample_limit samples of a set (0: all). */
static void
limit (const Figures *f, MmDataset **ds)
{
  if (f->sample_limit > 0 && f->sample_limit < (*ds)->n) {
    MmDataset *cut = mm_dataset_head (*ds, f->sample_limit);
    mm_dataset_free (*ds);
    *ds = cut;
  }
}

static gboolean
run (Figures *f)
{
  static const MmEmbedding image_only[] = { MM_EMBED_IMAGE };
  static const MmEmbedding audio_only[] = { MM_EMBED_AUDIO };
  static const MmEmbedding hybrid[] = { MM_EMBED_IMAGE, MM_EMBED_AUDIO, MM_EMBED_FUSED };
  MmArch nets[3] = { f->role[ROLE_IMAGE], f->role[ROLE_AUDIO], f->role[ROLE_HYBRID] };
  MmMfccParams mfcc;
  JsonBuilder *b = f->json;

  if (!common_mfcc (f, &mfcc, &f->error)
      || !mm_protocol_load (MM_ARCH_HYBRIDNET_CNN, "clean", &mfcc, f->data_dir, NULL, FALSE, TRUE,
          &f->splits, &f->error))
    return FALSE;
  limit (f, &f->splits.heldout);
  limit (f, &f->splits.test);
  json_builder_begin_object (b);
  mm_json_add_string (b, "protocol", "clean");
  mm_json_add_string (b, "data", f->splits.description);
  mm_json_begin_object (b, "models");
  for (int a = 0; a < MM_N_ARCH; a++)
    if (f->models[a].net)
      mm_json_add_string (b, mm_arch_name ((MmArch) a), f->models[a].path);
  json_builder_end_object (b);
  if (!predict_all (f))
    return FALSE;
  stage (f, "data and predictions");
  return figure4 (f, nets) && figure5 (f, nets) && stage (f, "figures 4-5")
      && embedding_figure (f, 6, nets[0], image_only, 1) && stage (f, "figure 6")
      && embedding_figure (f, 7, nets[1], audio_only, 1) && stage (f, "figure 7")
      && embedding_figure (f, 8, nets[2], hybrid, 3) && stage (f, "figure 8")
      && robustness (f, &mfcc) && stage (f, "robustness")
      && calibration (f) && confusion (f) && stage (f, "calibration and confusion");
}

int
mm_cmd_figures (int argc, char **argv)
{
  char *out = NULL, *models = NULL, *data_opt = NULL, *roles[N_ROLES] = { NULL };
  int threads = 0, tsne_samples = 2000, samples = 0, robust_samples = 2000;
  GOptionEntry entries[] = {
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Directory for the PNG and SVG files and figures.json (made if missing)", "DIR" },
    { "models", 'm', 0, G_OPTION_ARG_FILENAME, &models, "Directory of model files, at most one per network (default: the shipped models)", "DIR" },
    { "image", 0, 0, G_OPTION_ARG_FILENAME, &roles[ROLE_IMAGE], "The image network of Figures 4–6 (an ImageNet_CNN; default: the one in --models)", "FILE" },
    { "audio", 0, 0, G_OPTION_ARG_FILENAME, &roles[ROLE_AUDIO], "The audio network of Figures 4, 5, 7 (AudioNet_CNN or AudioNet_LSTM)", "FILE" },
    { "hybrid", 0, 0, G_OPTION_ARG_FILENAME, &roles[ROLE_HYBRID], "The hybrid network of Figures 4, 5, 8 (HybridNet_CNN or HybridNet_CNN_LSTM)", "FILE" },
    MM_CLI_DATA_ENTRY (data_opt),
    { "tsne-samples", 0, 0, G_OPTION_ARG_INT, &tsne_samples, "Held-out samples in Figures 6–8 (default 2000)", "N" },
    { "robustness-samples", 0, 0, G_OPTION_ARG_INT, &robust_samples, "Held-out samples in the robustness curves (default 2000)", "N" },
    { "samples", 0, 0, G_OPTION_ARG_INT, &samples, "Use only the first N held-out and split-test samples (default: all; for quick runs)", "N" },
    MM_CLI_THREADS_ENTRY (threads),
    { NULL }
  };
  const MmCliRange ranges[] = {
    { "tsne-samples", 50, 1e6, FALSE },
    { "robustness-samples", 1, 1e6, FALSE },
    { "samples", 0, 1e7, FALSE },
    MM_CLI_THREADS_RANGE,
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new ("- draw the study's figures");
  Figures f = { 0 };
  gint64 t0 = g_get_monotonic_time ();
  int rc = MM_EXIT_FAILURE;
  char *model_dir = NULL;

  mm_cli_add_entries (ctx, entries, ranges);
  g_option_context_set_summary (ctx, "Figures 4–8 of the study, robustness curves, calibration "
      "and confusion heat maps on the clean protocol, as PNG and SVG, with figures.json.");
  if (!mm_cli_parse (ctx, &argc, &argv)) {
    rc = MM_EXIT_USAGE;
    goto out;
  }
  if (!out || argc > 1) {
    fprintf (stderr, "mmdigits: figures needs --out DIR%s (see --help)\n",
        argc > 1 ? " and no other arguments" : "");
    rc = MM_EXIT_USAGE;
    goto out;
  }
  mm_cli_set_threads (threads);
  f.out = out;
  f.tsne_samples = tsne_samples;
  f.robust_samples = robust_samples;
  model_dir = mm_cli_model_path (models);
  if (!check_out_dir (out, &f.error) || !load_models (&f, model_dir, roles, &f.error)) {
    rc = mm_cli_fail ("%s", f.error->message);
    goto out;
  }
  if (!(f.data_dir = mm_cli_data_dir (data_opt)))
    goto out;
  f.json = json_builder_new ();
  f.files = json_builder_new ();
  json_builder_begin_object (f.files);
  f.timings = json_builder_new ();
  json_builder_begin_object (f.timings);
  f.stage_start = t0;
  f.stage_cpu = cpu_seconds ();
  f.sample_limit = samples;
  if (!run (&f)) {
    rc = mm_cli_fail ("%s", f.error ? f.error->message : "figures failed");
    goto out;
  }
  json_builder_end_object (f.files);
  if (!write_json (&f, (g_get_monotonic_time () - t0) / 1e6, &f.error)) {
    rc = mm_cli_fail ("%s", f.error->message);
    goto out;
  }
  printf ("figures in %s (%.1f s)\n", out, (g_get_monotonic_time () - t0) / 1e6);
  rc = MM_EXIT_OK;
out:
  figures_clear (&f);
  g_free (model_dir);
  g_free (out);
  g_free (models);
  g_free (data_opt);
  for (int r = 0; r < N_ROLES; r++)
    g_free (roles[r]);
  g_option_context_free (ctx);
  return rc;
}
