/* mmdigits CLI — the Free Spoken Digit Dataset as MFCC blocks.
 *
 * <data>/fsdd/recordings/{digit}_{speaker}_{index}.wav are decoded and
 * resampled to 16 kHz by GStreamer (mm-media), fitted to one second
 * (centred in silence or cut to the central second) and turned into raw
 * 39×13 MFCC blocks by the core. The result is cached in one file (see
 * mm_fsdd_load) because decoding 3,000 files takes a while.
 */
#pragma once

#include <glib.h>

#include "mm-mfcc.h"

G_BEGIN_DECLS

/* FSDD's own convention: indices 0–4 are its test set, 5–49 training. */
#define MM_FSDD_FIRST_TRAIN_INDEX 5

typedef struct {
  int n;
  char **names;            /* [n] file names ("0_george_0.wav"), sorted; NULL-terminated */
  int *digit;              /* [n] 0–9 */
  const char **speaker;    /* [n] interned (g_intern_string): compare pointers or strcmp */
  int *index;              /* [n] recording index */
  float *mfcc;             /* [n][39·13] raw, time-major */
} MmFsdd;

/* Parses "{digit}_{speaker}_{index}.wav" (speaker: lower-case letters).
 * *speaker is interned. Fails with a message naming @name. */
gboolean mm_fsdd_parse_name (const char *name, int *digit, const char **speaker, int *index,
                             GError **error);

/* The 16000 samples the network's front end sees for an audio file: decoded
 * and resampled by mm-media, then mm_audio_fit_center. *samples: g_free. */
gboolean mm_fsdd_load_clip (const char *path, float **samples, GError **error);

/* All recordings of <data_dir>/fsdd/recordings with their MFCC (@params:
 * NULL = defaults). Features come from the cache in $MMDIGITS_CACHE, else
 * <user cache dir>/mmdigits, when a cache made from the same files (names,
 * sizes, mtimes) with the same parameters exists and is intact; otherwise
 * every file is decoded in parallel (one worker per processor) and the
 * cache is (re)written atomically. Prints one line on stderr when it
 * extracts. */
MmFsdd  *mm_fsdd_load (const char *data_dir, const MmMfccParams *params, GError **error);
void     mm_fsdd_free (MmFsdd *f);

G_END_DECLS
