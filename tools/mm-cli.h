/* mmdigits CLI — sub-commands and what they share.
 *
 * Every sub-command returns the process exit status: 0 success, 1 a runtime
 * failure (bad file, bad data: one line on stderr), 2 a usage error.
 */
#pragma once

#include <glib.h>

#include "mm-dataset.h"
#include "mm-mfcc.h"
#include "mm-net.h"

G_BEGIN_DECLS

enum { MM_EXIT_OK = 0, MM_EXIT_FAILURE = 1, MM_EXIT_USAGE = 2 };

int  mm_cmd_models (int argc, char **argv);
int  mm_cmd_train  (int argc, char **argv);
int  mm_cmd_eval   (int argc, char **argv);
int  mm_cmd_demo   (int argc, char **argv);
int  mm_cmd_mfcc   (int argc, char **argv);
int  mm_cmd_inspect (int argc, char **argv);

/* Prints "mmdigits: <message>" on stderr (one line) and returns MM_EXIT_FAILURE. */
int  mm_cli_fail (const char *fmt, ...) G_GNUC_PRINTF (1, 2);
/* Parses the options of a sub-command; on failure prints the error and the
 * help hint and returns FALSE. */
gboolean mm_cli_parse (GOptionContext *ctx, int *argc, char ***argv);
/* --data or $MMDIGITS_DATA or ../shared/data; NULL with a message if none. */
char *mm_cli_data_dir (const char *opt);
/* Sets the core's worker threads (0 = leave the default). */
void  mm_cli_set_threads (int threads);

/* ---- protocols (tools/protocol.c) ----
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
 *            recordings (a voice never heard in training).
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
  char *protocol;                  /* its name, e.g. "new-speaker:theo" */
  char *description;               /* one line for the model card */
} MmSplits;

/* Checks a protocol name (usage errors, before any data is read). */
gboolean mm_protocol_check (const char *protocol, GError **error);
/* @mfcc: the front end for the audio (NULL = defaults). */
gboolean mm_protocol_load (MmArch arch, const char *protocol, const MmMfccParams *mfcc,
                           const char *data_dir, gboolean need_train,
                           MmSplits *out, GError **error);
void     mm_splits_clear  (MmSplits *s);

G_END_DECLS
