/* mmdigits train — train one of the five networks with the study's settings. */
#include "mm-config.h"

#include <json-glib/json-glib.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mm-cli.h"
#include "mm-error.h"
#include "mm-file.h"
#include "mm-json.h"
#include "mm-metrics.h"
#include "mm-recipe.h"
#include "mm-threads.h"
#include "mm-train.h"

typedef struct {
  gboolean tty;
  gint64 last_draw;
} Progress;

/* Ctrl-C (or SIGTERM from a job runner) ends training after the current
 * batch, WITHOUT writing --out: the weights of an unfinished run are not
 * the model asked for, and must not replace a good one. What was done
 * survives in --checkpoint, to the last complete epoch. The handler only
 * records the signal (async-signal-safe); the progress callback, called
 * after every batch, reads it. */
static volatile sig_atomic_t interrupted;

static void
on_signal (int sig)
{
  interrupted = sig;
}

static void
catch_signals (void)
{
  struct sigaction sa;

  memset (&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset (&sa.sa_mask);
  /* a second signal kills at once */
  sa.sa_flags = SA_RESETHAND;
  sigaction (SIGINT, &sa, NULL);
  sigaction (SIGTERM, &sa, NULL);
}

static const char *
signal_name (int sig)
{
  return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "a signal";
}

/* Ends the process as the signal would have: the parent sees it killed by
 * that signal (a shell reports 128 + its number: 130 for SIGINT, 143 for
 * SIGTERM), so that scripts stop too. */
static int
die_of_signal (int sig)
{
  fflush (NULL);
  signal (sig, SIG_DFL);
  raise (sig);
  return 128 + sig;     /* not reached */
}

/* A bar on a terminal, redrawn at most 10 times a second; one plain line
 * per epoch otherwise (logs, CI). Progress goes to stderr so that stdout
 * stays clean for --json. */
static gboolean
on_progress (const MmTrainProgress *p, gpointer user_data)
{
  Progress *st = user_data;
  gint64 now = g_get_monotonic_time ();

  if (interrupted) {
    if (st->tty)
      fprintf (stderr, "\r\033[K");
    return FALSE;
  }

  if (p->end_of_epoch) {
    g_autofree char *ema = p->ema ? g_strdup_printf ("  ema %.2f%% (loss %.4f)",
        100 * p->ema_val_accuracy, p->ema_val_loss) : g_strdup ("");

    /* the star marks a new best of the weights kept: the average's with --ema */
    fprintf (stderr, "%sepoch %d/%d  loss %.4f  acc %.2f%%  val %.2f%% (loss %.4f)%s%s  lr %.0e  %.0f samples/s\n",
        st->tty ? "\r\033[K" : "", p->epoch, p->n_epochs, p->loss, 100 * p->accuracy,
        100 * p->val_accuracy, p->val_loss, ema, p->improved ? " *" : "  ", p->lr,
        p->samples_per_s);
    return TRUE;
  }
  if (st->tty && (now - st->last_draw > 100000 || p->batch_index == p->n_batches)) {
    int width = 24, done = width * p->batch_index / p->n_batches;
    char bar[32];
    for (int i = 0; i < width; i++)
      bar[i] = i < done ? '#' : '.';
    bar[width] = 0;
    fprintf (stderr, "\r\033[Kepoch %d/%d [%s] %d/%d  loss %.4f  acc %.2f%%  %.0f samples/s",
        p->epoch, p->n_epochs, bar, p->batch_index, p->n_batches, p->loss,
        100 * p->accuracy, p->samples_per_s);
    st->last_draw = now;
  }
  return TRUE;
}

/* The synthetic voices of the training split: where, how many, and the
 * digest of the generator's manifest (scripts/make-voices.sh) when there is
 * one, so that a model card can say exactly which voices trained it. A JSON
 * object, newly allocated. */
static char *
synthetic_json (const MmSplits *splits)
{
  g_autofree char *manifest = g_build_filename (splits->synthetic, "manifest.tsv", NULL);
  g_autofree char *text = NULL;
  JsonBuilder *b = json_builder_new ();
  gsize len;
  char *out;

  json_builder_begin_object (b);
  mm_json_add_string (b, "dir", splits->synthetic);
  mm_json_add_int (b, "clips", splits->synthetic_clips);
  mm_json_add_int (b, "voices", splits->synthetic_voices);
  mm_json_add_int (b, "training_samples", splits->synthetic_pairs);
  if (g_file_get_contents (manifest, &text, &len, NULL)) {
    g_autofree char *sum = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (guchar *) text, len);
    mm_json_add_string (b, "manifest_sha256", sum);
  }
  json_builder_end_object (b);
  out = mm_json_builder_to_text (b);
  g_object_unref (b);
  return out;
}

/* Temperature scaling on the validation split (never a test set), said on
 * stderr with the validation ECE before and after. A fit the split cannot
 * determine (MM_ERROR_UNIDENTIFIABLE: it ran to an end of its range, as on a
 * split without errors) is not a failure of the run: the model is written
 * uncalibrated (T = 1, *@t 0) with a warning, and *@bound keeps the end for
 * the provenance. */
static gboolean
calibrate (MmNet *net, const MmDataset *val, float *t, float *bound, GError **error)
{
  double before, after;
  GError *fit_error = NULL;

  if (!mm_recipe_calibrate (net, val, t, &before, &after, &fit_error)) {
    if (!g_error_matches (fit_error, MM_ERROR, MM_ERROR_UNIDENTIFIABLE)) {
      g_propagate_error (error, fit_error);
      return FALSE;
    }
    fprintf (stderr, "mmdigits: warning: not calibrated (T = 1): %s\n", fit_error->message);
    g_error_free (fit_error);
    *bound = *t;
    *t = 0;
    return TRUE;
  }
  fprintf (stderr, "calibration: temperature %.3f fitted on the validation split; its ECE "
      "%.2f%% → %.2f%%\n", *t, 100 * before, 100 * after);
  return TRUE;
}

/* The command line for the model's provenance: as given, without --resume,
 * so that a resumed run records the command that trains the same model. */
static char *
command_line (char **argv)
{
  GString *s = g_string_new (NULL);

  for (int i = 0; argv[i]; i++) {
    if (strcmp (argv[i], "--resume") == 0)
      continue;
    g_string_append_printf (s, "%s%s", s->len ? " " : "", argv[i]);
  }
  return g_string_free (s, FALSE);
}

/* --checkpoint (mm_train_check_checkpoint): one that would replace --out
 * is a usage error, the rest are failures. */
static int
check_checkpoint_option (const char *checkpoint, gboolean resume, const char *out_path)
{
  GError *error = NULL;
  int rc;

  if (resume && !checkpoint) {
    fprintf (stderr, "mmdigits: --resume needs --checkpoint FILE (see --help)\n");
    return MM_EXIT_USAGE;
  }
  if (!checkpoint || mm_train_check_checkpoint ("--checkpoint", checkpoint, resume, out_path,
          NULL, &error))
    return MM_EXIT_OK;
  if (g_error_matches (error, MM_ERROR, MM_ERROR_MISMATCH)) {
    fprintf (stderr, "mmdigits: %s (see --help)\n", error->message);
    rc = MM_EXIT_USAGE;
  } else {
    rc = mm_cli_fail ("%s", error->message);
  }
  g_error_free (error);
  return rc;
}

int
mm_cmd_train (int argc, char **argv)
{
  char *arch_name = NULL, *data_opt = NULL, *out_path = NULL, *protocol = NULL;
  char *checkpoint = NULL, *synthetic = NULL;
  gboolean resume = FALSE;
  g_autofree char *settings = NULL;
  /* -1 (0 for threads): not given, the study's value or no limit; a
   * value given is in its range (see ranges below) */
  int epochs = -1, batch = -1, threads = 0, seed = 1, limit = -1;
  double lr = -1, modality_dropout = 0, speaker_balance = 0, label_smoothing = 0;
  double noise_smoothing = 0, mixup = 0, ema = 0;
  gboolean json = FALSE, usage, no_calibrate = FALSE;
  char *augment_spec = NULL, *augment_json = NULL, *noise_snr = NULL;
  MmCliFrontend *fe = mm_cli_frontend_new ();
  /* the command line as given, for the model's provenance (before parsing eats it) */
  g_autofree char *command = command_line (argv);
  GOptionEntry entries[] = {
    { "arch", 'a', 0, G_OPTION_ARG_STRING, &arch_name, "Network (see 'mmdigits models')", "NAME" },
    MM_CLI_DATA_ENTRY (data_opt),
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out_path, "Model file to write (.safetensors)", "FILE" },
    { "epochs", 'e', 0, G_OPTION_ARG_INT, &epochs, "Epochs (default: the study's for the arch)", "N" },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &lr, "Learning rate (default: the study's)", "LR" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &batch, "Batch size (default: the study's)", "N" },
    { "seed", 's', 0, G_OPTION_ARG_INT, &seed, "Seed for initialisation, shuffling and dropout (default 1)", "N" },
    MM_CLI_THREADS_ENTRY (threads),
    { "protocol", 'p', 0, G_OPTION_ARG_STRING, &protocol, "paper, clean (default) or new-speaker:NAME", "NAME" },
    { "limit", 0, 0, G_OPTION_ARG_INT, &limit, "Use only the first N training samples (smoke runs)", "N" },
    { "augment", 0, 0, G_OPTION_ARG_STRING, &augment_spec, "Augment training samples: comma-separated "
      "kinds (speed, shift, white, pink, babble, hum, noise, band, gain, vtlp, specaug, audio; affine, "
      "elastic, stroke, blur, pixel-noise, gamma, polarity, occlude, image), each optionally =P "
      "(its probability); default none", "LIST" },
    { "noise-snr", 0, 0, G_OPTION_ARG_STRING, &noise_snr, "With --augment's noise kinds: the "
      "SNR range the noise is mixed at (default 5:40)", "MIN:MAX" },
    { "synthetic", 0, 0, G_OPTION_ARG_FILENAME, &synthetic, "Audio and hybrid networks: add the "
      "synthetic voices of DIR (scripts/make-voices.sh) to the training split only", "DIR" },
    { "speaker-balance", 0, 0, G_OPTION_ARG_DOUBLE, &speaker_balance, "Audio and hybrid "
      "networks: the training split draws each recording by speaker, a voice's chance "
      "proportional to n^(1-P) for its n recordings of the digit (0, the default: by recording; "
      "1: every voice alike)", "P" },
    { "modality-dropout", 0, 0, G_OPTION_ARG_DOUBLE, &modality_dropout, "Hybrids: chance that a "
      "training sample's image or audio is blanked or replaced by noise (default 0)", "P" },
    { "label-smoothing", 0, 0, G_OPTION_ARG_DOUBLE, &label_smoothing, "Train against targets "
      "of 1-S on the label and S spread over the ten digits (default 0: none)", "S" },
    { "noise-smoothing", 0, 0, G_OPTION_ARG_DOUBLE, &noise_smoothing, "With --augment's noise "
      "kinds: a sample mixed with noise is trained against targets smoothed by E at -5 dB SNR and "
      "below, less towards 20 dB, none above (default 0: none)", "E" },
    { "mixup", 0, 0, G_OPTION_ARG_DOUBLE, &mixup, "Mix each training sample with another of "
      "its batch, inputs and targets, by a weight drawn from Beta(A, A) (default 0: none)", "A" },
    { "ema", 0, 0, G_OPTION_ARG_DOUBLE, &ema, "Keep an exponential moving average of the "
      "weights with decay D per step, validated every epoch; the best epoch's average is the "
      "model (default 0: none)", "D" },
    { "no-calibrate", 0, 0, G_OPTION_ARG_NONE, &no_calibrate, "Do not fit the calibration "
      "temperature on the validation split", NULL },
    { "checkpoint", 0, 0, G_OPTION_ARG_FILENAME, &checkpoint, "Write the whole training state to FILE after every epoch (atomically)", "FILE" },
    { "resume", 0, 0, G_OPTION_ARG_NONE, &resume, "Continue the run saved in --checkpoint (same options)", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print a JSON summary on stdout", NULL },
    { NULL }
  };
  const MmCliRange ranges[] = {
    { "epochs", 1, MM_CLI_MAX_EPOCHS, FALSE },
    { "lr", 1e-9, 1, FALSE },
    { "batch", 2, MM_CLI_MAX_BATCH, FALSE },
    { "seed", 0, G_MAXINT, FALSE },
    MM_CLI_THREADS_RANGE,
    { "limit", 2, G_MAXINT, FALSE },
    { "modality-dropout", 0, 1, FALSE },
    { "speaker-balance", 0, 1, FALSE },
    /* beyond a half the label is barely above the rest: a typing error */
    { "label-smoothing", 0, 0.5, FALSE },
    /* 0.9 leaves the label 0.19 of the target, the rest 0.09 each */
    { "noise-smoothing", 0, 0.9, FALSE },
    /* mixup's own limit (mm-train.h); 0 is off */
    { "mixup", 0, MM_TRAIN_MIXUP_MAX, FALSE },
    /* the moving average's own limit (mm-train.h); 0 is off */
    { "ema", 0, MM_TRAIN_EMA_MAX, FALSE },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new ("- train a network");
  MmArch arch;
  MmTrainConfig cfg;
  MmTrainResult res;
  MmSplits splits = { 0 };
  MmConfusion test, heldout;
  g_autofree char *provenance = NULL;
  MmMfccParams mfcc;
  MmAugment aug;
  float temperature = 0, temperature_bound = 0;
  Progress prog = { .tty = isatty (2) };
  GError *error = NULL;
  MmNet *net = NULL;
  char *data_dir = NULL, **inputs = NULL;
  int rc = MM_EXIT_FAILURE;

  mm_cli_add_entries (ctx, entries, ranges);
  g_option_context_add_group (ctx, mm_cli_frontend_group (fe, FALSE));
  if (!mm_cli_parse (ctx, &argc, &argv)) {
    rc = MM_EXIT_USAGE;
    goto out;
  }
  if (!arch_name || !out_path) {
    fprintf (stderr, "mmdigits: train needs --arch and --out (see --help)\n");
    rc = MM_EXIT_USAGE;
    goto out;
  }
  if (!mm_arch_from_name (arch_name, &arch)) {
    fprintf (stderr, "mmdigits: unknown arch '%s' (see 'mmdigits models')\n", arch_name);
    rc = MM_EXIT_USAGE;
    goto out;
  }
  mm_augment_init (&aug);
  if (augment_spec && !mm_augment_parse (&aug, augment_spec, &error)) {
    fprintf (stderr, "mmdigits: %s\n", error->message);
    rc = MM_EXIT_USAGE;
    goto out;
  }
  if (noise_snr && !(aug.enabled & MM_AUG_NOISE_KINDS)) {
    fprintf (stderr, "mmdigits: --noise-snr needs --augment with a noise kind (white, pink, "
        "babble, hum; noise or audio)\n");
    rc = MM_EXIT_USAGE;
    goto out;
  }
  if (noise_snr && !mm_augment_set_snr (&aug, noise_snr, &error)) {
    fprintf (stderr, "mmdigits: --noise-snr: %s\n", error->message);
    rc = MM_EXIT_USAGE;
    goto out;
  }
  if (noise_smoothing != 0 && !mm_train_noise_smoothing_applies (arch, &aug)) {
    fprintf (stderr, "mmdigits: --noise-smoothing needs an audio network (AudioNet_CNN or "
        "AudioNet_LSTM) and --augment with a noise kind (white, pink, babble, hum; noise or audio)\n");
    rc = MM_EXIT_USAGE;
    goto out;
  }
  if (modality_dropout != 0 && !mm_train_modality_dropout_applies (arch)) {
    fprintf (stderr, "mmdigits: --modality-dropout needs a hybrid arch\n");
    rc = MM_EXIT_USAGE;
    goto out;
  }
  if (synthetic && (!*synthetic || !mm_arch_uses_audio (arch))) {
    fprintf (stderr, "mmdigits: --synthetic needs a directory and an arch that hears audio\n");
    rc = MM_EXIT_USAGE;
    goto out;
  }
  if (speaker_balance != 0 && !mm_arch_uses_audio (arch)) {
    fprintf (stderr, "mmdigits: --speaker-balance needs an arch that hears audio\n");
    rc = MM_EXIT_USAGE;
    goto out;
  }
  if (!protocol)
    protocol = g_strdup (MM_DEFAULT_PROTOCOL);
  if (!mm_protocol_check (protocol, &error) || !mm_protocol_trainable (protocol, &error)) {
    fprintf (stderr, "mmdigits: %s\n", error->message);
    rc = MM_EXIT_USAGE;
    goto out;
  }
  if (!mm_cli_frontend_params (fe, &mfcc, &usage, &error)) {
    fprintf (stderr, "mmdigits: %s\n", error->message);
    rc = usage ? MM_EXIT_USAGE : MM_EXIT_FAILURE;
    goto out;
  }
  /* a network learns from each word's own block, and its temperature is
   * fitted on blocks alone: test-time views of a --model's front end are
   * not carried over (calibrate --views adds them, fitting T on them) */
  mfcc.n_views = 0;
  if ((rc = check_checkpoint_option (checkpoint, resume, out_path)) != MM_EXIT_OK)
    goto out;
  rc = MM_EXIT_FAILURE;
  if (!(data_dir = mm_cli_data_dir (data_opt)))
    goto out;
  /* the model is written only after training: an --out that cannot be
   * written must fail now, not after hours of work (nor after the data is
   * read: a missing --synthetic too) */
  if (synthetic && !g_file_test (synthetic, G_FILE_TEST_IS_DIR)) {
    rc = mm_cli_fail ("--synthetic %s: not a directory", synthetic);
    goto out;
  }
  inputs = mm_protocol_input_files (data_dir, synthetic);
  if (!mm_file_check_output ("--out", out_path, (const char *const *) inputs, &error)) {
    rc = mm_cli_fail ("%s", error->message);
    goto out;
  }
  mm_cli_set_threads (threads);

  mm_train_config_init (&cfg, arch);
  if (epochs > 0)
    cfg.epochs = epochs;
  if (batch > 0)
    cfg.batch = batch;
  if (lr > 0)
    cfg.lr = (float) lr;
  cfg.seed = (guint64) seed;
  cfg.augment = &aug;
  cfg.mfcc = &mfcc;
  cfg.modality_dropout = (float) modality_dropout;
  cfg.label_smoothing = (float) label_smoothing;
  cfg.noise_smoothing = (float) noise_smoothing;
  cfg.mixup = (float) mixup;
  cfg.ema = (float) ema;
  cfg.progress = on_progress;
  cfg.user_data = &prog;
  cfg.checkpoint = checkpoint;
  cfg.resume = resume;
  /* what else decides the data; the core compares the rest (and the data) */
  {
    g_autofree char *frontend = mm_mfcc_params_to_json (&mfcc);
    g_autofree char *balance = speaker_balance > 0
        ? g_strdup_printf (" speaker-balance=%.17g", speaker_balance) : g_strdup ("");
    settings = g_strdup_printf ("protocol=%s limit=%d front-end=%s%s%s%s", protocol, limit,
        frontend, synthetic ? " synthetic=" : "", synthetic ? synthetic : "", balance);
  }
  cfg.settings = settings;
  catch_signals ();

  if (!mm_protocol_load (arch, protocol, &mfcc, data_dir,
          &(MmTrainingDraw) { .synthetic = synthetic, .speaker_balance = speaker_balance }, TRUE,
          mm_arch_uses_audio (arch) && (aug.enabled & MM_AUG_WAVE_KINDS), &splits, &error)) {
    rc = mm_cli_fail ("%s", error->message);
    goto out;
  }
  if (interrupted) {
    fprintf (stderr, "mmdigits: interrupted by %s while loading the data; %s not written\n",
        signal_name (interrupted), out_path);
    goto out;
  }
  if (limit > 0 && limit < splits.train->n)
    splits.train->n = limit;
  net = mm_net_new (arch, cfg.seed);
  /* the norm from what the network trains on (the training split) */
  mm_recipe_norm (net, splits.train);
  mm_dataset_normalize (splits.train, mm_net_norm (net));
  mm_dataset_normalize (splits.val, mm_net_norm (net));
  mm_dataset_normalize (splits.test, mm_net_norm (net));
  if (splits.heldout)
    mm_dataset_normalize (splits.heldout, mm_net_norm (net));
  if (aug.enabled)
    augment_json = mm_augment_to_json (&aug);
  fprintf (stderr, "training %s (%zu parameters) on %d samples, validating on %d "
      "(protocol %s): %d epochs, lr %g, batch %d, seed %d%s%s\n", mm_arch_name (arch),
      mm_net_n_params (net), splits.train->n, splits.val->n, splits.protocol, cfg.epochs,
      cfg.lr, cfg.batch, seed, augment_json ? ", augment " : "", augment_json ? augment_json : "");

  if (resume)
    fprintf (stderr, "continuing the run saved in %s\n", checkpoint);
  if (!mm_train (net, &cfg, splits.train, splits.val, &res, &error)) {
    if (g_error_matches (error, MM_ERROR, MM_ERROR_CANCELLED) && interrupted)
      fprintf (stderr, "mmdigits: %s by %s; %s not written%s%s%s\n", error->message,
          signal_name (interrupted), out_path, checkpoint ? "; continue with --checkpoint " : "",
          checkpoint ? checkpoint : "", checkpoint ? " --resume" : "");
    else
      rc = mm_cli_fail ("%s", error->message);
    goto out;
  }
  if (!no_calibrate && !calibrate (net, splits.val, &temperature, &temperature_bound, &error)) {
    rc = mm_cli_fail ("%s", error->message);
    goto out;
  }
  if (res.resumed_after > 0)
    fprintf (stderr, "resumed from %s after epoch %d\n", checkpoint, res.resumed_after);
  mm_confusion_init (&test);
  mm_confusion_init (&heldout);
  if (!mm_net_predict (net, splits.test, 256, NULL, NULL, &test, &error)
      || (splits.heldout
          && !mm_net_predict (net, splits.heldout, 256, NULL, NULL, &heldout, &error))) {
    rc = mm_cli_fail ("%s", error->message);
    goto out;
  }
  {
    g_autofree char *synthetic_text = splits.synthetic ? synthetic_json (&splits) : NULL;
    MmRecipeProvenance prov = {
      .tool = "mmdigits", .command = command, .data = splits.description,
      .protocol = splits.protocol, .split_seed = MM_SPLIT_SEED,
      .samples = splits.train->n + splits.val->n, .arch = arch, .cfg = &cfg, .res = &res,
      .test = &test, .heldout = splits.heldout ? &heldout : NULL,
      .augment_json = augment_json, .synthetic_json = synthetic_text,
      .temperature = temperature, .temperature_bound = temperature_bound,
    };
    provenance = mm_recipe_provenance_json (&prov);
  }
  /* a signal during the final evaluation still leaves --out as it was */
  if (interrupted) {
    fprintf (stderr, "mmdigits: training finished but interrupted by %s; %s not written\n",
        signal_name (interrupted), out_path);
    goto out;
  }
  if (!mm_recipe_save (net, &mfcc, provenance, out_path, &error)) {
    rc = mm_cli_fail ("%s", error->message);
    goto out;
  }
  if (splits.heldout)
    fprintf (stderr, "best epoch %d (val %.2f%%); split test %.2f%%; held-out test %.2f%% "
        "(macro F1 %.4f); %.0f s, %.0f samples/s; wrote %s\n", res.best_epoch,
        100 * res.best_val_accuracy, 100 * mm_confusion_accuracy (&test),
        100 * mm_confusion_accuracy (&heldout), mm_confusion_macro_f1 (&heldout),
        res.seconds, res.samples_per_s, out_path);
  else
    fprintf (stderr, "best epoch %d (val %.2f%%); split test %.2f%% (macro F1 %.4f); "
        "no held-out test (%s); %.0f s, %.0f samples/s; wrote %s\n", res.best_epoch,
        100 * res.best_val_accuracy, 100 * mm_confusion_accuracy (&test),
        mm_confusion_macro_f1 (&test), splits.protocol, res.seconds, res.samples_per_s,
        out_path);
  if (json)
    printf ("%s\n", provenance);
  rc = MM_EXIT_OK;
out:
  g_clear_error (&error);
  mm_splits_clear (&splits);
  mm_net_free (net);
  g_free (data_dir);
  g_strfreev (inputs);
  g_free (arch_name);
  g_free (data_opt);
  g_free (out_path);
  g_free (protocol);
  mm_cli_frontend_free (fe);
  g_free (augment_spec);
  g_free (noise_snr);
  g_free (augment_json);
  g_free (checkpoint);
  g_free (synthetic);
  g_option_context_free (ctx);
  if (interrupted && rc != MM_EXIT_OK)
    return die_of_signal (interrupted);
  return rc;
}
