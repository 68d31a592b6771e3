/* mmdigits — digitimage: GRAY8 frames → one 28×28 MNIST-style crop each time
 * a new digit has been held still for a few frames. */
#pragma once

#include <gst/gst.h>
#include <gst/base/gstbasetransform.h>
#include <gst/video/video.h>

#include "mm-digit.h"

G_BEGIN_DECLS

#define GST_TYPE_MM_DIGIT_IMAGE (gst_mm_digit_image_get_type ())
G_DECLARE_FINAL_TYPE (GstMmDigitImage, gst_mm_digit_image, GST, MM_DIGIT_IMAGE,
    GstBaseTransform)

#define GST_TYPE_MM_DIGIT_IMAGE_POLARITY (gst_mm_digit_image_polarity_get_type ())
GType gst_mm_digit_image_polarity_get_type (void);

GST_ELEMENT_REGISTER_DECLARE (digitimage);

G_END_DECLS
