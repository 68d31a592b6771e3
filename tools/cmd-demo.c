/* mmdigits demo-media — demo media made from code alone, no data set.
 *
 * A WebM (VP8 + Vorbis) video of grey paper on which digits appear one after
 * the other, drawn as handwriting-like thick strokes, while espeak-ng says
 * each digit's English name, plus a script (TSV) of when each digit is shown
 * and spoken. The demo pipeline plays the video through digitimage,
 * mfccextract and mmclassify and scores the decisions against the script.
 *
 * Timeline: LEAD_S of blank paper, then per digit SHOW_S of the digit
 * followed by GAP_S of blank paper; the word starts WORD_DELAY_S after the
 * digit appears. Every random choice (placement, size, slant, stroke width,
 * wobble, paper texture, voice pitch) comes from --seed.
 */
#include "mm-config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mm-cli.h"
#include "mm-file.h"
#include "mm-rng.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>

#define WIDTH 320
#define HEIGHT 240
#define FPS 10
#define LEAD_S 1.0
#define SHOW_S 2.0
#define GAP_S 1.0
#define WORD_DELAY_S 0.4
/* FSDD's loudest 25 ms hop has a median level of -20 dBFS: speak as loud. */
#define WORD_PEAK_DB -20.0
/* Paper and ink grey levels. */
#define PAPER 212.0f
#define INK 38.0f
/* Most audio or video the encoder may have waiting before we push more. */
#define MAX_QUEUED_BYTES (4 << 20)

#define DEFAULT_DIGITS "3,7,1,0,9,4,2,8,5,6"

static const char *const words[10] = {
  "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"
};

typedef struct
{
  float x, y;
} Pt;

/* ---- glyphs: strokes in a unit box, x in [0, 0.6], y in [0, 1] downwards ---- */

static GArray *
stroke_new (GPtrArray *glyph)
{
  GArray *s = g_array_new (FALSE, FALSE, sizeof (Pt));
  g_ptr_array_add (glyph, s);
  return s;
}

static void
stroke_to (GArray *s, float x, float y)
{
  Pt p = { x, y };
  g_array_append_val (s, p);
}

/* Appends an elliptic arc from angle @t0 to @t1 (degrees; 0 = right,
 * 90 = bottom since y points down). */
static void
stroke_arc (GArray *s, float cx, float cy, float rx, float ry, float t0, float t1)
{
  int n = MAX (4, (int) (fabsf (t1 - t0) / 10.0f));

  for (int i = 0; i <= n; i++) {
    float t = (t0 + (t1 - t0) * i / n) * (float) G_PI / 180.0f;
    stroke_to (s, cx + rx * cosf (t), cy + ry * sinf (t));
  }
}

static GPtrArray *
glyph_new (int digit)
{
  GPtrArray *g = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  GArray *s = stroke_new (g);

  switch (digit) {
    case 0:
      stroke_arc (s, 0.3f, 0.5f, 0.27f, 0.48f, -100, 265);
      break;
    case 1:
      /* a short flag: a long one reads as a 7 to MNIST-trained networks */
      stroke_to (s, 0.25f, 0.1f);
      stroke_to (s, 0.36f, 0.0f);
      stroke_to (s, 0.34f, 1.0f);
      break;
    case 2:
      stroke_arc (s, 0.3f, 0.27f, 0.26f, 0.26f, -165, 35);
      stroke_to (s, 0.03f, 1.0f);
      stroke_to (s, 0.6f, 0.98f);
      break;
    case 3:
      stroke_arc (s, 0.3f, 0.25f, 0.25f, 0.24f, -150, 90);
      stroke_arc (s, 0.3f, 0.73f, 0.29f, 0.26f, -90, 150);
      break;
    case 4:
      stroke_to (s, 0.4f, 0.0f);
      stroke_to (s, 0.0f, 0.66f);
      stroke_to (s, 0.6f, 0.66f);
      s = stroke_new (g);
      stroke_to (s, 0.46f, 0.2f);
      stroke_to (s, 0.44f, 1.0f);
      break;
    case 5:
      stroke_to (s, 0.56f, 0.0f);
      stroke_to (s, 0.12f, 0.0f);
      stroke_to (s, 0.07f, 0.46f);
      stroke_arc (s, 0.3f, 0.69f, 0.28f, 0.29f, -145, 150);
      break;
    case 6:
      stroke_to (s, 0.5f, 0.0f);
      stroke_to (s, 0.24f, 0.24f);
      stroke_to (s, 0.08f, 0.55f);
      stroke_arc (s, 0.31f, 0.73f, 0.24f, 0.26f, 180, 540);
      break;
    case 7:
      stroke_to (s, 0.0f, 0.02f);
      stroke_to (s, 0.6f, 0.0f);
      stroke_to (s, 0.22f, 1.0f);
      break;
    case 8:
      stroke_arc (s, 0.3f, 0.24f, 0.21f, 0.23f, 90, 450);
      s = stroke_new (g);
      stroke_arc (s, 0.3f, 0.73f, 0.27f, 0.27f, -90, 270);
      break;
    case 9:
      stroke_arc (s, 0.3f, 0.27f, 0.26f, 0.26f, 0, 360);
      s = stroke_new (g);
      stroke_to (s, 0.56f, 0.3f);
      stroke_to (s, 0.46f, 1.0f);
      break;
    default:
      g_assert_not_reached ();
  }
  return g;
}

/* ---- drawing ---- */

static float
uniform (MmRng *rng, float lo, float hi)
{
  return lo + (hi - lo) * mm_rng_uniform (rng);
}

/* Distance from @p to segment @a–@b. */
static float
seg_dist (float px, float py, Pt a, Pt b)
{
  float dx = b.x - a.x, dy = b.y - a.y;
  float len2 = dx * dx + dy * dy;
  float t = len2 > 0 ? ((px - a.x) * dx + (py - a.y) * dy) / len2 : 0;

  t = CLAMP (t, 0.0f, 1.0f);
  dx = a.x + t * dx - px;
  dy = a.y + t * dy - py;
  return sqrtf (dx * dx + dy * dy);
}

/* Paints the segment into @cov (ink coverage 0..1, anti-aliased edge). */
static void
draw_segment (float *cov, Pt a, Pt b, float radius)
{
  int x0 = MAX (0, (int) floorf (MIN (a.x, b.x) - radius - 1));
  int x1 = MIN (WIDTH - 1, (int) ceilf (MAX (a.x, b.x) + radius + 1));
  int y0 = MAX (0, (int) floorf (MIN (a.y, b.y) - radius - 1));
  int y1 = MIN (HEIGHT - 1, (int) ceilf (MAX (a.y, b.y) + radius + 1));

  for (int y = y0; y <= y1; y++)
    for (int x = x0; x <= x1; x++) {
      float c = CLAMP (radius + 0.5f - seg_dist (x + 0.5f, y + 0.5f, a, b), 0.0f, 1.0f);
      cov[y * WIDTH + x] = MAX (cov[y * WIDTH + x], c);
    }
}

/* Draws @digit with a random size, place, slant, rotation, stroke width and
 * a smooth wobble of the strokes, as a hand would. */
static void
draw_digit (float *cov, int digit, MmRng *rng)
{
  GPtrArray *g = glyph_new (digit);
  float h = uniform (rng, 110, 165);
  float sx = h * uniform (rng, 0.85f, 1.15f);
  float slant = uniform (rng, -0.05f, 0.3f);
  float rot = uniform (rng, -0.08f, 0.08f);
  float radius = 0.5f * h * uniform (rng, 0.12f, 0.17f);
  float cx = WIDTH / 2 + uniform (rng, -40, 40);
  float cy = HEIGHT / 2 + uniform (rng, -12, 12);
  float ph1 = uniform (rng, 0, 6.3f), ph2 = uniform (rng, 0, 6.3f);
  float amp = uniform (rng, 0.01f, 0.025f);

  memset (cov, 0, sizeof (float) * WIDTH * HEIGHT);
  for (guint i = 0; i < g->len; i++) {
    GArray *s = g_ptr_array_index (g, i);
    Pt prev = { 0, 0 };

    for (guint k = 0; k < s->len; k++) {
      Pt u = g_array_index (s, Pt, k);
      /* wobble in the unit box, then slant, scale, rotate, place */
      float ux = u.x + amp * sinf (6.0f * u.y + ph1) - 0.3f;
      float uy = u.y + amp * sinf (6.0f * u.x + ph2) - 0.5f;
      float x = (ux - slant * uy) * sx, y = uy * h;
      Pt p = { cx + x * cosf (rot) - y * sinf (rot), cy + x * sinf (rot) + y * cosf (rot) };

      if (k > 0)
        draw_segment (cov, prev, p, radius);
      prev = p;
    }
  }
  g_ptr_array_unref (g);
}

/* Paper: a soft light gradient and a fixed grain. */
static void
make_paper (float *paper, MmRng *rng)
{
  float gx = uniform (rng, -12, 12), gy = uniform (rng, -8, 8);

  for (int y = 0; y < HEIGHT; y++)
    for (int x = 0; x < WIDTH; x++)
      paper[y * WIDTH + x] = PAPER + gx * (x / (float) WIDTH - 0.5f)
          + gy * (y / (float) HEIGHT - 0.5f) + uniform (rng, -4, 4);
}

static void
compose_frame (guint8 *out, const float *paper, const float *cov, MmRng *rng)
{
  for (int i = 0; i < WIDTH * HEIGHT; i++) {
    float c = cov ? cov[i] : 0.0f;
    float v = paper[i] * (1 - c) + INK * c + uniform (rng, -2, 2);
    out[i] = (guint8) CLAMP (lrintf (v), 0, 255);
  }
}

/* ---- speech ---- */

/* Reads the samples of espeak-ng's WAV (16-bit mono PCM; it writes to a
 * pipe, so the data chunk's size may be a placeholder: read to the end). */
static float *
parse_wav (GBytes *bytes, int *rate, gsize *n, GError **error)
{
  gsize len;
  const guint8 *d = g_bytes_get_data (bytes, &len);
  gsize pos = 12;
  int channels = 0, bits = 0;

  *rate = 0;
  if (len < 12 || memcmp (d, "RIFF", 4) || memcmp (d + 8, "WAVE", 4))
    goto bad;
  while (pos + 8 <= len) {
    guint32 size = GUINT32_FROM_LE (*(const guint32 *) (d + pos + 4));
    if (!memcmp (d + pos, "fmt ", 4) && pos + 24 <= len) {
      channels = GUINT16_FROM_LE (*(const guint16 *) (d + pos + 10));
      *rate = (int) GUINT32_FROM_LE (*(const guint32 *) (d + pos + 12));
      bits = GUINT16_FROM_LE (*(const guint16 *) (d + pos + 22));
    } else if (!memcmp (d + pos, "data", 4)) {
      gsize avail = MIN ((gsize) size, len - pos - 8) / 2;
      float *s;
      if (channels != 1 || bits != 16 || *rate <= 0)
        goto bad;
      s = g_new (float, MAX (avail, 1));
      for (gsize i = 0; i < avail; i++)
        s[i] = (gint16) GUINT16_FROM_LE (*(const guint16 *) (d + pos + 8 + 2 * i)) / 32768.0f;
      *n = avail;
      return s;
    }
    pos += 8 + size + (size & 1);
  }
bad:
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
      "espeak-ng gave no 16-bit mono WAV data");
  return NULL;
}

/* Level of the loudest 25 ms hop of @s[0..n), dB full scale. */
static double
peak_hop_db (const float *s, gsize n, int rate, gsize *first, gsize *last, double floor_db)
{
  gsize hop = rate / 40;
  double peak = -200;

  for (int pass = 0; pass < 2; pass++)
    for (gsize i = 0; i + hop <= n; i += hop) {
      double e = 0;
      for (gsize k = 0; k < hop; k++)
        e += (double) s[i + k] * s[i + k];
      e = 10 * log10 (e / hop + 1e-20);   /* as mfccextract: square wave = 0 dB */
      if (pass == 0)
        peak = MAX (peak, e);
      else if (e > peak + floor_db) {
        if (*first == G_MAXSIZE)
          *first = i;
        *last = i + hop;
      }
    }
  return peak;
}

/* Speaks @word with espeak-ng and returns it trimmed of silence and scaled
 * to WORD_PEAK_DB; @rate receives espeak's sample rate. */
static float *
speak (const char *word, int pitch, int *rate, gsize *n, GError **error)
{
  char pitch_s[16];
  GSubprocess *p;
  GBytes *out = NULL;
  float *s, *t;
  gsize n_all, first = G_MAXSIZE, last = 0;
  double peak, gain;

  g_snprintf (pitch_s, sizeof pitch_s, "%d", pitch);
  p = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_SILENCE, error,
      "espeak-ng", "--stdout", "-v", "en", "-s", "140", "-p", pitch_s, word, NULL);
  if (!p) {
    g_prefix_error (error, "cannot run espeak-ng (install the espeak-ng package): ");
    return NULL;
  }
  if (!g_subprocess_communicate (p, NULL, NULL, &out, NULL, error)
      || !g_subprocess_wait_check (p, NULL, error)) {
    g_prefix_error (error, "espeak-ng failed on \"%s\": ", word);
    g_clear_pointer (&out, g_bytes_unref);
    g_object_unref (p);
    return NULL;
  }
  g_object_unref (p);
  s = parse_wav (out, rate, &n_all, error);
  g_bytes_unref (out);
  if (!s)
    return NULL;
  /* keep what lies within 40 dB of the loudest hop */
  peak = peak_hop_db (s, n_all, *rate, &first, &last, -40.0);
  if (first == G_MAXSIZE) {
    g_free (s);
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "espeak-ng said nothing for \"%s\"", word);
    return NULL;
  }
  gain = pow (10.0, (WORD_PEAK_DB - peak) / 20.0);
  *n = last - first;
  t = g_new (float, *n);
  for (gsize i = 0; i < *n; i++)
    t[i] = (float) (s[first + i] * gain);
  g_free (s);
  return t;
}

/* ---- the encoding pipeline ---- */

typedef struct
{
  GstElement *pipeline;
  GstAppSrc *vsrc, *asrc;
  GstBus *bus;
} Encoder;

static gboolean
encoder_check_error (Encoder *enc, GstClockTime timeout, GError **error)
{
  GstMessage *m = gst_bus_timed_pop_filtered (enc->bus, timeout, GST_MESSAGE_ERROR);

  if (!m)
    return TRUE;
  gst_message_parse_error (m, error, NULL);
  gst_message_unref (m);
  return FALSE;
}

/* Pushes @buf, first waiting while the encoder is behind, so that memory
 * stays bounded however long the script. */
static gboolean
encoder_push (Encoder *enc, GstAppSrc *src, GstBuffer *buf, GError **error)
{
  while (gst_app_src_get_current_level_bytes (src) > MAX_QUEUED_BYTES)
    if (!encoder_check_error (enc, 10 * GST_MSECOND, error)) {
      gst_buffer_unref (buf);
      return FALSE;
    }
  if (gst_app_src_push_buffer (src, buf) != GST_FLOW_OK)
    return encoder_check_error (enc, GST_SECOND, error);
  return TRUE;
}

static gboolean
encoder_start (Encoder *enc, const char *path, int rate, gboolean full_band, GError **error)
{
  /* Band-limiting through 8 kHz makes the speech sound like FSDD, the
   * 8 kHz recordings the audio networks learn from. */
  char *desc = g_strdup_printf (
      "appsrc name=vsrc format=time "
      "caps=video/x-raw,format=GRAY8,width=%d,height=%d,framerate=%d/1 "
      "! videoconvert ! vp8enc deadline=1 target-bitrate=800000 keyframe-max-dist=30 "
      "! queue max-size-time=3000000000 ! webmmux name=mux ! filesink name=sink "
      "appsrc name=asrc format=time "
      "caps=audio/x-raw,format=F32LE,rate=%d,channels=1,layout=interleaved "
      "! audioconvert ! audioresample %s ! audioresample "
      "! audio/x-raw,rate=16000,channels=1 ! audioconvert ! vorbisenc quality=0.6 "
      "! queue max-size-time=3000000000 ! mux.",
      WIDTH, HEIGHT, FPS, rate, full_band ? "" : "! audio/x-raw,rate=8000");
  GstElement *sink;

  enc->pipeline = gst_parse_launch (desc, error);
  g_free (desc);
  if (!enc->pipeline) {
    g_prefix_error (error, "cannot build the encoder (needs vp8enc, vorbisenc, webmmux "
        "from gstreamer1.0-plugins-good/base): ");
    return FALSE;
  }
  sink = gst_bin_get_by_name (GST_BIN (enc->pipeline), "sink");
  g_object_set (sink, "location", path, NULL);
  gst_object_unref (sink);
  enc->vsrc = GST_APP_SRC (gst_bin_get_by_name (GST_BIN (enc->pipeline), "vsrc"));
  enc->asrc = GST_APP_SRC (gst_bin_get_by_name (GST_BIN (enc->pipeline), "asrc"));
  enc->bus = gst_element_get_bus (enc->pipeline);
  if (gst_element_set_state (enc->pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE)
    return TRUE;
  if (encoder_check_error (enc, GST_SECOND, error))
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_STATE_CHANGE, "the encoder does not start");
  return FALSE;
}

static gboolean
encoder_finish (Encoder *enc, GError **error)
{
  GstMessage *m;
  gboolean ok;

  gst_app_src_end_of_stream (enc->vsrc);
  gst_app_src_end_of_stream (enc->asrc);
  m = gst_bus_timed_pop_filtered (enc->bus, 120 * GST_SECOND,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  ok = m && GST_MESSAGE_TYPE (m) == GST_MESSAGE_EOS;
  if (m && !ok)
    gst_message_parse_error (m, error, NULL);
  else if (!m)
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_FAILED, "the encoder did not finish");
  g_clear_pointer (&m, gst_message_unref);
  return ok;
}

static void
encoder_clear (Encoder *enc)
{
  if (enc->pipeline)
    gst_element_set_state (enc->pipeline, GST_STATE_NULL);
  g_clear_object (&enc->vsrc);
  g_clear_object (&enc->asrc);
  g_clear_object (&enc->bus);
  g_clear_object (&enc->pipeline);
}

/* ---- the script ---- */

typedef struct
{
  int digit;
  double start, end, word_start, word_end;
  float *speech;
  gsize n_speech;
} Item;

static gboolean
parse_digits (const char *s, GArray *items)
{
  char **tok = g_strsplit (s, ",", -1);
  gboolean ok = TRUE;

  for (int i = 0; tok[i]; i++) {
    Item it = { 0 };
    g_strstrip (tok[i]);
    if (strlen (tok[i]) != 1 || !g_ascii_isdigit (tok[i][0])) {
      ok = FALSE;
      break;
    }
    it.digit = tok[i][0] - '0';
    g_array_append_val (items, it);
  }
  g_strfreev (tok);
  return ok && items->len > 0;
}

static gboolean
write_script (const char *path, GArray *items, GError **error)
{
  GString *s = g_string_new ("index\tdigit\tstart_s\tend_s\tword_start_s\tword_end_s\n");
  gboolean ok;

  for (guint i = 0; i < items->len; i++) {
    Item *it = &g_array_index (items, Item, i);
    g_string_append_printf (s, "%u\t%d\t%.3f\t%.3f\t%.3f\t%.3f\n", i, it->digit,
        it->start, it->end, it->word_start, it->word_end);
  }
  ok = g_file_set_contents (path, s->str, (gssize) s->len, error);
  g_string_free (s, TRUE);
  return ok;
}

/* Speaks every word and lays out the timeline; returns the total length. */
static gboolean
plan (GArray *items, MmRng *rng, int *rate, double *total, GError **error)
{
  double t = LEAD_S;

  for (guint i = 0; i < items->len; i++) {
    Item *it = &g_array_index (items, Item, i);
    int r;
    it->speech = speak (words[it->digit], (int) uniform (rng, 35, 65), &r, &it->n_speech, error);
    if (!it->speech)
      return FALSE;
    if (i > 0 && r != *rate) {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "espeak-ng changed its sample rate");
      return FALSE;
    }
    *rate = r;
    it->start = t;
    it->end = t + SHOW_S;
    it->word_start = t + WORD_DELAY_S;
    it->word_end = it->word_start + (double) it->n_speech / r;
    t += SHOW_S + GAP_S;
  }
  *total = t;
  return TRUE;
}

/* Mixes the words into one track at @rate, over a faint noise floor
 * (about -70 dBFS, far below the word detector's threshold). */
static float *
make_track (GArray *items, int rate, gsize n, MmRng *rng)
{
  float *a = g_new (float, n);

  for (gsize i = 0; i < n; i++)
    a[i] = uniform (rng, -5e-4f, 5e-4f);
  for (guint i = 0; i < items->len; i++) {
    Item *it = &g_array_index (items, Item, i);
    gsize at = (gsize) llround (it->word_start * rate);
    for (gsize k = 0; k < it->n_speech && at + k < n; k++)
      a[at + k] += it->speech[k];
  }
  return a;
}

/* Pushes every frame and the audio of the same interval after it, so that
 * the muxer always has both streams. */
static gboolean
encode (Encoder *enc, GArray *items, const float *track, int rate, gsize n_samples,
    int n_frames, MmRng *rng, GError **error)
{
  float *paper = g_new (float, WIDTH * HEIGHT);
  float *cov = g_new (float, WIDTH * HEIGHT);
  int shown = -1;
  gboolean ok = TRUE;

  make_paper (paper, rng);
  for (int f = 0; f < n_frames && ok; f++) {
    double t = (double) f / FPS;
    int cur = -1;
    GstBuffer *vb = gst_buffer_new_allocate (NULL, WIDTH * HEIGHT, NULL);
    GstMapInfo map;
    gsize a0 = gst_util_uint64_scale_int (f, rate, FPS);
    gsize a1 = MIN (n_samples, gst_util_uint64_scale_int (f + 1, rate, FPS));

    for (guint i = 0; i < items->len; i++) {
      Item *it = &g_array_index (items, Item, i);
      if (t >= it->start - 1e-9 && t < it->end - 1e-9)
        cur = (int) i;
    }
    if (cur >= 0 && cur != shown)
      draw_digit (cov, g_array_index (items, Item, cur).digit, rng);
    shown = cur;
    gst_buffer_map (vb, &map, GST_MAP_WRITE);
    compose_frame (map.data, paper, cur >= 0 ? cov : NULL, rng);
    gst_buffer_unmap (vb, &map);
    GST_BUFFER_PTS (vb) = gst_util_uint64_scale_int (f, GST_SECOND, FPS);
    GST_BUFFER_DURATION (vb) = gst_util_uint64_scale_int (f + 1, GST_SECOND, FPS) - GST_BUFFER_PTS (vb);
    ok = encoder_push (enc, enc->vsrc, vb, error);
    if (ok && a1 > a0) {
      GstBuffer *ab = gst_buffer_new_memdup (track + a0, (a1 - a0) * sizeof (float));
      GST_BUFFER_PTS (ab) = gst_util_uint64_scale_int (a0, GST_SECOND, rate);
      GST_BUFFER_DURATION (ab) = gst_util_uint64_scale_int (a1, GST_SECOND, rate) - GST_BUFFER_PTS (ab);
      ok = encoder_push (enc, enc->asrc, ab, error);
    }
  }
  g_free (paper);
  g_free (cov);
  return ok;
}

static void
items_clear (GArray *items)
{
  for (guint i = 0; i < items->len; i++)
    g_free (g_array_index (items, Item, i).speech);
  g_array_unref (items);
}

int
mm_cmd_demo (int argc, char **argv)
{
  char *out_dir = NULL, *digits = NULL, *video = NULL, *video_tmp = NULL, *script = NULL;
  int seed = 1, rate = 0, n_frames;
  gboolean full_band = FALSE;
  GOptionEntry entries[] = {
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out_dir, "Directory for demo.webm and script.tsv", "DIR" },
    { "digits", 0, 0, G_OPTION_ARG_STRING, &digits, "Digits to show and say (default " DEFAULT_DIGITS ")", "D,D,..." },
    { "seed", 's', 0, G_OPTION_ARG_INT, &seed, "Seed of every random choice (default 1)", "N" },
    { "full-band", 0, 0, G_OPTION_ARG_NONE, &full_band, "Keep espeak-ng's full band (default: band-limit to 4 kHz like FSDD)", NULL },
    { NULL }
  };
  const MmCliRange ranges[] = {
    { "seed", 0, G_MAXINT, FALSE },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new ("- make a demo video of drawn and spoken digits");
  GArray *items = g_array_new (FALSE, TRUE, sizeof (Item));
  Encoder enc = { 0 };
  GError *error = NULL;
  MmRng rng;
  double total = 0;
  gsize n_samples;
  float *track = NULL;
  int rc = MM_EXIT_FAILURE;

  mm_cli_add_entries (ctx, entries, ranges);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  if (!mm_cli_parse (ctx, &argc, &argv)) {
    rc = MM_EXIT_USAGE;
    goto out;
  }
  if (!out_dir) {
    rc = MM_EXIT_USAGE;
    fprintf (stderr, "mmdigits: --out DIR is required (see --help)\n");
    goto out;
  }
  if (!parse_digits (digits ? digits : DEFAULT_DIGITS, items)) {
    rc = MM_EXIT_USAGE;
    fprintf (stderr, "mmdigits: --digits wants digits 0-9 separated by commas, not '%s'\n", digits);
    goto out;
  }
  if (g_mkdir_with_parents (out_dir, 0755) < 0) {
    rc = mm_cli_fail ("cannot create %s: %s", out_dir, g_strerror (errno));
    goto out;
  }
  gst_init (NULL, NULL);
  mm_rng_seed (&rng, (guint64) seed, 77);
  video = g_build_filename (out_dir, "demo.webm", NULL);
  /* encoded beside the target and renamed when complete: a failed or
   * interrupted run never leaves a truncated demo.webm */
  video_tmp = g_build_filename (out_dir, ".demo.webm.part", NULL);
  script = g_build_filename (out_dir, "script.tsv", NULL);
  /* both outputs can be written (not a directory or FIFO of that name)
   * before a minute of encoding, not after it */
  if (!mm_file_check_output ("--out", video, NULL, &error)
      || !mm_file_check_output ("--out", script, NULL, &error))
    goto fail;

  if (!plan (items, &rng, &rate, &total, &error))
    goto fail;
  n_frames = (int) lround (total * FPS);
  n_samples = (gsize) llround (total * rate);
  track = make_track (items, rate, n_samples, &rng);
  if (!encoder_start (&enc, video_tmp, rate, full_band, &error)
      || !encode (&enc, items, track, rate, n_samples, n_frames, &rng, &error)
      || !encoder_finish (&enc, &error))
    goto fail;
  encoder_clear (&enc);         /* filesink closes the file */
  if (g_rename (video_tmp, video) != 0) {
    int saved = errno;
    g_set_error (&error, G_FILE_ERROR, g_file_error_from_errno (saved),
        "%s: cannot rename from %s: %s", video, video_tmp, g_strerror (saved));
    goto fail;
  }
  if (!write_script (script, items, &error))
    goto fail;
  printf ("wrote %s (%u digits, %.1f s) and %s\n", video, items->len, total, script);
  rc = MM_EXIT_OK;
  goto out;

fail:
  rc = mm_cli_fail ("demo-media: %s", error->message);
  g_error_free (error);
out:
  encoder_clear (&enc);
  if (video_tmp)
    g_unlink (video_tmp);
  items_clear (items);
  g_free (track);
  g_free (video);
  g_free (video_tmp);
  g_free (script);
  g_free (out_dir);
  g_free (digits);
  g_option_context_free (ctx);
  return rc;
}
