/* mmdigits — mmclassify: classifies 28×28 digit crops and 39×13 MFCC blocks,
 * alone or fused by time window, with the core's networks. */
#pragma once

#include <gst/gst.h>
#include <gst/base/gstaggregator.h>

G_BEGIN_DECLS

#define GST_TYPE_MM_CLASSIFY (gst_mm_classify_get_type ())
G_DECLARE_FINAL_TYPE (GstMmClassify, gst_mm_classify, GST, MM_CLASSIFY,
    GstAggregator)

GST_ELEMENT_REGISTER_DECLARE (mmclassify);

G_END_DECLS
