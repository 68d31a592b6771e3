/* mmdigits — mfccextract: 16 kHz mono audio → 39×13 MFCC blocks, one per
 * spoken word (utterance mode) or per hop of a sliding 1 s window. */
#pragma once

#include <gst/gst.h>
#include <gst/audio/audio.h>

#include "mm-mfcc.h"

G_BEGIN_DECLS

#define GST_TYPE_MM_MFCC_EXTRACT (gst_mm_mfcc_extract_get_type ())
G_DECLARE_FINAL_TYPE (GstMmMfccExtract, gst_mm_mfcc_extract, GST, MM_MFCC_EXTRACT,
    GstElement)

#define GST_TYPE_MM_MFCC_EXTRACT_MODE (gst_mm_mfcc_extract_mode_get_type ())
GType gst_mm_mfcc_extract_mode_get_type (void);

/* The values of MmCmvn (core/features/mm-mfcc.h), for the cmvn property. */
#define GST_TYPE_MM_MFCC_EXTRACT_CMVN (gst_mm_mfcc_extract_cmvn_get_type ())
GType gst_mm_mfcc_extract_cmvn_get_type (void);

typedef enum
{
  GST_MM_MFCC_EXTRACT_MODE_UTTERANCE,
  GST_MM_MFCC_EXTRACT_MODE_WINDOW,
} GstMmMfccExtractMode;

GST_ELEMENT_REGISTER_DECLARE (mfccextract);

G_END_DECLS
