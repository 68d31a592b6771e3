/* mmdigits plugin — helpers shared by the elements. */
#pragma once

#include <gst/gst.h>

#include "mm-mfcc.h"

G_BEGIN_DECLS

/* A new element-message structure named @name with the timing fields every
 * mmdigits message carries, as `level` and `spectrum` do: "timestamp" (@pts),
 * "stream-time" and "running-time" (@pts in @segment; GST_CLOCK_TIME_NONE
 * when the segment is not in time or @pts is invalid) and "duration", all
 * GstClockTime (guint64). The caller adds its payload and owns the result. */
GstStructure *gst_mm_timed_structure_new (const gchar * name, const GstSegment * segment,
    GstClockTime pts, GstClockTime duration);

/* ---- pairing a crop with a spoken word (mmclassify, mmtrain) ---- */

/* An MFCC block without a duration is taken to span one second, as
 * mfccextract's blocks do. */
#define GST_MM_MFCC_BLOCK_DURATION GST_SECOND

/* The running time an item is paired by: a crop's PTS, an MFCC block's
 * centre (PTS + duration / 2; GST_MM_MFCC_BLOCK_DURATION when the duration
 * is unset), in @segment. GST_CLOCK_TIME_NONE when @segment is not in time
 * or @pts is invalid. */
GstClockTime gst_mm_pairing_key (const GstSegment * segment, GstClockTime pts,
    GstClockTime duration, gboolean audio);

/* Whether both keys are valid and at most @window apart. */
gboolean gst_mm_keys_within (GstClockTime a, GstClockTime b, GstClockTime window);

/* ---- the audio front end in the caps (mfccextract, mmclassify, mmtrain) ----
 * audio/x-mfcc carries every member of the front-end contract
 * (MmMfccParams, core/features/mm-mfcc.h), so that a model is never fed features it
 * was not trained on: rate, frame-length, frame-step, nfft, filters,
 * coefficients (ints), low-freq, high-freq, preemphasis (doubles), lifter
 * (int), energy, dc-block (booleans), cmvn (string), frames (int), format
 * F32LE. word_cut is not among them: it says how a whole recording becomes
 * a word, and a stream is always cut by the word detector. */

/* Fixed caps for @p; the caller owns them. */
GstCaps *gst_mm_mfcc_caps_new (const MmMfccParams * p);
/* The contract the fixed audio/x-mfcc caps @caps carry. A field that is
 * absent takes its study value (as a model file's member does), so caps
 * written before the fields existed mean the study's front end; word_cut is
 * left as in @p's defaults. FALSE with @error on a field of the wrong type
 * or an invalid contract. */
gboolean gst_mm_mfcc_params_from_caps (const GstCaps * caps, MmMfccParams * p,
    GError ** error);
/* Whether blocks of a stream whose caps carry @stream are what a model of
 * front end @model was trained on: mm_mfcc_params_equal, or, when @views
 * is FALSE (a learner takes each word's own block), equal but for the
 * views; *@what (may be NULL; free it) names the first difference.
 * word_cut is never compared: the caps do not carry it, and a stream is
 * cut by the word detector whichever way the model's recordings became
 * words, so a model trained with either cut takes the stream. */
gboolean gst_mm_mfcc_stream_fits (const MmMfccParams * model,
    const MmMfccParams * stream, gboolean views, gchar ** what);

/* Posts a WARNING on @element when MMDIGITS_THREADS is set to something
 * that is not a number of threads (mm_threads_env, core/util/mm-threads.h): the
 * networks then use every core, and the user learns why. Called at
 * NULL→READY by the elements that run networks. */
void gst_mm_warn_threads_env (GstElement * element);

/* The directory the plugin was loaded from (set once by plugin_init; NULL
 * for a statically registered plugin). Owned by the plugin. */
const gchar *gst_mm_plugin_dir (void);
void         gst_mm_plugin_dir_set (GstPlugin * plugin);

G_END_DECLS
