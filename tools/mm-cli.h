/* mmdigits CLI — sub-commands and what they share.
 *
 * Every sub-command returns the process exit status: 0 success, 1 a runtime
 * failure (bad file, bad data: one line on stderr), 2 a usage error.
 */
#pragma once

#include <glib.h>

#include "mm-dataset.h"
#include "mm-mfcc.h"
#include "mm-modelset.h"
#include "mm-net.h"
#include "mm-threads.h"

G_BEGIN_DECLS

enum { MM_EXIT_OK = 0, MM_EXIT_FAILURE = 1, MM_EXIT_USAGE = 2 };

int  mm_cmd_models (int argc, char **argv);
int  mm_cmd_train  (int argc, char **argv);
int  mm_cmd_eval   (int argc, char **argv);
int  mm_cmd_demo   (int argc, char **argv);
int  mm_cmd_mfcc   (int argc, char **argv);
int  mm_cmd_words  (int argc, char **argv);
int  mm_cmd_inspect (int argc, char **argv);
int  mm_cmd_predict (int argc, char **argv);
int  mm_cmd_batch (int argc, char **argv);
int  mm_cmd_figures (int argc, char **argv);
int  mm_cmd_calibrate (int argc, char **argv);

/* Prints "mmdigits: <message>" on stderr (one line) and returns MM_EXIT_FAILURE. */
int  mm_cli_fail (const char *fmt, ...) G_GNUC_PRINTF (1, 2);
/* The model file @path as a model set of one (its network, metadata and
 * front end: the features are made as it was trained on them), the model
 * in *@model (owned by the set, which the caller frees). A directory of
 * several fails, naming @command, which takes one file. */
MmModelSet *mm_cli_open_model (const char *path, const char *command, const MmModel **model,
                               GError **error);
/* The protocol recorded in a model's provenance when it names a known one
 * (newly allocated), else NULL: evaluating a new-speaker model on "clean"
 * would count recordings of the voice it trained on as held out, and a
 * fold model says by it which fold it left out. */
char *mm_cli_recorded_protocol (const MmModelMeta *meta);
/* Prints what @b built (a completed value) as one compact JSON line on
 * stdout, the way every command's --json prints; takes @b (unrefs it). */
struct _JsonBuilder;
void mm_cli_print_json (struct _JsonBuilder *b);
/* Bounds of options: a batch of this many samples of the largest network
 * keeps its activations within about a gigabyte; epochs and jobs beyond
 * these are typing errors, not runs. */
#define MM_CLI_MAX_BATCH 1024
#define MM_CLI_MAX_EPOCHS 10000
#define MM_CLI_MAX_JOBS 256

/* The valid values of a numeric option: from @min to @max inclusive and,
 * with @power_of_two, only powers of two (FFT sizes). */
typedef struct {
  const char *name;            /* the option's long name, without "--" */
  double min, max;
  gboolean power_of_two;
} MmCliRange;

/* Adds @entries as @ctx's main options. Every G_OPTION_ARG_INT or
 * G_OPTION_ARG_DOUBLE entry must have a row in @ranges (ended by a row with
 * a NULL name; may be NULL when there is no numeric option): the value is
 * parsed and checked against its range while the command line is parsed,
 * so that a value out of range is a usage error naming the option and its
 * range. A numeric entry without a range is a programming error (g_error).
 * @entries and @ranges are copied. */
void     mm_cli_add_entries (GOptionContext *ctx, const GOptionEntry *entries,
                             const MmCliRange *ranges);
/* The same for an option group of its own (g_option_group_new's first
 * three arguments; the group is the caller's, usually given to a context). */
GOptionGroup *mm_cli_option_group (const char *name, const char *description,
                                   const char *help_description,
                                   const GOptionEntry *entries, const MmCliRange *ranges);
/* Parses the options of a sub-command; on failure prints the error and the
 * help hint (one line) and returns FALSE: the command exits MM_EXIT_USAGE. */
gboolean mm_cli_parse (GOptionContext *ctx, int *argc, char ***argv);
/* --data or $MMDIGITS_DATA or ../shared/data; NULL with a message if none. */
char *mm_cli_data_dir (const char *opt);
/* Sets the core's worker threads (0 = leave the default). */
void  mm_cli_set_threads (int threads);
/* The options every command that reads the data sets or runs networks
 * shares: their entries (for a GOptionEntry table, writing into @var) and
 * the range row of --threads (0, "not given", is never parsed). */
#define MM_CLI_DATA_ENTRY(var) \
  { "data", 'd', 0, G_OPTION_ARG_FILENAME, &(var), \
    "Data directory (default $MMDIGITS_DATA or ../shared/data)", "DIR" }
#define MM_CLI_THREADS_ENTRY(var) \
  { "threads", 't', 0, G_OPTION_ARG_INT, &(var), \
    "Worker threads (default: $MMDIGITS_THREADS or all cores)", "N" }
#define MM_CLI_THREADS_RANGE { "threads", 1, MM_MAX_THREADS, FALSE }

/* ---- the audio front end's options (tools/cli-frontend.c) ----
 * --nfft, --filters, --low-freq, --high-freq, --preemph, --lifter, --cmvn,
 * --dc-block, --word-cut and (optionally) --model, for every command that
 * makes MFCC blocks from recordings: one set of names and checks. */
typedef struct _MmCliFrontend MmCliFrontend;

MmCliFrontend *mm_cli_frontend_new  (void);
void           mm_cli_frontend_free (MmCliFrontend *f);
/* The option group writing into @f (add it to the context before parsing);
 * --model only if @with_model. The group is owned by the context. */
GOptionGroup  *mm_cli_frontend_group (MmCliFrontend *f, gboolean with_model);
/* The front end the options ask for: the defaults (or --model's), with
 * every option given applied, checked to give the networks' 39×13 blocks.
 * On failure *@usage says whether it is a usage error (exit 2) or a runtime
 * one (a model that cannot be read: exit 1). */
gboolean       mm_cli_frontend_params (const MmCliFrontend *f, MmMfccParams *p,
                                       gboolean *usage, GError **error);
/* --model's file, or NULL (owned by @f): an input no output may replace. */
const char    *mm_cli_frontend_model (const MmCliFrontend *f);

/* ---- protocols (tools/datasets/protocol.c) ----
 * The data a network is trained and tested on. Every protocol starts from
 * the 60,000 MNIST training images split 14:3:3 (MM_SPLIT_SEED) into
 * train/val/test; audio networks get each image paired with a random FSDD
 * recording of the same digit (seeded, MM_PAIR_SEED):
 *  "paper":  pairs drawn from FSDD's training recordings (indices 5–49), so
 *            recordings repeat across train/val/test; no held-out test;
 *  "clean":  train/val/test as "paper"; held-out test = the 10,000 MNIST test
 *            images paired with FSDD's test recordings (indices 0–4). The
 *            headline protocol and the default;
 *  "new-speaker:NAME": pairs for train/val/test drawn without speaker NAME;
 *            held-out test = the MNIST test images paired with NAME's 500
 *            recordings (a voice never heard in training);
 *  "new-speaker:K" (K = 1…6): speaker-disjoint folds over FSDD's speakers
 *            and extra-speech's licensed ones (Speech Commands, AudioMNIST):
 *            pairs for train/val/test drawn from FSDD 5–49 and licensed
 *            extra-speech without fold K's speakers; held-out = the MNIST test
 *            images paired with fold K's recordings, a speaker drawn first;
 *  "voices": train/val/test from FSDD 5–49 and all licensed extra-speech;
 *            held-out = the MNIST test images paired with extra-speech's
 *            unlicensed voices (never trained on): a VALIDATION set of
 *            unheard voices, the one that chooses settings;
 *  "writers", "writers:KIND": "clean" with the held-out images changed as
 *            new writers' might be (mm_degrade_writers, tools/figures/
 *            degrade.h: KIND thin, thick, slant, blur or noise; "writers"
 *            gives each image one kind in turn). For evaluation only;
 *  "writers-val", "writers-val:KIND": the same changes to the 9,000 images
 *            of clean's VALIDATION split (MNIST training images never trained
 *            on, the split that chose the epoch and the temperature), for
 *            choosing between models without touching MNIST's test set: the
 *            split test is the validation split as it is, the held-out set
 *            the same images changed (MmSplits.on_validation); MNIST's test
 *            images are not read. For evaluation only;
 *  "voices-cal", "voices-test": "voices" with the unheard voices split by
 *            speaker (protocol.c calibration_voices): "voices-cal" pairs the
 *            9,000 images of the VALIDATION split with the calibration part
 *            (the held-out set; the split test is the validation split as
 *            it is; MmSplits.on_validation and validation_voices; MNIST's
 *            test images are not read), for fitting a temperature on unheard
 *            voices (mmdigits calibrate); "voices-test" is "voices" with the
 *            reporting part alone, never calibrated on. For evaluation only.
 * Image-only networks never load FSDD, audio-only networks never load the
 * MNIST pixels (only labels); the sample indices are the same for all, so
 * results are comparable. Sets are raw (images in [0, 1], audio raw MFCC):
 * normalise them with the model's norm. */
/* The split is fixed, whatever the training seed, so that every model is
 * evaluated on the same 9,000 samples it never trained on. */
#define MM_SPLIT_SEED 2019
/* The image–recording pairing is fixed too, for the same reason. */
#define MM_PAIR_SEED 2019
#define MM_DEFAULT_PROTOCOL "clean"

typedef struct {
  MmDataset *train, *val, *test;   /* the study's split (train, val: only if asked) */
  MmDataset *heldout;              /* never seen in training; NULL for "paper" */
  gboolean on_validation;          /* "writers-val", "voices-cal": test and heldout are the
                                    * validation split, clean and changed (see above) */
  gboolean validation_voices;      /* "voices-cal": the change is the calibration voices */
  char *protocol;                  /* its name, e.g. "new-speaker:theo" */
  char *description;               /* one line for the model card */
  char *synthetic;                 /* the synthetic voices' directory, or NULL */
  int synthetic_clips, synthetic_voices;
  int synthetic_pairs;             /* training samples paired with a synthetic clip */
} MmSplits;

/* How an audio network's training split (never validation, test or
 * held-out) draws its recordings, beyond the protocol's own draw. */
typedef struct {
  /* a directory of synthetic voices (scripts/make-voices.sh; every speaker
   * id starts with "syn-"), or NULL: each training sample's recording is
   * drawn from the protocol's training recordings and these clips
   * together, by count */
  const char *synthetic;
  /* 0 (the protocol's draw, by recording) … 1 (a speaker first, every voice
   * the same chance): a speaker's chance is ∝ n^(1 − speaker_balance), n its
   * recordings of the digit */
  double speaker_balance;
} MmTrainingDraw;

/* Checks a protocol name (usage errors, before any data is read). */
gboolean mm_protocol_check (const char *protocol, GError **error);
/* FALSE, with a message, for an evaluation-only protocol ("writers",
 * "writers-val"): a model trained on it would record it and be evaluated
 * on it by default. */
gboolean mm_protocol_trainable (const char *protocol, GError **error);
/* FALSE, with a message, for a protocol that scores a test set ("writers",
 * "writers:KIND", "voices-test"): `mmdigits calibrate` fits only on a
 * validation set — the validation split of a trainable protocol, or the
 * held-out set of an on_validation one ("writers-val", "voices-cal"). */
gboolean mm_protocol_can_calibrate (const char *protocol, GError **error);
/* @mfcc: the front end for the audio (NULL = defaults). @synthetic: a
 * directory of synthetic voices (scripts/make-voices.sh; every speaker id
 * starts with "syn-"), or NULL: audio networks' training split (never
 * validation, test or held-out) then draws each sample's recording from the
 * protocol's training recordings and these clips together, by count; the
 * validation and test pairs stay those of the protocol without them.
 * @waves: the audio sets also carry their one-second clips
 * (MmDataset.waves), for waveform augmentation. */
gboolean mm_protocol_load (MmArch arch, const char *protocol, const MmMfccParams *mfcc,
                           const char *data_dir, const MmTrainingDraw *draw, gboolean need_train,
                           gboolean waves, MmSplits *out, GError **error);
/* K for "new-speaker:K", else 0. */
int      mm_protocol_fold (const char *protocol);
#define MM_PROTOCOL_FOLDS 6
void     mm_splits_clear  (MmSplits *s);
/* The files under @data_dir that protocols read (the MNIST files, the FSDD
 * and extra-speech recordings) and those of @synthetic (train --synthetic's
 * directory, or NULL), NULL-terminated (g_strfreev): no output may replace one. */
char   **mm_protocol_input_files (const char *data_dir, const char *synthetic);

/* ---- classifying through the GStreamer plugin (tools/classify-pipeline.c) ----
 * predict and batch run the elements of the pipelines (digitimage,
 * mfccextract, mmclassify), so a file is classified exactly as a pipeline
 * would classify it. */
struct _GstElement;

/* gst_init, then makes sure the element mmclassify can be made: if it is not
 * in the registry (GST_PLUGIN_PATH, the system paths), scans the build tree's
 * plugins/ and then the installed plugin directory. Fails with a message
 * saying where it looked. Thread-safe; the work is done once. */
gboolean mm_cli_gst_ready (GError **error);
/* @opt, else the shipped models (mm_models_dir: $MMDIGITS_MODELS, this
 * install's own, the configured one): the same default as mmclassify's
 * model property. Newly allocated. */
char    *mm_cli_model_path (const char *opt);

/* The files a model set at @path reads: itself, or the directory's
 * *.safetensors and roles.json (g_strfreev): no output may replace one. */
char   **mm_cli_model_files (const char *path);

/* The roles a model set serves (mm_model_set_get), for the CLI's choice of
 * the streams a file gives the classifier. */
typedef struct {
  gboolean image, audio, hybrid;
} MmCliNets;
struct _MmModelSet;
void     mm_cli_model_nets (const struct _MmModelSet *set, MmCliNets *nets);

/* The one classifier pipeline predict and batch build (gst_parse_launch
 * syntax): for each input given, its source (@image_src, @audio_src: the
 * elements before the branch, e.g. "filesrc name=img-src ! decodebin"; "": none,
 * the branch's first element, img-conv or aud-conv, is left unlinked), then
 * videoconvert ! GRAY8 ! digitimage (@still: imagefreeze num-buffers=1 !
 * digitimage stable-frames=1) and audioconvert ! audioresample ! 16 kHz mono
 * F32 ! mfccextract, into one mmclassify named "mm" ! @sink (NULL: "appsink
 * name=sink"; another sink must be named "sink" too). Branch elements are
 * named img-* and aud-*, so an element's path tells which input an error
 * came from. No value holds a space, so the words split at spaces are
 * gst-launch-1.0's arguments. g_free. */
char    *mm_cli_classifier_description (const char *image_src, gboolean still,
                                        const char *audio_src, const char *sink);

/* Appends @str as a quoted JSON string (invalid UTF-8 is replaced). */
void     mm_cli_json_string (GString *out, const char *str);

/* Collects mmclassify's JSON lines from one or more appsinks (one per
 * classifier, @source numbering them). Thread-safe. */
typedef struct _MmCliLines MmCliLines;
MmCliLines *mm_cli_lines_new    (void);
void        mm_cli_lines_free   (MmCliLines *lines);
void        mm_cli_lines_attach (MmCliLines *lines, struct _GstElement *appsink, int source);
/* The lines (without newline) in decision-time order, ties by source then
 * arrival; the array and strings belong to @lines. */
GPtrArray  *mm_cli_lines_sorted (MmCliLines *lines);
/* Forgets the lines and EOS counts, for a pipeline that runs again. */
void        mm_cli_lines_reset  (MmCliLines *lines);
/* Waits until @n_sinks of the attached appsinks got EOS since the last
 * reset, or until @end_time (g_get_monotonic_time() clock); TRUE if they
 * did. An appsink's EOS callback runs whatever the pipeline's state, so
 * this works where the bus's EOS message does not (a pipeline taken back to
 * READY and replayed). */
gboolean    mm_cli_lines_wait_eos (MmCliLines *lines, guint n_sinks, gint64 end_time);

/* The text of the ERROR message @msg (not taken): its message and, with
 * @with_reason and a debug text that has one, the reason ("Internal data
 * stream error." says little without it): "MESSAGE (reason not-negotiated)".
 * g_free. */
struct _GstMessage;
char    *mm_cli_gst_error_text (struct _GstMessage *msg, gboolean with_reason);

/* Plays @pipeline to EOS (it must have no live source). On an ERROR message
 * returns FALSE with its text in @error and, if @err_path is not NULL, the
 * path of the element that posted it ("/GstPipeline:p/GstDecodeBin:d/...",
 * g_free; taken when posted, as bins such as decodebin drop their children
 * when stopped). Also fails if nothing moves for a minute. Leaves the
 * pipeline in NULL. */
gboolean mm_cli_pipeline_run (struct _GstElement *pipeline, char **err_path, GError **error);

G_END_DECLS
