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

G_END_DECLS
