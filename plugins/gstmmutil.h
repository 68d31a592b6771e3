/* mmdigits plugin — helpers shared by the elements. */
#pragma once

#include <gst/gst.h>

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

/* The directory the plugin was loaded from (set once by plugin_init; NULL
 * for a statically registered plugin). Owned by the plugin. */
const gchar *gst_mm_plugin_dir (void);
void         gst_mm_plugin_dir_set (GstPlugin * plugin);

G_END_DECLS
