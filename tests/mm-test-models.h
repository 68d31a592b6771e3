/* mmdigits tests — the model files, inputs and expected outputs that the
 * core's model-set tests and the mmclassify element tests share.
 *
 * No Check here: the element tests link GStreamer's gst-check, which
 * carries its own copy of Check's symbols, so these helpers report failure
 * by their return value and each test asserts with its own framework. */
#pragma once

#include <glib.h>

#include "mm-net.h"

G_BEGIN_DECLS

/* Removes @dir and everything below it (no-op for NULL or a missing one). */
void      mm_test_remove_tree (const char *dir);

/* An untrained @arch (weights from @seed) saved as @dir/@name with a norm
 * that is not the default (so that a missing normalisation shows in the
 * probabilities), temperature @t and, if @mfcc_json is not NULL, that front
 * end. Returns the path (g_free), or NULL with @error set. */
char     *mm_test_save_model (const char *dir, const char *name, MmArch arch, guint64 seed,
                              const char *mfcc_json, float t, GError **error);

/* Test inputs that differ by @pattern: a crop holding a vertical bar whose
 * column depends on it, on black (MM_IMAGE_PIXELS bytes), and an MFCC block
 * of sines (MM_AUDIO_VALUES floats, time-major). */
void      mm_test_fill_crop (guint8 *px, int pattern);
void      mm_test_fill_mfcc (float *v, int pattern);

/* The probabilities by hand, for comparison with a classifier's: the model
 * @file loaded alone, its norm, one forward pass of @gray and/or @mfcc
 * (NULL: not given) and a softmax in double over the model's temperature.
 * FALSE if @file does not load. */
gboolean  mm_test_expected_probs (const char *file, const guint8 *gray, const float *mfcc,
                                  double probs[MM_N_CLASSES]);
/* The same for a word with test-time views: @mfcc holds @n_blocks blocks,
 * and the softmax is of the mean of their logits (in double). */
gboolean  mm_test_expected_probs_views (const char *file, const guint8 *gray, const float *mfcc,
                                        int n_blocks, double probs[MM_N_CLASSES]);

G_END_DECLS
