/* mmdigits — digitimage element.
 *
 * Copyright (C) 2025 mmdigits authors. LGPL-2.1-or-later.
 */

/**
 * SECTION:element-digitimage
 * @title: digitimage
 *
 * Finds a written digit in grey video frames and gives it as a 28 × 28
 * MNIST-style crop (light ink on black, longer side scaled to 20 px, centre
 * of mass at the centre), using the core's #MmDigitFinder — the same
 * normalisation the `mmdigits` CLI trains with.
 *
 * Output is sparse: a crop is pushed only when a digit has been held still
 * for #GstMmDigitImage:stable-frames frames (bounding-box IoU above 0.8 and a
 * mean absolute difference of the 28 × 28 crops below 16 grey levels from
 * one frame to the next). After that the element stays quiet until the
 * frame is blank or the crop has changed substantially (mean absolute
 * difference above 32 grey levels from the crop last pushed) and is stable
 * again. Moving the same digit around does not give a new crop, as the crop
 * is centred by its centre of mass. Because of this the source caps have
 * `framerate=0/1` (variable rate); each crop keeps the PTS and duration of
 * the frame it came from. The frames that give no crop become GAP events,
 * so that sinks preroll and aggregators downstream can move on: one GAP
 * covers a run of such frames, from the first one's PTS to the end of the
 * last one, and is sent before the next crop, before any other serialized
 * event (EOS, a new segment or caps), or once the run reaches
 * #GstMmDigitImage:gap-duration (0: one GAP per frame, each of its PTS and
 * duration). A GAP tells only that no crop comes before its end, and an
 * aggregator such as `mmclassify` wakes for every one; at a camera's 30
 * frames a second a GAP per frame would wake it 30 times a second for
 * nothing. The default, 500 ms, keeps what downstream knows of this
 * stream at most half a second behind the frames, and a blank page costs
 * two wake-ups a second. In a live pipeline, a word that `mmclassify`
 * decides without a crop (no crop within its pair-window) may then be
 * decided up to that much later, never later than the latency mmclassify
 * reports, which includes `mfccextract`'s own (over a second). Crops are
 * never held back.
 *
 * Ink is told from paper by a threshold (#GstMmDigitImage:threshold, Otsu's
 * per frame by default). With #GstMmDigitImage:adaptive (the default) the
 * threshold applies to each pixel's distance from the paper level around
 * it rather than to its grey level, so that photos of a page lit unevenly,
 * shadows and paper texture leave a flat background; strokes as wide as
 * about three eighths of the frame's shorter side (thick markers) are still
 * ink. Either way the digit may be anywhere in the frame, dark on light or
 * light on dark (#GstMmDigitImage:polarity).
 *
 * When #GstMmDigitImage:post-messages is %TRUE, every crop is announced by an
 * element message named `digit-roi` with these fields:
 *
 * * #GstClockTime `timestamp`: the PTS of the frame the crop came from.
 * * #GstClockTime `stream-time`: the stream time of that frame.
 * * #GstClockTime `running-time`: the running time of that frame.
 * * #GstClockTime `duration`: the duration of that frame.
 * * #gint `x`: left edge of the digit's bounding box, in frame pixels.
 * * #gint `y`: top edge of the bounding box.
 * * #gint `width`: width of the bounding box.
 * * #gint `height`: height of the bounding box.
 *
 * With #GstMmDigitImage:luma the element also takes 8-bit YUV frames (I420,
 * YV12, NV12, NV21, Y41B, Y42B, Y444) and reads their luma plane as the grey
 * image, without a copy. That plane is not always what `videoconvert` makes
 * of the frame as GRAY8 (it is for BT.601 colorimetry, not for BT.709, whose
 * luma it converts), so the property is off by default: `videoconvert !
 * digitimage` then keeps converting to GRAY8. `mmdigits batch` turns it on
 * for the streams whose conversion it has found to be a copy.
 *
 * An invalid #GstMmDigitImage:roi string is refused with a GLib warning and
 * the current value kept, as GLib refuses a number outside a property's
 * range.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 -m v4l2src ! videoconvert ! video/x-raw,format=GRAY8 ! digitimage polarity=dark-on-light ! videoconvert ! pngenc ! multifilesink location=digit-%03d.png
 * ]| saves one PNG per digit shown to the camera and prints a `digit-roi`
 * message for each.
 */

#include "mm-config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gstdigitimage.h"
#include "gstmmutil.h"

GST_DEBUG_CATEGORY_STATIC (gst_mm_digit_image_debug);
#define GST_CAT_DEFAULT gst_mm_digit_image_debug

#define CROP_SIDE 28
#define CROP_SIZE (CROP_SIDE * CROP_SIDE)

/* Stability between consecutive frames: the box hardly moved and the crop
 * hardly changed (grey levels, 0..255, averaged over the 784 pixels;
 * camera noise on a still digit stays far below this). */
#define STABLE_IOU 0.8
#define STABLE_MAD 16.0
/* A stable crop this far from the one last pushed is a new digit. */
#define CHANGED_MAD 32.0

#define DEFAULT_STABLE_FRAMES 3
#define DEFAULT_THRESHOLD -1
#define DEFAULT_POLARITY MM_POLARITY_AUTO
#define DEFAULT_MIN_AREA 20
#define DEFAULT_ROI ""
#define DEFAULT_POST_MESSAGES TRUE
#define DEFAULT_ADAPTIVE TRUE
#define DEFAULT_LUMA FALSE
#define DEFAULT_GAP_DURATION 500        /* ms */
#define MAX_GAP_DURATION 60000          /* ms */

enum
{
  PROP_0,
  PROP_STABLE_FRAMES,
  PROP_THRESHOLD,
  PROP_POLARITY,
  PROP_MIN_AREA,
  PROP_ROI,
  PROP_POST_MESSAGES,
  PROP_ADAPTIVE,
  PROP_LUMA,
  PROP_GAP_DURATION,
};

struct _GstMmDigitImage
{
  GstBaseTransform parent;

  /* properties, under the object lock */
  guint stable_frames;
  MmDigitParams params;
  gchar *roi;
  gboolean post_messages;
  gboolean luma;
  guint gap_duration_ms;

  /* streaming state */
  GstVideoInfo in_info;
  MmDigitFinder *finder;
  guint8 crop[CROP_SIZE];
  gboolean have_last;           /* the previous frame held a digit */
  guint8 last_crop[CROP_SIZE];
  MmRect last_bbox;
  guint stable;                 /* frames the digit has been still */
  gboolean emitted;             /* a crop of this digit was pushed */
  guint8 emitted_crop[CROP_SIZE];
  /* the run of frames without a crop not yet sent as a GAP: from gap_start
   * (NONE: no run) to gap_end */
  GstClockTime gap_start, gap_end;
};

#define GRAY_CAPS "video/x-raw, format=(string)GRAY8, " \
    "width=(int)[ 1, max ], height=(int)[ 1, max ], " \
    "framerate=(fraction)[ 0/1, max ]"
/* the formats whose first plane is 8-bit luma (#GstMmDigitImage:luma): the
 * one list of them, which `mmdigits batch` reads from this template
 * (mm_media_luma_is_gray8) */
#define LUMA_CAPS "video/x-raw, " \
    "format=(string){ I420, YV12, NV12, NV21, Y41B, Y42B, Y444 }, " \
    "width=(int)[ 1, max ], height=(int)[ 1, max ], " \
    "framerate=(fraction)[ 0/1, max ]"

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GRAY_CAPS "; " LUMA_CAPS));

static GstStaticCaps gray_caps = GST_STATIC_CAPS (GRAY_CAPS);

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("video/x-raw, format=(string)GRAY8, "
        "width=(int)28, height=(int)28, framerate=(fraction)0/1, "
        "pixel-aspect-ratio=(fraction)1/1"));

#define gst_mm_digit_image_parent_class parent_class
G_DEFINE_TYPE (GstMmDigitImage, gst_mm_digit_image, GST_TYPE_BASE_TRANSFORM);

GST_ELEMENT_REGISTER_DEFINE (digitimage, "digitimage", GST_RANK_NONE,
    GST_TYPE_MM_DIGIT_IMAGE);

GType
gst_mm_digit_image_polarity_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {MM_POLARITY_AUTO, "Decide from each frame: the minority side of the "
          "threshold is ink", "auto"},
    {MM_POLARITY_DARK_ON_LIGHT, "Dark ink on light paper", "dark-on-light"},
    {MM_POLARITY_LIGHT_ON_DARK, "Light ink on a dark background",
        "light-on-dark"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstMmDigitImagePolarity", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

/* ---- helpers -------------------------------------------------------- */

/* "x,y,w,h" → rect; "" or NULL → whole frame (0,0,0,0). */
static gboolean
parse_roi (const gchar * str, MmRect * r)
{
  gint x, y, w, h, used = 0;

  if (str == NULL || *str == '\0') {
    *r = (MmRect) {
    0, 0, 0, 0};
    return TRUE;
  }
  if (sscanf (str, " %d , %d , %d , %d %n", &x, &y, &w, &h, &used) != 4
      || str[used] != '\0' || x < 0 || y < 0 || w <= 0 || h <= 0)
    return FALSE;
  *r = (MmRect) {
  x, y, w, h};
  return TRUE;
}

static gdouble
rect_iou (const MmRect * a, const MmRect * b)
{
  gint x0 = MAX (a->x, b->x), y0 = MAX (a->y, b->y);
  gint x1 = MIN (a->x + a->width, b->x + b->width);
  gint y1 = MIN (a->y + a->height, b->y + b->height);
  gdouble inter, uni;

  if (x1 <= x0 || y1 <= y0)
    return 0.0;
  inter = (gdouble) (x1 - x0) * (y1 - y0);
  uni = (gdouble) a->width * a->height + (gdouble) b->width * b->height - inter;
  return uni > 0 ? inter / uni : 0.0;
}

static gdouble
crop_mad (const guint8 * a, const guint8 * b)
{
  guint sum = 0, i;

  for (i = 0; i < CROP_SIZE; i++)
    sum += abs ((gint) a[i] - (gint) b[i]);
  return (gdouble) sum / CROP_SIZE;
}

static void
reset_tracking (GstMmDigitImage * self)
{
  self->have_last = FALSE;
  self->stable = 0;
  self->emitted = FALSE;
}

/* Sends the run of frames without a crop held so far as one GAP event. */
static void
push_pending_gap (GstMmDigitImage * self)
{
  GstClockTime start = self->gap_start, end = self->gap_end;

  if (!GST_CLOCK_TIME_IS_VALID (start))
    return;
  self->gap_start = self->gap_end = GST_CLOCK_TIME_NONE;
  /* a frame without a duration gave a GAP without one before coalescing:
   * a run of such frames ends at its last PTS */
  gst_pad_push_event (GST_BASE_TRANSFORM_SRC_PAD (self),
      gst_event_new_gap (start, end > start ? end - start : GST_CLOCK_TIME_NONE));
}

/* Adds the frame @inbuf, which gave no crop, to the run of such frames;
 * sends the run as a GAP when it spans @max (0: every frame). */
static void
add_to_gap (GstMmDigitImage * self, GstBuffer * inbuf, GstClockTime max)
{
  GstClockTime pts = GST_BUFFER_PTS (inbuf), end = pts;

  if (!GST_BUFFER_PTS_IS_VALID (inbuf))
    return;
  if (GST_BUFFER_DURATION_IS_VALID (inbuf))
    end += GST_BUFFER_DURATION (inbuf);
  /* a frame earlier than the run's end (timestamps going back) starts a
   * new run: a GAP never claims back time it has given */
  if (GST_CLOCK_TIME_IS_VALID (self->gap_start) && pts < self->gap_end)
    push_pending_gap (self);
  if (!GST_CLOCK_TIME_IS_VALID (self->gap_start))
    self->gap_start = pts;
  self->gap_end = MAX (end, pts);
  if (self->gap_end - self->gap_start >= max)
    push_pending_gap (self);
}

static void
clear_pending_gap (GstMmDigitImage * self)
{
  self->gap_start = self->gap_end = GST_CLOCK_TIME_NONE;
}

/* Feeds one frame's result to the tracker; TRUE when its crop is to be
 * pushed. */
static gboolean
track (GstMmDigitImage * self, gboolean found, const MmRect * bbox,
    guint stable_frames)
{
  gboolean still;

  if (!found) {
    if (self->emitted)
      GST_DEBUG_OBJECT (self, "digit gone");
    reset_tracking (self);
    return FALSE;
  }
  still = self->have_last && rect_iou (bbox, &self->last_bbox) > STABLE_IOU
      && crop_mad (self->crop, self->last_crop) < STABLE_MAD;
  self->stable = still ? self->stable + 1 : 1;
  self->have_last = TRUE;
  self->last_bbox = *bbox;
  memcpy (self->last_crop, self->crop, CROP_SIZE);

  if (self->stable < stable_frames)
    return FALSE;
  if (self->emitted && crop_mad (self->crop, self->emitted_crop) <= CHANGED_MAD)
    return FALSE;
  self->emitted = TRUE;
  memcpy (self->emitted_crop, self->crop, CROP_SIZE);
  return TRUE;
}

static void
post_roi (GstMmDigitImage * self, GstBuffer * inbuf, const MmRect * bbox)
{
  GstStructure *s = gst_mm_timed_structure_new ("digit-roi",
      &GST_BASE_TRANSFORM (self)->segment, GST_BUFFER_PTS (inbuf),
      GST_BUFFER_DURATION (inbuf));

  gst_structure_set (s,
      "x", G_TYPE_INT, bbox->x,
      "y", G_TYPE_INT, bbox->y,
      "width", G_TYPE_INT, bbox->width,
      "height", G_TYPE_INT, bbox->height, NULL);
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self), s));
}

/* ---- GstBaseTransform ----------------------------------------------- */

static GstCaps *
gst_mm_digit_image_transform_caps (GstBaseTransform * trans,
    GstPadDirection direction, GstCaps * caps, GstCaps * filter)
{
  GstMmDigitImage *self = GST_MM_DIGIT_IMAGE (trans);
  gboolean luma;
  GstCaps *res;

  GST_OBJECT_LOCK (self);
  luma = self->luma;
  GST_OBJECT_UNLOCK (self);
  /* without luma, GRAY8 alone: an upstream videoconvert then converts */
  if (direction == GST_PAD_SINK)
    res = gst_static_pad_template_get_caps (&src_template);
  else if (luma)
    res = gst_static_pad_template_get_caps (&sink_template);
  else
    res = gst_static_caps_get (&gray_caps);

  /* any GRAY8 frame gives a 28×28 crop, and a crop can come from any
   * GRAY8 frame: the other side never depends on this side's fields */
  if (filter) {
    GstCaps *tmp = gst_caps_intersect_full (filter, res,
        GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref (res);
    res = tmp;
  }
  return res;
}

static gboolean
gst_mm_digit_image_set_caps (GstBaseTransform * trans, GstCaps * incaps,
    GstCaps * outcaps)
{
  GstMmDigitImage *self = GST_MM_DIGIT_IMAGE (trans);
  gboolean luma;

  GST_OBJECT_LOCK (self);
  luma = self->luma;
  GST_OBJECT_UNLOCK (self);
  if (!gst_video_info_from_caps (&self->in_info, incaps))
    return FALSE;
  if (GST_VIDEO_INFO_FORMAT (&self->in_info) != GST_VIDEO_FORMAT_GRAY8 && !luma) {
    GST_DEBUG_OBJECT (self, "%s frames without luma", GST_VIDEO_INFO_NAME (&self->in_info));
    return FALSE;
  }
  GST_DEBUG_OBJECT (self, "%s frames of %dx%d", GST_VIDEO_INFO_NAME (&self->in_info),
      GST_VIDEO_INFO_WIDTH (&self->in_info), GST_VIDEO_INFO_HEIGHT (&self->in_info));
  return TRUE;
}

static gboolean
gst_mm_digit_image_transform_size (GstBaseTransform * trans,
    GstPadDirection direction, GstCaps * caps, gsize size,
    GstCaps * othercaps, gsize * othersize)
{
  if (direction != GST_PAD_SINK)
    return FALSE;               /* a crop says nothing of the frame size */
  *othersize = CROP_SIZE;
  return TRUE;
}

static GstFlowReturn
gst_mm_digit_image_transform (GstBaseTransform * trans, GstBuffer * inbuf,
    GstBuffer * outbuf)
{
  GstMmDigitImage *self = GST_MM_DIGIT_IMAGE (trans);
  GstVideoFrame frame;
  MmDigitParams params;
  MmRect bbox = { 0, 0, 0, 0 };
  guint stable_frames;
  GstClockTime gap_max;
  gboolean post, found;
  gint w = GST_VIDEO_INFO_WIDTH (&self->in_info);
  gint h = GST_VIDEO_INFO_HEIGHT (&self->in_info);

  GST_OBJECT_LOCK (self);
  params = self->params;
  stable_frames = self->stable_frames;
  post = self->post_messages;
  gap_max = self->gap_duration_ms * GST_MSECOND;
  GST_OBJECT_UNLOCK (self);

  if (!gst_video_frame_map (&frame, &self->in_info, inbuf, GST_MAP_READ)) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT, (NULL),
        ("cannot map a %dx%d %s frame", w, h,
            GST_VIDEO_INFO_NAME (&self->in_info)));
    return GST_FLOW_ERROR;
  }
  /* the core clips the ROI to the frame; one wholly outside finds nothing.
   * Plane 0 is the grey image: GRAY8's only plane, or the luma of YUV */
  found = mm_digit_find (self->finder, &params,
      GST_VIDEO_FRAME_PLANE_DATA (&frame, 0), w, h,
      GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0), self->crop, &bbox);
  gst_video_frame_unmap (&frame);

  if (!track (self, found, &bbox, stable_frames)) {
    /* sparse output: a GAP lets sinks preroll and aggregators move on */
    add_to_gap (self, inbuf, gap_max);
    return GST_BASE_TRANSFORM_FLOW_DROPPED;
  }
  /* the frames before this crop, in time order before it */
  push_pending_gap (self);

  GST_DEBUG_OBJECT (self, "digit at %d,%d %dx%d, PTS %" GST_TIME_FORMAT,
      bbox.x, bbox.y, bbox.width, bbox.height,
      GST_TIME_ARGS (GST_BUFFER_PTS (inbuf)));
  if (post)
    post_roi (self, inbuf, &bbox);
  gst_buffer_fill (outbuf, 0, self->crop, CROP_SIZE);
  gst_buffer_set_size (outbuf, CROP_SIZE);
  GST_BUFFER_PTS (outbuf) = GST_BUFFER_PTS (inbuf);
  GST_BUFFER_DTS (outbuf) = GST_BUFFER_DTS (inbuf);
  GST_BUFFER_DURATION (outbuf) = GST_BUFFER_DURATION (inbuf);
  return GST_FLOW_OK;
}

static gboolean
gst_mm_digit_image_sink_event (GstBaseTransform * trans, GstEvent * event)
{
  GstMmDigitImage *self = GST_MM_DIGIT_IMAGE (trans);

  if (GST_EVENT_TYPE (event) == GST_EVENT_FLUSH_STOP) {
    reset_tracking (self);
    clear_pending_gap (self);
  } else if (GST_EVENT_IS_SERIALIZED (event)) {
    /* the held GAP belongs before it: EOS, a segment whose times it is in,
     * caps, a GAP from upstream */
    push_pending_gap (self);
  }
  return GST_BASE_TRANSFORM_CLASS (parent_class)->sink_event (trans, event);
}

static gboolean
gst_mm_digit_image_start (GstBaseTransform * trans)
{
  GstMmDigitImage *self = GST_MM_DIGIT_IMAGE (trans);

  if (self->finder == NULL)
    self->finder = mm_digit_finder_new ();
  reset_tracking (self);
  clear_pending_gap (self);
  return TRUE;
}

static gboolean
gst_mm_digit_image_stop (GstBaseTransform * trans)
{
  GstMmDigitImage *self = GST_MM_DIGIT_IMAGE (trans);

  /* frees the finder's scratch, sized to the largest frame seen */
  g_clear_pointer (&self->finder, mm_digit_finder_free);
  reset_tracking (self);
  clear_pending_gap (self);
  return TRUE;
}

/* ---- GObject -------------------------------------------------------- */

static void
gst_mm_digit_image_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstMmDigitImage *self = GST_MM_DIGIT_IMAGE (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_STABLE_FRAMES:
      self->stable_frames = g_value_get_uint (value);
      break;
    case PROP_THRESHOLD:
      self->params.threshold = g_value_get_int (value);
      break;
    case PROP_POLARITY:
      self->params.polarity = g_value_get_enum (value);
      break;
    case PROP_MIN_AREA:
      self->params.min_area = g_value_get_int (value);
      break;
    case PROP_ROI:{
      const gchar *str = g_value_get_string (value);
      MmRect r;

      if (parse_roi (str, &r)) {
        self->params.roi = r;
        g_free (self->roi);
        self->roi = g_strdup (str ? str : "");
      } else {
        /* as GLib refuses a value outside a property's range: a warning
         * on stderr, the value kept */
        g_warning ("%s: roi must be \"x,y,w,h\" (x, y >= 0; w, h > 0) or "
            "empty, not \"%s\": keeping \"%s\"", GST_OBJECT_NAME (self), str,
            self->roi);
      }
      break;
    }
    case PROP_POST_MESSAGES:
      self->post_messages = g_value_get_boolean (value);
      break;
    case PROP_ADAPTIVE:
      self->params.adaptive = g_value_get_boolean (value);
      break;
    case PROP_LUMA:
      self->luma = g_value_get_boolean (value);
      break;
    case PROP_GAP_DURATION:
      self->gap_duration_ms = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_mm_digit_image_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstMmDigitImage *self = GST_MM_DIGIT_IMAGE (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_STABLE_FRAMES:
      g_value_set_uint (value, self->stable_frames);
      break;
    case PROP_THRESHOLD:
      g_value_set_int (value, self->params.threshold);
      break;
    case PROP_POLARITY:
      g_value_set_enum (value, self->params.polarity);
      break;
    case PROP_MIN_AREA:
      g_value_set_int (value, self->params.min_area);
      break;
    case PROP_ROI:
      g_value_set_string (value, self->roi);
      break;
    case PROP_POST_MESSAGES:
      g_value_set_boolean (value, self->post_messages);
      break;
    case PROP_ADAPTIVE:
      g_value_set_boolean (value, self->params.adaptive);
      break;
    case PROP_LUMA:
      g_value_set_boolean (value, self->luma);
      break;
    case PROP_GAP_DURATION:
      g_value_set_uint (value, self->gap_duration_ms);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_mm_digit_image_finalize (GObject * object)
{
  GstMmDigitImage *self = GST_MM_DIGIT_IMAGE (object);

  g_clear_pointer (&self->finder, mm_digit_finder_free);
  g_free (self->roi);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_mm_digit_image_class_init (GstMmDigitImageClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
      | GST_PARAM_MUTABLE_PLAYING;

  GST_DEBUG_CATEGORY_INIT (gst_mm_digit_image_debug, "digitimage", 0,
      "MNIST-style crops of written digits");

  gobject_class->set_property = gst_mm_digit_image_set_property;
  gobject_class->get_property = gst_mm_digit_image_get_property;
  gobject_class->finalize = gst_mm_digit_image_finalize;

  g_object_class_install_property (gobject_class, PROP_STABLE_FRAMES,
      g_param_spec_uint ("stable-frames", "Stable frames",
          "Frames a digit must stay still before its crop is pushed",
          1, 1000, DEFAULT_STABLE_FRAMES, flags));
  g_object_class_install_property (gobject_class, PROP_THRESHOLD,
      g_param_spec_int ("threshold", "Threshold",
          "Grey level separating ink from background (-1 = Otsu per frame)",
          -1, 255, DEFAULT_THRESHOLD, flags));
  g_object_class_install_property (gobject_class, PROP_POLARITY,
      g_param_spec_enum ("polarity", "Polarity",
          "Which side of the threshold is ink", GST_TYPE_MM_DIGIT_IMAGE_POLARITY,
          DEFAULT_POLARITY, flags));
  g_object_class_install_property (gobject_class, PROP_MIN_AREA,
      g_param_spec_int ("min-area", "Minimum area",
          "Smallest ink component kept (pixels); smaller ones are noise",
          1, G_MAXINT, DEFAULT_MIN_AREA, flags));
  g_object_class_install_property (gobject_class, PROP_ROI,
      g_param_spec_string ("roi", "Region of interest",
          "Part of the frame searched, \"x,y,w,h\" in pixels "
          "(empty = whole frame)", DEFAULT_ROI, flags));
  g_object_class_install_property (gobject_class, PROP_ADAPTIVE,
      g_param_spec_boolean ("adaptive", "Adaptive",
          "Threshold the distance from the local paper level (uneven light, "
          "texture) instead of the grey level itself",
          DEFAULT_ADAPTIVE, flags));
  g_object_class_install_property (gobject_class, PROP_LUMA,
      g_param_spec_boolean ("luma", "Luma",
          "Also take 8-bit YUV frames (I420, NV12, ...), reading their luma "
          "plane as the grey image (videoconvert's GRAY8 may differ from it)",
          DEFAULT_LUMA, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
          | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_GAP_DURATION,
      g_param_spec_uint ("gap-duration", "GAP duration",
          "Longest run of frames without a crop sent as one GAP event (ms; "
          "0 = a GAP per frame)", 0, MAX_GAP_DURATION, DEFAULT_GAP_DURATION,
          flags));
  g_object_class_install_property (gobject_class, PROP_POST_MESSAGES,
      g_param_spec_boolean ("post-messages", "Post messages",
          "Post a digit-roi element message for every crop pushed",
          DEFAULT_POST_MESSAGES, flags));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "Digit image", "Filter/Analyzer/Video",
      "Finds a written digit in grey frames and gives a 28x28 MNIST-style "
      "crop when a new one has been held still", "mmdigits authors");

  trans_class->transform_caps =
      GST_DEBUG_FUNCPTR (gst_mm_digit_image_transform_caps);
  trans_class->set_caps = GST_DEBUG_FUNCPTR (gst_mm_digit_image_set_caps);
  trans_class->transform_size =
      GST_DEBUG_FUNCPTR (gst_mm_digit_image_transform_size);
  trans_class->transform = GST_DEBUG_FUNCPTR (gst_mm_digit_image_transform);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_mm_digit_image_sink_event);
  trans_class->start = GST_DEBUG_FUNCPTR (gst_mm_digit_image_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_mm_digit_image_stop);

  gst_type_mark_as_plugin_api (GST_TYPE_MM_DIGIT_IMAGE_POLARITY, 0);
}

static void
gst_mm_digit_image_init (GstMmDigitImage * self)
{
  self->stable_frames = DEFAULT_STABLE_FRAMES;
  mm_digit_params_init (&self->params);
  self->params.threshold = DEFAULT_THRESHOLD;
  self->params.polarity = DEFAULT_POLARITY;
  self->params.min_area = DEFAULT_MIN_AREA;
  self->params.adaptive = DEFAULT_ADAPTIVE;
  self->roi = g_strdup (DEFAULT_ROI);
  self->post_messages = DEFAULT_POST_MESSAGES;
  self->luma = DEFAULT_LUMA;
  self->gap_duration_ms = DEFAULT_GAP_DURATION;
  clear_pending_gap (self);
}
