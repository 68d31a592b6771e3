/* mmdigits CLI — sub-commands and what they share.
 *
 * Every sub-command returns the process exit status: 0 success, 1 a runtime
 * failure (bad file, bad data: one line on stderr), 2 a usage error.
 */
#pragma once

#include <glib.h>

#include "mm-dataset.h"
#include "mm-net.h"

G_BEGIN_DECLS

enum { MM_EXIT_OK = 0, MM_EXIT_FAILURE = 1, MM_EXIT_USAGE = 2 };

int  mm_cmd_models (int argc, char **argv);
int  mm_cmd_train  (int argc, char **argv);
int  mm_cmd_eval   (int argc, char **argv);

/* Prints "mmdigits: <message>" on stderr (one line) and returns MM_EXIT_FAILURE. */
int  mm_cli_fail (const char *fmt, ...) G_GNUC_PRINTF (1, 2);
/* Parses the options of a sub-command; on failure prints the error and the
 * help hint and returns FALSE. */
gboolean mm_cli_parse (GOptionContext *ctx, int *argc, char ***argv);
/* --data or $MMDIGITS_DATA or ../shared/data; NULL with a message if none. */
char *mm_cli_data_dir (const char *opt);
/* Sets OpenBLAS threads (0 = leave the default). */
void  mm_cli_set_threads (int threads);

/* ---- protocols (tools/protocol.c) ----
 * The data a network is trained and tested on:
 *  "paper": the 60,000 MNIST training images (paired with FSDD training
 *           recordings for audio networks) split 14:3:3 → train/val/test;
 *  "clean": the same train/val; the held-out test is the MNIST test set
 *           (paired with FSDD test recordings).
 * Every set is normalised with the model's norm. */
/* The split is fixed, whatever the training seed, so that every model is
 * evaluated on the same 9,000 samples it never trained on. */
#define MM_SPLIT_SEED 2019

typedef struct {
  MmDataset *train, *val, *test;   /* the study's split */
  MmDataset *heldout;              /* never seen in training */
  char *description;               /* one line for the model card */
} MmSplits;

gboolean mm_protocol_load (MmArch arch, const char *data_dir, gboolean need_train,
                           MmSplits *out, GError **error);
void     mm_splits_clear  (MmSplits *s);

G_END_DECLS
