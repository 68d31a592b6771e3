/* mmdigits — mmtrain: a sink that collects labelled digit crops and MFCC
 * blocks (paired by time window) and trains or fine-tunes a network on them
 * at EOS. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_MM_TRAIN (gst_mm_train_get_type ())
G_DECLARE_FINAL_TYPE (GstMmTrain, gst_mm_train, GST, MM_TRAIN, GstElement)

/* The network to train: one of MmArch, or AUTO for the one matching the
 * requested pads (HybridNet_CNN for both). */
#define GST_TYPE_MM_TRAIN_ARCH (gst_mm_train_arch_get_type ())
GType gst_mm_train_arch_get_type (void);

#define GST_MM_TRAIN_ARCH_AUTO (-1)

GST_ELEMENT_REGISTER_DECLARE (mmtrain);

G_END_DECLS
