/* mmdigits CLI — the Free Spoken Digit Dataset as MFCC blocks.
 *
 * <data>/fsdd/recordings/{digit}_{speaker}_{index}.wav are decoded and
 * resampled to 16 kHz by GStreamer (mm-media) and turned into one-second
 * clips and raw 39×13 MFCC blocks by the core's front end
 * (mm_frontend_clip: the study's is the whole recording centred). The result is cached (see
 * mm_speech_load) because decoding 3,000 files takes a while. The same
 * loader reads <data>/extra-speech, whose files share FSDD's naming.
 */
#pragma once

#include <glib.h>

#include "mm-frontend.h"

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
  float *wave;             /* [n][16000] the one-second clips, or NULL (not asked for) */
  /* [n] how clearly each word stands out: the default word detector's score
   * (MmWordSpan.snr_db, dB above its floor, at 16 kHz) of the recording's
   * loudest word, as `mmdigits words` prints it; NAN without a word. NULL
   * when not asked for (it comes with the clips). */
  float *score;
} MmFsdd;

/* Parses "{digit}_{speaker}_{index}.wav" (speaker: lower-case letters,
 * digits and '-', as FSDD's and extra-speech's ids).
 * *speaker is interned. Fails with a message naming @name. */
gboolean mm_fsdd_parse_name (const char *name, int *digit, const char **speaker, int *index,
                             GError **error);

/* The one-second clip the network's front end makes of an audio file
 * (@clip: MM_MEDIA_SAMPLE_RATE floats): decoded and resampled to 16 kHz by
 * mm-media, then mm_frontend_clip with contract @p (DC removal, word cut,
 * centring). *@span (may be NULL): the samples of the decoded recording that
 * became the word. Fails with MM_ERROR_NO_WORD when @p cuts with the
 * detector and it finds none. */
gboolean mm_recording_clip (const MmMfccParams *p, const char *path, float *clip,
                            MmWordSpan *span, GError **error);
/* mm_recording_clip, then mm_mfcc_compute with @m into @out (39×13). */
gboolean mm_recording_block (MmMfcc *m, const char *path, float *out, MmWordSpan *span,
                             GError **error);

/* All recordings "{digit}_{speaker}_{index}.wav" of the directory @dir
 * (@what names them in messages, e.g. "FSDD") with their MFCC (@params: NULL
 * = defaults) and, when @waves, the one-second 16 kHz clips the features are
 * made from (waveform augmentation computes features from them anew each
 * epoch) and each recording's score (MmFsdd.score), each recording decoded once. With word_cut "detector", a recording in which the detector finds
 * no word is taken whole (every index keeps its clip) and their number is
 * printed. Features and clips come from caches in $MMDIGITS_CACHE, else <user
 * cache dir>/mmdigits, when caches made from the same files (names, sizes,
 * mtimes) — and, for features, the same parameters — exist and are intact;
 * otherwise every file is decoded in parallel (one worker per processor) and
 * the caches are (re)written atomically. Prints one line on stderr when it
 * decodes. */
MmFsdd  *mm_speech_load (const char *dir, const char *what, const MmMfccParams *params,
                         gboolean waves, GError **error);
/* mm_speech_load of <data_dir>/fsdd/recordings. */
MmFsdd  *mm_fsdd_load (const char *data_dir, const MmMfccParams *params, gboolean waves,
                       GError **error);
void     mm_fsdd_free (MmFsdd *f);

G_END_DECLS
