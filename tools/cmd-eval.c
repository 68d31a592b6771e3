/* mmdigits eval — accuracy, macro F1, calibration error and confusion
 * matrix of a model file; with --protocol new-speaker, the speaker-disjoint
 * folds of several models at once; with --ensemble, the mean of several
 * networks' calibrated probabilities (mm_scores_mean). --snr mixes noise
 * into the recordings of the set the protocol reports, --limit takes only
 * the first samples. */

/* The noise of --snr: recording r's is drawn from stream (NOISE_SEED, r). */
#define NOISE_SEED 2026
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "degrade.h"
#include "mm-cli.h"
#include "mm-error.h"
#include "mm-file.h"
#include "mm-json.h"
#include "mm-metrics.h"
#include "mm-modelfile.h"
#include "mm-modelset.h"
#include "mm-threads.h"

/* A network scored by eval: the one --model, or one of --ensemble's. */
typedef struct {
  const char *path;
  MmModelSet *set;
  const MmModel *model;       /* owned by @set */
  MmScores test, heldout;     /* its own scores (--ensemble) */
} Member;

static void
print_confusion (const char *title, const MmScores *sc)
{
  const MmConfusion *c = &sc->conf;
  printf ("%s: %d samples, accuracy %.2f%%, macro F1 %.4f, ECE %.2f%% (%d bins)\n", title, c->n,
      100 * mm_confusion_accuracy (c), mm_confusion_macro_f1 (c), 100 * sc->ece, MM_ECE_BINS);
  printf ("  truth\\pred");
  for (int k = 0; k < MM_N_CLASSES; k++)
    printf (" %5d", k);
  printf ("\n");
  for (int t = 0; t < MM_N_CLASSES; t++) {
    printf ("  %10d", t);
    for (int k = 0; k < MM_N_CLASSES; k++)
      printf (" %5d", c->confusion[t][k]);
    printf ("\n");
  }
}

static void
add_confusion (JsonBuilder *b, const char *name, const MmScores *sc)
{
  const MmConfusion *c = &sc->conf;
  mm_json_begin_object (b, name);
  mm_json_add_double (b, "ece", sc->ece);
  mm_json_add_int (b, "samples", c->n);
  mm_json_add_double (b, "accuracy", mm_confusion_accuracy (c));
  mm_json_add_double (b, "macro_f1", mm_confusion_macro_f1 (c));
  mm_json_begin_array (b, "confusion");
  for (int t = 0; t < MM_N_CLASSES; t++) {
    json_builder_begin_array (b);
    for (int k = 0; k < MM_N_CLASSES; k++)
      json_builder_add_int_value (b, c->confusion[t][k]);
    json_builder_end_array (b);
  }
  json_builder_end_array (b);
  json_builder_end_object (b);
}

/* --snr, --noise, --limit and the test-time views. */
typedef struct {
  double snr;        /* NAN: clean recordings */
  MmNoiseKind noise;
  int limit;         /* 0: every sample */
  MmMfccParams fe;   /* the model's front end, its views replaced by --tta's */
  gboolean viewed;   /* an audio model scored with views (fe.n_views > 0) */
  double below;      /* --image-decides-below: the pair rule; 0: the mean */
} Conditions;

/* What the protocol's two scored sets are called (JSON keys, the sets of
 * --predictions, the tables' titles): "writers-val" and "voices-cal" score
 * the validation split, which must never pass for a test. */
typedef struct {
  const char *test_key, *heldout_key, *test_name, *heldout_name, *test_title, *heldout_title;
} SetNames;

static SetNames
set_names (const MmSplits *splits, const Conditions *cond)
{
  const char *val_title = cond->limit ? "validation split (its first samples; --limit)"
      : "validation split (9,000 of the 60,000 training samples, never trained on; it chose the "
        "epoch and the temperature)";

  if (splits->on_validation && splits->validation_voices)
    return (SetNames) { "validation", "validation_voices", "validation split",
      "validation split with the calibration voices", val_title,
      "validation split's images with the calibration part of the unheard voices (a set that "
      "chooses, not a test)" };
  if (splits->on_validation)
    return (SetNames) { "validation", "validation_writers", "validation split",
      "changed validation split", val_title,
      "validation split changed as new writers' (a set that chooses, not a test)" };
  return (SetNames) { "split_test", "heldout_test", "split test", "held-out test",
    cond->limit ? "split test (its first samples; --limit)"
    : "split test (9,000 of the 60,000 training samples, never trained on)", "held-out test" };
}

/* --ensemble's members: each one's file, arch, temperature and scores. */
static void
add_members (JsonBuilder *b, const Member *members, int n, const SetNames *names,
    gboolean test, gboolean heldout)
{
  mm_json_begin_array (b, "ensemble");
  for (int m = 0; m < n; m++) {
    json_builder_begin_object (b);
    mm_json_add_string (b, "model", members[m].path);
    mm_json_add_string (b, "arch", mm_arch_name (members[m].model->arch));
    mm_json_add_double (b, "temperature", mm_net_temperature (members[m].model->net));
    if (test)
      add_confusion (b, names->test_key, &members[m].test);
    if (heldout)
      add_confusion (b, names->heldout_key, &members[m].heldout);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
}

/* What was scored: one model, or (@n > 1) the mean of --ensemble's,
 * named "A + B". */
static char *
scored_name (const Member *members, int n, gboolean arch)
{
  GString *s = g_string_new (NULL);

  for (int m = 0; m < n; m++)
    g_string_append_printf (s, "%s%s", m ? " + " : "",
        arch ? mm_arch_name (members[m].model->arch) : members[m].path);
  return g_string_free (s, FALSE);
}

/* @test or @heldout NULL: not scored. */
static void
print_json (const Member *members, int n, const char *protocol, const Conditions *cond,
    const SetNames *names, const MmScores *test, const MmScores *heldout)
{
  JsonBuilder *b = json_builder_new ();
  g_autofree char *model = scored_name (members, n, FALSE);
  g_autofree char *arch = scored_name (members, n, TRUE);

  json_builder_begin_object (b);
  mm_json_add_string (b, "model", model);
  mm_json_add_string (b, "arch", arch);
  if (n > 1) {
    mm_json_add_string (b, "combination", cond->below > 0 ? "the image network where the "
        "hybrid is unsure (the pair rule)" : "mean of the calibrated probabilities");
    if (cond->below > 0)
      mm_json_add_double (b, "image_decides_below", cond->below);
    add_members (b, members, n, names, test != NULL, heldout != NULL);
  }
  mm_json_add_string (b, "protocol", protocol);
  if (!isnan (cond->snr)) {
    mm_json_add_string (b, "noise", mm_noise_kind_name (cond->noise));
    mm_json_add_double (b, "snr_db", cond->snr);
  }
  if (cond->limit)
    mm_json_add_int (b, "limit", cond->limit);
  if (cond->viewed) {
    g_autofree char *views = mm_mfcc_views_to_string (&cond->fe);
    mm_json_add_string (b, "tta", views);
  }
  if (test)
    add_confusion (b, names->test_key, test);
  if (heldout)
    add_confusion (b, names->heldout_key, heldout);
  json_builder_end_object (b);
  mm_cli_print_json (b);
}

/* --predictions' file: its lines, and whether they carry every class's
 * probability (--probabilities). */
typedef struct {
  GString *lines;
  gboolean probs;
} Tsv;

/* The file @ds's sample @i heard (the recording its clip, noisy or not,
 * was made from), or "-" when the set does not know it. */
static const char *
recording_of (const MmDataset *ds, int i)
{
  return ds->wave && ds->waves && ds->waves->names && ds->waves->names[ds->wave[i]]
      ? ds->waves->names[ds->wave[i]] : "-";
}

/* One line per sample of @sc into @tsv (NULL: none); with @ds's word
 * scores (audio), a sixth column: the score in dB, "nan" where the
 * detector found no word, and a seventh: the recording (a sample's weight
 * in a figure is how often its recording repeats: scripts/ece-bootstrap.py
 * resamples recordings); then, with --probabilities, the ten calibrated
 * probabilities (in exponent notation: refitting a temperature takes their
 * logarithms, the small ones too). */
static void
append_tsv (Tsv *tsv, const char *name, const MmDataset *ds, const MmScores *sc)
{
  for (int i = 0; tsv && i < sc->n; i++) {
    const float *p = sc->probs + (size_t) i * MM_N_CLASSES;

    g_string_append_printf (tsv->lines, "%s\t%d\t%d\t%d\t%.6f", name, i, ds->labels[i],
        sc->pred[i], p[sc->pred[i]]);
    if (ds->score && isnan (ds->score[i]))
      g_string_append (tsv->lines, "\tnan");
    else if (ds->score)
      g_string_append_printf (tsv->lines, "\t%.2f", ds->score[i]);
    if (ds->score)
      g_string_append_printf (tsv->lines, "\t%s", recording_of (ds, i));
    for (int k = 0; tsv->probs && k < MM_N_CLASSES; k++)
      g_string_append_printf (tsv->lines, "\t%.6e", p[k]);
    g_string_append_c (tsv->lines, '\n');
  }
}

/* @ds (raw features) scored by one network as it decides: with @n_views
 * test-time views (@views: sets from mm_degrade_views or
 * mm_degrade_audio), softmax(the mean of the logits of each sample's block
 * and of its views' blocks / T); without, its blocks alone
 * (mm_net_score_views). Into @out; @tsv (may be NULL) gets one line per
 * sample, in the protocol's fixed order, so files of different models line
 * up. Normalises @ds and @views in place. Fails, naming @path, when the
 * network's outputs are not finite. */
static gboolean
score_views (MmNet *net, const char *path, MmDataset *ds, MmDataset **views, int n_views,
    const char *name, MmScores *out, Tsv *tsv, GError **error)
{
  MmDataset *sets[1 + MM_MFCC_MAX_VIEWS] = { ds };

  for (int v = 0; v <= n_views; v++) {
    if (v)
      sets[v] = views[v - 1];
    mm_dataset_normalize (sets[v], mm_net_norm (net));
  }
  if (!mm_net_score_views (net, sets, 1 + n_views, out, error)) {
    g_prefix_error (error, "%s: %s: ", path, name);
    return FALSE;
  }
  append_tsv (tsv, name, ds, out);
  return TRUE;
}

static void
free_views (MmDataset **views, int n)
{
  for (int v = 0; v < n; v++)
    g_clear_pointer (&views[v], mm_dataset_free);
}

/* A copy of @ds's images and labels alone. */
static MmDataset *
images_of (const MmDataset *ds)
{
  MmDataset *copy = mm_dataset_new (ds->n, TRUE, FALSE);

  memcpy (copy->image, ds->image, (size_t) ds->n * MM_IMAGE_PIXELS * sizeof *ds->image);
  memcpy (copy->labels, ds->labels, (size_t) ds->n * sizeof *ds->labels);
  return copy;
}

/* One --ensemble member's scores of a copy of @ds and of its @n_views
 * views (score_views at the member's own norm; @ds is left raw for the
 * others). An image network beside a hybrid scores the pairs' images
 * alone, without views (they are the recordings'). */
static gboolean
score_copy (Member *member, const MmDataset *ds, MmDataset **views, int n_views,
    const char *name, MmScores *sc, GError **error)
{
  gboolean hears = mm_arch_uses_audio (member->model->arch);
  MmDataset *copy = hears ? mm_dataset_head (ds, ds->n) : images_of (ds);
  MmDataset *vcopy[MM_MFCC_MAX_VIEWS] = { NULL };
  gboolean ok;

  if (!hears)
    n_views = 0;
  for (int v = 0; v < n_views; v++)
    vcopy[v] = mm_dataset_head (views[v], views[v]->n);
  ok = score_views (member->model->net, member->path, copy, vcopy, n_views, name, sc, NULL,
      error);
  mm_dataset_free (copy);
  free_views (vcopy, n_views);
  return ok;
}

/* --protocol new-speaker: each model was trained on one fold
 * ("new-speaker:K" in its provenance) and is scored on that fold's unheard
 * speakers; prints every fold, the mean and the worst. */
static int
eval_folds (char **models, const char *data_dir, gboolean json)
{
  double acc[MM_PROTOCOL_FOLDS + 1] = { 0 }, ece[MM_PROTOCOL_FOLDS + 1] = { 0 };
  gboolean seen[MM_PROTOCOL_FOLDS + 1] = { FALSE };
  GString *out = g_string_new (NULL);
  int n = 0, rc = MM_EXIT_FAILURE;
  double sum = 0, worst = 1;

  if (json)
    g_string_append (out, "{\"protocol\":\"new-speaker\",\"folds\":[");
  for (char **m = models; *m; m++) {
    MmSplits splits = { 0 };
    GError *error = NULL;
    MmScores sc = { 0 };
    const MmModel *model = NULL;
    MmModelSet *set = mm_cli_open_model (*m, "eval", &model, &error);
    MmNet *net = set ? model->net : NULL;
    char *protocol = net ? mm_cli_recorded_protocol (model->meta) : NULL;
    int fold = protocol ? mm_protocol_fold (protocol) : 0;
    int n_views = net && mm_arch_uses_audio (model->arch) ? model->frontend.n_views : 0;
    MmDataset *views[MM_MFCC_MAX_VIEWS] = { NULL };
    gboolean ok = net && fold && !seen[fold]
        && mm_protocol_load (model->arch, protocol, &model->frontend, data_dir, NULL, FALSE,
            n_views > 0, &splits, &error)
        && (!n_views || mm_degrade_views (splits.heldout, &model->frontend, views, &error));

    /* a fold model with test-time views is scored with them, as it decides */
    if (ok)
      ok = score_views (net, *m, splits.heldout, views, n_views, "heldout_test", &sc, NULL,
          &error);
    free_views (views, n_views);
    if (ok) {
      seen[fold] = TRUE;
      acc[fold] = mm_confusion_accuracy (&sc.conf);
      ece[fold] = sc.ece;
      sum += acc[fold];
      worst = MIN (worst, acc[fold]);
      n++;
      if (json) {
        g_string_append_printf (out, "%s{\"fold\":%d,\"model\":", n > 1 ? "," : "", fold);
        mm_cli_json_string (out, *m);
        g_string_append_printf (out, ",\"arch\":\"%s\",\"accuracy\":%.6f,\"macro_f1\":%.6f,"
            "\"ece\":%.6f}", mm_arch_name (mm_net_arch (net)), acc[fold],
            mm_confusion_macro_f1 (&sc.conf), ece[fold]);
      } else
        printf ("fold %d  %-40s %s  unheard speakers %.2f%%  macro F1 %.4f  ECE %.2f%%\n", fold, *m,
            mm_arch_name (mm_net_arch (net)), 100 * acc[fold], mm_confusion_macro_f1 (&sc.conf),
            100 * ece[fold]);
    } else if (!error) {
      mm_cli_fail ("%s: %s", *m, !net ? "cannot be loaded" : !fold
          ? "was not trained on a new-speaker:K fold (see its provenance); train one with "
            "'mmdigits train --protocol new-speaker:K'" : "a second model for the same fold");
    } else {
      mm_cli_fail ("%s", error->message);
    }
    g_clear_error (&error);
    mm_scores_clear (&sc);
    g_free (protocol);
    mm_splits_clear (&splits);
    mm_model_set_free (set);
    if (!ok)
      goto out;
  }
  if (json) {
    g_string_append_printf (out, "],\"folds_given\":%d,\"folds_total\":%d,\"mean_accuracy\":%.6f,"
        "\"min_accuracy\":%.6f}", n, MM_PROTOCOL_FOLDS, sum / n, worst);
    printf ("%s\n", out->str);
  } else {
    printf ("unheard speakers over %d of %d folds: mean %.2f%%, worst fold %.2f%%\n", n,
        MM_PROTOCOL_FOLDS, 100 * sum / n, 100 * worst);
  }
  rc = MM_EXIT_OK;
out:
  g_string_free (out, TRUE);
  return rc;
}

/* The first @limit samples of *@ds (0: all), in place. */
static void
limit_set (MmDataset **ds, int limit)
{
  MmDataset *sub;

  if (!*ds || !limit || limit >= (*ds)->n)
    return;
  sub = mm_dataset_head (*ds, limit);
  mm_dataset_free (*ds);
  *ds = sub;
}

/* The pair rule (mm-modelset.h) over a set: sample by sample the image
 * network's row where the hybrid's is below @below (mm_pair_defers, as
 * mm_model_set_classify decides), else the hybrid's. Fills @out. */
static void
scores_defer (const MmScores *hybrid, const MmScores *image, double below, const int *labels,
    MmScores *out)
{
  int n = hybrid->n;
  float *probs = g_new (float, (size_t) MAX (n, 1) * MM_N_CLASSES);

  for (int i = 0; i < n; i++) {
    const float *row = hybrid->probs + (size_t) i * MM_N_CLASSES;

    if (mm_pair_defers (row, below))
      row = image->probs + (size_t) i * MM_N_CLASSES;
    memcpy (probs + (size_t) i * MM_N_CLASSES, row, sizeof (float) * MM_N_CLASSES);
  }
  mm_scores_of_probs (probs, n, labels, out);
}

/* Scores @ds (raw features; with @n_views test-time views @views, as the
 * members decide) with the @n members, into @out: one member normalises
 * @ds (and @views) in place and scores it (its scores are @out); several
 * score a copy each, normalised with their own norm, into their @which
 * scores (0: test, 1: held-out), and @out is the mean of their calibrated
 * probabilities (with @below > 0, a hybrid and an image network: the pair
 * rule, scores_defer). @tsv gets @out's lines. */
static gboolean
score_set (Member *members, int n, MmDataset *ds, MmDataset **views, int n_views,
    double below, const char *name, int which, MmScores *out, Tsv *tsv, GError **error)
{
  MmScores *parts;

  if (n == 1)
    return score_views (members[0].model->net, members[0].path, ds, views, n_views, name, out,
        tsv, error);
  parts = g_new0 (MmScores, n);
  for (int m = 0; m < n; m++)
    if (!score_copy (&members[m], ds, views, n_views, name, &parts[m], error)) {
      for (int j = 0; j < m; j++)
        mm_scores_clear (&parts[j]);
      g_free (parts);
      return FALSE;
    }
  if (below > 0)
    scores_defer (&parts[0], &parts[1], below, ds->labels, out);
  else
    mm_scores_mean (parts, n, ds->labels, out);
  append_tsv (tsv, name, ds, out);
  for (int m = 0; m < n; m++) {
    MmScores *keep = which ? &members[m].heldout : &members[m].test;
    mm_scores_clear (keep);
    *keep = parts[m];
  }
  g_free (parts);
  return TRUE;
}

/* --ensemble: opens every model into @members; they must serve one role
 * (or, after a hybrid first, the image role too: the set's pair partner,
 * mm-modelset.h) and, when they hear audio, share one front end (the
 * features are made once, with the first's). Fails naming the file. */
static gboolean
open_members (char **models, Member *members, int n, GError **error)
{
  for (int m = 0; m < n; m++) {
    const MmModel *first;
    char *what = NULL;
    MmRole role;

    members[m].path = models[m];
    if (!(members[m].set = mm_cli_open_model (models[m], "eval", &members[m].model, error)))
      return FALSE;
    first = members[0].model;
    role = mm_role_of_arch (members[m].model->arch);
    if (role != mm_role_of_arch (first->arch)
        && !(role == MM_ROLE_IMAGE && mm_role_of_arch (first->arch) == MM_ROLE_HYBRID)) {
      g_set_error (error, MM_ERROR, MM_ERROR_MISMATCH, "--ensemble: %s (%s) and %s (%s) do "
          "not take the same inputs (an image network may join a hybrid given first)",
          models[0], mm_arch_name (first->arch), models[m],
          mm_arch_name (members[m].model->arch));
      return FALSE;
    }
    if (mm_arch_uses_audio (members[m].model->arch)
        && !mm_mfcc_params_equal (&first->frontend, &members[m].model->frontend, &what)) {
      g_set_error (error, MM_ERROR, MM_ERROR_MISMATCH, "--ensemble: %s and %s were trained "
          "on different audio front ends (%s)", models[0], models[m], what);
      g_free (what);
      return FALSE;
    }
  }
  return TRUE;
}

/* --limit, then --snr's noise into the recordings of the set the protocol
 * reports (the held-out test; the split test for "paper", which has none),
 * the babble from the split test's recordings (training voices). Before
 * normalisation: the MFCC are made anew from the noisy clips with the
 * model's front end. With views (cond->viewed), @views receives the
 * reported set's views' blocks, of the noisy clips with --snr. @scores:
 * the noisy clips' word scores are wanted (--predictions). */
static gboolean
apply_conditions (MmSplits *splits, const Conditions *cond, gboolean scores, MmDataset **views,
    GError **error)
{
  MmDataset *reported;
  GArray *pool;
  MmRng rng;
  gboolean ok;

  limit_set (&splits->test, cond->limit);
  limit_set (&splits->heldout, cond->limit);
  reported = splits->heldout ? splits->heldout : splits->test;
  if (isnan (cond->snr))
    return !cond->viewed || mm_degrade_views (reported, &cond->fe, views, error);
  /* the pool's shuffle has a stream of its own, apart from every sample's */
  mm_rng_seed (&rng, NOISE_SEED ^ 0xbab, 0);
  pool = mm_degrade_babble_pool (splits->test, &rng);
  ok = mm_degrade_audio (reported, cond->noise, cond->snr, pool, &cond->fe, NOISE_SEED, scores,
      cond->viewed ? views : NULL, error);
  g_array_unref (pool);
  return ok;
}

/* mm_file_check_output for --predictions against the files of @model if
 * given (a directory holding one model: its files), else against the
 * files of @data_dir. */
static gboolean
check_predictions (const char *path, const char *model, const char *data_dir, GError **error)
{
  char **inputs = model ? mm_cli_model_files (model) : mm_protocol_input_files (data_dir, NULL);
  gboolean ok;

  ok = mm_file_check_output ("--predictions", path, (const char *const *) inputs, error);
  g_strfreev (inputs);
  return ok;
}

/* --ensemble's header: what is averaged, and each member alone on the
 * same samples (the tables below are the mean's). */
static void
print_members (const Member *members, int n, const char *protocol, double below,
    const SetNames *names, gboolean test, gboolean heldout)
{
  if (below > 0)
    printf ("the hybrid, and the image network where the hybrid is less than %g sure (the pair "
        "rule, --image-decides-below; protocol %s):\n", below, protocol);
  else
    printf ("mean of the calibrated probabilities of %d networks (--ensemble, protocol %s):\n",
        n, protocol);
  for (int m = 0; m < n; m++) {
    printf ("  %s (%s, temperature %g)", members[m].path,
        mm_arch_name (members[m].model->arch), mm_net_temperature (members[m].model->net));
    if (test)
      printf ("  %s %.2f%% ECE %.2f%%", names->test_name,
          100 * mm_confusion_accuracy (&members[m].test.conf), 100 * members[m].test.ece);
    if (heldout)
      printf ("  %s %.2f%% ECE %.2f%%", names->heldout_name,
          100 * mm_confusion_accuracy (&members[m].heldout.conf), 100 * members[m].heldout.ece);
    printf ("\n");
  }
}

int
mm_cmd_eval (int argc, char **argv)
{
  char **models = NULL, *data_opt = NULL, *data_dir = NULL, *protocol = NULL;
  char *pred_path = NULL, *noise = NULL, *tta = NULL;
  int threads = 0, n_members = 0;
  gboolean json = FALSE, ensemble = FALSE, all_probs = FALSE;
  Conditions cond = { .snr = NAN, .noise = MM_NOISE_WHITE, .limit = 0 };
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME_ARRAY, &models, "Model file (.safetensors); "
      "one per fold, repeated, with --protocol new-speaker; two or more with --ensemble", "FILE" },
    { "ensemble", 0, 0, G_OPTION_ARG_NONE, &ensemble, "Score the mean of the calibrated "
      "probabilities of the --model files (each at its own temperature and norm; one role, "
      "one front end; image networks may join a hybrid given first, scoring the pairs' "
      "images), and each of them on the same samples", NULL },
    MM_CLI_DATA_ENTRY (data_opt),
    { "protocol", 'p', 0, G_OPTION_ARG_STRING, &protocol, "paper, clean, voices, voices-cal, "
      "voices-test, writers, writers:KIND, writers-val[:KIND], new-speaker:K, new-speaker:NAME (default: the model's, else clean), or "
      "new-speaker (every fold model given)", "NAME" },
    { "snr", 0, 0, G_OPTION_ARG_DOUBLE, &cond.snr, "Mix --noise into the held-out test's "
      "recordings (paper: the split test's) at DB speech-to-noise ratio (speech power over the "
      "recording's span)", "DB" },
    { "noise", 0, 0, G_OPTION_ARG_STRING, &noise, "The noise of --snr: white (default), pink, "
      "babble (6 talkers' words of the split test's recordings, training voices, centred as the "
      "word is) or crowd (the same talkers speaking without pause)", "KIND" },
    { "image-decides-below", 0, 0, G_OPTION_ARG_DOUBLE, &cond.below, "With --ensemble of a "
      "hybrid and an image network: score the pair rule (a roles file's image_decides_below) "
      "instead of the mean: the image network decides where the hybrid's confidence is below "
      "P", "P" },
    { "limit", 0, 0, G_OPTION_ARG_INT, &cond.limit, "Only the first N samples of each set", "N" },
    { "tta", 0, 0, G_OPTION_ARG_STRING, &tta, "Test-time views of the held-out test's "
      "recordings (paper: the split test's) in place of the model's own (its front end's "
      "views, used without this option), e.g. speed:0.9,speed:1.1 or vtlp:0.9,vtlp:1.1 (played F "
      "times faster; mel filters warped by A; at most 4), or none: each sample scores the "
      "softmax of the mean of the logits of its block and its views'. One model", "VIEWS" },
    MM_CLI_THREADS_ENTRY (threads),
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON instead of tables", NULL },
    { "predictions", 0, 0, G_OPTION_ARG_FILENAME, &pred_path,
      "Write every sample's prediction to FILE.tsv (set, index, label, predicted, confidence; "
      "with audio, the word detector's score of its recording in dB, of the noisy clip with "
      "--snr)", "FILE" },
    { "probabilities", 0, 0, G_OPTION_ARG_NONE, &all_probs, "With --predictions: ten more "
      "columns, p0 … p9, every class's calibrated probability", NULL },
    { NULL }
  };
  const MmCliRange ranges[] = {
    MM_CLI_THREADS_RANGE,
    { "snr", -30, 100, FALSE },
    { "limit", 1, G_MAXINT, FALSE },
    { "image-decides-below", 0, 1, FALSE },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new ("- evaluate a model");
  MmSplits splits = { 0 };
  Member *members = NULL;
  const MmModel *model;
  MmScores test = { 0 }, heldout = { 0 };
  Tsv tsv = { NULL, FALSE }, *pred_tsv = NULL;
  MmDataset *views[MM_MFCC_MAX_VIEWS] = { NULL };
  GError *error = NULL;
  SetNames names;
  gboolean folds, split_scored;
  int rc = MM_EXIT_FAILURE;

  mm_cli_add_entries (ctx, entries, ranges);
  if (!mm_cli_parse (ctx, &argc, &argv)) {
    rc = MM_EXIT_USAGE;
    goto out;
  }
  if (!models || !models[0]) {
    fprintf (stderr, "mmdigits: eval needs --model (see --help)\n");
    rc = MM_EXIT_USAGE;
    goto out;
  }
  folds = protocol && !strcmp (protocol, "new-speaker");
  if (protocol && !folds && !mm_protocol_check (protocol, &error)) {
    fprintf (stderr, "mmdigits: %s\n", error->message);
    rc = MM_EXIT_USAGE;
    goto out;
  }
  if (ensemble && (folds || !models[1])) {
    fprintf (stderr, "mmdigits: %s\n", folds ? "--ensemble scores one protocol's sets, not "
        "--protocol new-speaker (give -p new-speaker:K and fold K's models)"
        : "--ensemble needs two --model or more");
    rc = MM_EXIT_USAGE;
    goto out;
  }
  if (models[1] && !folds && !ensemble) {
    fprintf (stderr, "mmdigits: several --model only with --protocol new-speaker or --ensemble\n");
    rc = MM_EXIT_USAGE;
    goto out;
  }
  if (noise && (isnan (cond.snr) || !mm_noise_kind_parse (noise, &cond.noise))) {
    fprintf (stderr, "mmdigits: %s\n", isnan (cond.snr) ? "--noise needs --snr"
        : "--noise: white, pink, babble or crowd");
    rc = MM_EXIT_USAGE;
    goto out;
  }
  if (tta && (folds || ensemble)) {
    fprintf (stderr, "mmdigits: --tta takes one model (not --protocol new-speaker or "
        "--ensemble)\n");
    rc = MM_EXIT_USAGE;
    goto out;
  }
  /* checked before any model is read; applied to the model's front end below */
  mm_mfcc_params_init (&cond.fe);
  if (tta && !mm_mfcc_views_from_string (tta, &cond.fe, &error)) {
    fprintf (stderr, "mmdigits: --tta: %s\n", error->message);
    rc = MM_EXIT_USAGE;
    goto out;
  }
  if (folds && (!isnan (cond.snr) || cond.limit)) {
    fprintf (stderr, "mmdigits: --snr and --limit take one model, not --protocol new-speaker\n");
    rc = MM_EXIT_USAGE;
    goto out;
  }
  if (all_probs && !pred_path) {
    fprintf (stderr, "mmdigits: --probabilities needs --predictions\n");
    rc = MM_EXIT_USAGE;
    goto out;
  }
  if (folds && pred_path) {
    fprintf (stderr, "mmdigits: --predictions takes one model, not --protocol new-speaker\n");
    rc = MM_EXIT_USAGE;
    goto out;
  }
  /* --predictions is written at the end: it fails before the work, and
   * never replaces the model or (below) a data file */
  for (char **m = models; pred_path && *m; m++)
    if (!check_predictions (pred_path, *m, NULL, &error)) {
      rc = mm_cli_fail ("%s", error->message);
      goto out;
    }
  mm_cli_set_threads (threads);
  if (folds) {
    if ((data_dir = mm_cli_data_dir (data_opt)))
      rc = eval_folds (models, data_dir, json);
    goto out;
  }
  n_members = g_strv_length (models);
  members = g_new0 (Member, n_members);
  if (!open_members (models, members, n_members, &error)) {
    rc = mm_cli_fail ("%s", error->message);
    goto out;
  }
  /* the features are made with the first's front end: the members share it */
  model = members[0].model;
  if (cond.below > 0 && (n_members != 2 || mm_role_of_arch (model->arch) != MM_ROLE_HYBRID
          || mm_role_of_arch (members[1].model->arch) != MM_ROLE_IMAGE)) {
    g_autofree char *given = scored_name (members, n_members, TRUE);

    rc = mm_cli_fail ("--image-decides-below: give --ensemble a hybrid and then an image "
        "network (not %s)", given);
    goto out;
  }
  if ((!isnan (cond.snr) || tta) && !mm_arch_uses_audio (model->arch)) {
    rc = mm_cli_fail ("%s: %s: %s hears no audio", models[0], tta ? "--tta" : "--snr",
        mm_arch_name (model->arch));
    goto out;
  }
  if (mm_arch_uses_audio (model->arch)) {
    cond.fe = model->frontend;
    if (tta)
      mm_mfcc_views_from_string (tta, &cond.fe, NULL);   /* checked above */
    cond.viewed = cond.fe.n_views > 0;
  }
  if (!protocol && !(protocol = mm_cli_recorded_protocol (model->meta)))
    protocol = g_strdup (MM_DEFAULT_PROTOCOL);
  if (!(data_dir = mm_cli_data_dir (data_opt)))
    goto out;
  if (pred_path && !check_predictions (pred_path, NULL, data_dir, &error)) {
    rc = mm_cli_fail ("%s", error->message);
    goto out;
  }
  /* the features are made as the model was trained on them; the clips
   * come too for --snr (the noise is mixed into them) and for
   * --predictions' word scores */
  if (!mm_protocol_load (model->arch, protocol, &model->frontend, data_dir, NULL, FALSE,
          !isnan (cond.snr) || cond.viewed || (pred_path && mm_arch_uses_audio (model->arch)),
          &splits, &error)
      || !apply_conditions (&splits, &cond, pred_path != NULL, views, &error)) {
    rc = mm_cli_fail ("%s", error->message);
    goto out;
  }
  /* with --snr (views) the noise (the views) is in the held-out set alone:
   * the split test would only repeat the plain figure, so it is not scored */
  split_scored = (isnan (cond.snr) && !cond.viewed) || !splits.heldout;
  names = set_names (&splits, &cond);
  /* each model's stored norm (training-set statistics), never recomputed */
  if (pred_path) {
    pred_tsv = &tsv;
    tsv.probs = all_probs;
    tsv.lines = g_string_new ("set\tindex\tlabel\tpredicted\tconfidence");
    if (mm_arch_uses_audio (model->arch))
      g_string_append (tsv.lines, "\tscore\trecording");
    for (int k = 0; all_probs && k < MM_N_CLASSES; k++)
      g_string_append_printf (tsv.lines, "\tp%d", k);
    g_string_append_c (tsv.lines, '\n');
  }
  /* with views only the reported set is scored (split_scored is FALSE then,
   * unless the protocol has no held-out set: the split test is reported) */
  if ((split_scored && !score_set (members, n_members, splits.test,
          splits.heldout ? NULL : views, splits.heldout ? 0 : cond.fe.n_views, cond.below,
          names.test_key, 0, &test, pred_tsv, &error))
      || (splits.heldout && !score_set (members, n_members, splits.heldout, views,
          cond.fe.n_views, cond.below, names.heldout_key, 1, &heldout, pred_tsv, &error))) {
    rc = mm_cli_fail ("%s", error->message);
    goto out;
  }
  /* g_file_set_contents writes a temporary and renames it */
  if (pred_tsv && !g_file_set_contents (pred_path, tsv.lines->str, (gssize) tsv.lines->len,
          &error)) {
    rc = mm_cli_fail ("%s", error->message);
    goto out;
  }
  if (json) {
    print_json (members, n_members, protocol, &cond, &names, split_scored ? &test : NULL,
        splits.heldout ? &heldout : NULL);
  } else {
    if (n_members > 1)
      print_members (members, n_members, protocol, cond.below, &names, split_scored, splits.heldout != NULL);
    else
      printf ("%s (%s, protocol %s, temperature %g)\n", models[0], mm_arch_name (model->arch),
          protocol, mm_net_temperature (model->net));
    if (cond.viewed) {
      g_autofree char *v = mm_mfcc_views_to_string (&cond.fe);
      printf ("the %s's recordings and their views %s (the mean of the logits)\n",
          splits.heldout ? names.heldout_name : names.test_name, v);
    }
    if (!isnan (cond.snr))
      printf ("the %s's recordings with %s noise at %g dB SNR\n",
          splits.heldout ? names.heldout_name : names.test_name,
          mm_noise_kind_name (cond.noise), cond.snr);
    if (split_scored)
      print_confusion (names.test_title, &test);
    else
      printf ("%s: not scored with %s\n", names.test_name,
          cond.viewed ? "test-time views" : "--snr");
    if (splits.heldout)
      print_confusion (names.heldout_title, &heldout);
    else
      printf ("held-out test: none in protocol %s\n", protocol);
  }
  rc = MM_EXIT_OK;
out:
  free_views (views, cond.fe.n_views);
  g_clear_error (&error);
  mm_scores_clear (&test);
  mm_scores_clear (&heldout);
  mm_splits_clear (&splits);
  for (int m = 0; m < n_members; m++) {
    mm_scores_clear (&members[m].test);
    mm_scores_clear (&members[m].heldout);
    mm_model_set_free (members[m].set);
  }
  g_free (members);
  g_free (data_dir);
  g_strfreev (models);
  g_free (data_opt);
  g_free (protocol);
  g_free (pred_path);
  g_free (noise);
  g_free (tta);
  if (tsv.lines)
    g_string_free (tsv.lines, TRUE);
  g_option_context_free (ctx);
  return rc;
}
