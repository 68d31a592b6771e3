/* Decoding media files with GStreamer (see mm-media.h); a build without
 * GStreamer (MM_CLI_GST 0) keeps the file checks and reads 16 kHz mono WAV
 * files with libsndfile alone. */
#include "mm-media.h"

#if MM_CLI_GST
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/audio/audio.h>
#include <gst/audio/gstaudiodecoder.h>
#include <gst/gst.h>
#include <gst/video/gstvideodecoder.h>
#include <gst/video/video.h>
#endif
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sndfile.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mm-error.h"

static void
decode_error (GError **error, const char *path, const char *why)
{
  g_set_error (error, MM_ERROR, MM_ERROR_IO, "%s: could not decode: %s", path, why);
}

#if MM_CLI_GST
/* A pipeline that makes no progress for this long is stuck (a decoder that
 * neither errors nor ends): give up rather than hang the CLI. */
#define STALL_TIMEOUT (30 * GST_SECOND)
#define POLL_INTERVAL (100 * GST_MSECOND)

#define AUDIO_PIPELINE \
  "filesrc name=src ! decodebin ! audioconvert ! audioresample ! " \
  "audio/x-raw,format=F32LE,rate=" G_STRINGIFY (MM_MEDIA_SAMPLE_RATE) \
  ",channels=1,layout=interleaved ! " \
  "appsink name=sink sync=false"

typedef struct {
  GstElement *pipeline;
  GstAppSink *sink;
  GstBus *bus;
} Run;

static gboolean
ensure_gst (GError **error)
{
  static gsize done = 0;
  static GError *init_error = NULL;

  if (g_once_init_enter (&done)) {
    gst_init_check (NULL, NULL, &init_error);
    g_once_init_leave (&done, 1);
  }
  if (init_error) {
    g_set_error (error, MM_ERROR, MM_ERROR_IO, "GStreamer could not be initialised: %s",
        init_error->message);
    return FALSE;
  }
  return TRUE;
}


/* Turns the first ERROR message on the bus (if any) into @error. */
static gboolean
take_bus_error (Run *r, const char *path, GError **error)
{
  GstMessage *msg = gst_bus_pop_filtered (r->bus, GST_MESSAGE_ERROR);
  GError *gerr = NULL;

  if (!msg)
    return FALSE;
  gst_message_parse_error (msg, &gerr, NULL);
  decode_error (error, path, gerr->message);
  g_error_free (gerr);
  gst_message_unref (msg);
  return TRUE;
}

static void
run_stop (Run *r)
{
  if (r->pipeline) {
    gst_element_set_state (r->pipeline, GST_STATE_NULL);
    gst_object_unref (r->pipeline);
  }
  g_clear_pointer (&r->sink, gst_object_unref);
  g_clear_pointer (&r->bus, gst_object_unref);
  memset (r, 0, sizeof *r);
}

static gboolean
run_start (Run *r, const char *description, const char *path, GError **error)
{
  GstElement *src;
  GError *gerr = NULL;

  memset (r, 0, sizeof *r);
  if (!ensure_gst (error))
    return FALSE;
  /* a file that is not there fails more clearly here than from filesrc */
  if (!mm_media_check_file (path, error))
    return FALSE;
  r->pipeline = gst_parse_launch (description, &gerr);
  if (!r->pipeline) {
    decode_error (error, path, gerr ? gerr->message : "could not build the pipeline");
    g_clear_error (&gerr);
    return FALSE;
  }
  g_clear_error (&gerr);   /* missing-plugin warnings surface at run time */
  mm_media_strict_decoders (r->pipeline);
  r->sink = GST_APP_SINK (gst_bin_get_by_name (GST_BIN (r->pipeline), "sink"));
  r->bus = gst_element_get_bus (r->pipeline);
  /* the location is set as a property, never pasted into the description,
   * so that any file name (spaces, '!', quotes) is taken literally */
  src = gst_bin_get_by_name (GST_BIN (r->pipeline), "src");
  g_object_set (src, "location", path, NULL);
  gst_object_unref (src);
  if (gst_element_set_state (r->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    if (!take_bus_error (r, path, error))
      decode_error (error, path, "the pipeline would not start");
    run_stop (r);
    return FALSE;
  }
  return TRUE;
}

/* Next sample, or NULL at EOS (*eos set) or on error (@error set). */
static GstSample *
run_pull (Run *r, const char *path, gboolean *eos, GError **error)
{
  GstClockTime waited = 0;

  *eos = FALSE;
  while (waited < STALL_TIMEOUT) {
    GstSample *s = gst_app_sink_try_pull_sample (r->sink, POLL_INTERVAL);
    if (s)
      return s;
    if (take_bus_error (r, path, error))
      return NULL;
    if (gst_app_sink_is_eos (r->sink)) {
      *eos = TRUE;
      return NULL;
    }
    waited += POLL_INTERVAL;
  }
  decode_error (error, path, "no data for 30 s");
  return NULL;
}

gboolean
mm_media_decode_audio_pipeline (const char *path, float **samples, size_t *n_samples,
    GError **error)
{
  GByteArray *bytes;
  GstSample *s;
  gboolean eos = FALSE;
  Run r;

  *samples = NULL;
  *n_samples = 0;
  if (!run_start (&r, AUDIO_PIPELINE, path, error))
    return FALSE;
  bytes = g_byte_array_new ();
  while ((s = run_pull (&r, path, &eos, error))) {
    GstBuffer *buf = gst_sample_get_buffer (s);
    GstMapInfo map;
    if (buf && gst_buffer_map (buf, &map, GST_MAP_READ)) {
      g_byte_array_append (bytes, map.data, (guint) map.size);
      gst_buffer_unmap (buf, &map);
    }
    gst_sample_unref (s);
  }
  run_stop (&r);
  if (!eos) {
    g_byte_array_free (bytes, TRUE);
    return FALSE;
  }
  if (bytes->len < sizeof (float)) {
    g_byte_array_free (bytes, TRUE);
    decode_error (error, path, "no audio samples");
    return FALSE;
  }
  *n_samples = bytes->len / sizeof (float);
  *samples = (float *) g_byte_array_free (bytes, FALSE);
  return TRUE;
}
#else

#define NO_GST_WAV "this mmdigits was built without GStreamer and reads only 16-bit " \
  "PCM WAV files at 16000 Hz, mono"

gboolean
mm_media_decode_audio_pipeline (const char *path, float **samples, size_t *n_samples,
    GError **error)
{
  *samples = NULL;
  *n_samples = 0;
  decode_error (error, path, NO_GST_WAV);
  return FALSE;
}
#endif

/* Unaligned reads of the file checks below (GStreamer's GST_READ_* without
 * GStreamer). */
static guint32
read_u32_be (const guint8 *d)
{
  guint32 v;
  memcpy (&v, d, sizeof v);
  return GUINT32_FROM_BE (v);
}

static guint64
read_u64_be (const guint8 *d)
{
  guint64 v;
  memcpy (&v, d, sizeof v);
  return GUINT64_FROM_BE (v);
}

static guint32
read_u32_le (const guint8 *d)
{
  guint32 v;
  memcpy (&v, d, sizeof v);
  return GUINT32_FROM_LE (v);
}

/* ---- decoding strictly --------------------------------------------------- */

/* Whether the JPEG @d[0..n) reaches its end-of-image marker: segments are
 * walked by their lengths, entropy-coded data after each start-of-scan up
 * to the next marker (0xFF followed by neither 0x00, a stuffed byte, nor a
 * restart marker). Bytes after EOI (some cameras append data) are fine. */
static gboolean
jpeg_reaches_eoi (const guint8 *d, gsize n)
{
  gsize i = 2;                  /* after SOI */

  while (i + 2 <= n) {
    guint8 m = d[i + 1];

    if (d[i] != 0xFF)
      return FALSE;             /* lost sync: corrupt */
    if (m == 0xFF) {            /* fill byte */
      i++;
      continue;
    }
    if (m == 0xD9)
      return TRUE;
    if ((m >= 0xD0 && m <= 0xD7) || m == 0x01) {        /* RSTn, TEM: no length */
      i += 2;
      continue;
    }
    if (i + 4 > n || ((d[i + 2] << 8) | d[i + 3]) < 2)
      return FALSE;
    i += 2 + ((d[i + 2] << 8) | d[i + 3]);
    if (m == 0xDA)
      while (i + 1 < n && !(d[i] == 0xFF && d[i + 1] != 0x00
              && !(d[i + 1] >= 0xD0 && d[i + 1] <= 0xD7)))
        i++;
  }
  return FALSE;
}

/* ISO BMFF (MP4, MOV, 3GP): the top-level boxes, walked by their sizes,
 * must end within the file, and one of them must be the index ('moov'),
 * which a recorder writes last. qtdemux plays a cut 'mdat' to where it
 * ends, silently. FALSE with @why set. */
static gboolean
bmff_complete (const guint8 *d, gsize n, char *why, gsize why_len)
{
  guint64 pos = 0;
  gboolean moov = FALSE;

  while (pos + 8 <= n) {
    guint64 size = read_u32_be (d + pos), header = 8;

    if (size == 1) {            /* a 64-bit size follows the type */
      if (pos + 16 > n)
        break;
      size = read_u64_be (d + pos + 8);
      header = 16;
    } else if (size == 0) {     /* the last box: to the end of the file */
      size = n - pos;
    }
    if (!memcmp (d + pos + 4, "moov", 4))
      moov = TRUE;
    if (size < header || size > n - pos) {
      g_snprintf (why, why_len, "its '%.4s' box at byte %" G_GUINT64_FORMAT " needs %"
          G_GUINT64_FORMAT " bytes, the file has %" G_GUINT64_FORMAT " from there",
          (const char *) d + pos + 4, pos, size, (guint64) (n - pos));
      return FALSE;
    }
    pos += size;
  }
  if (pos != n) {
    g_snprintf (why, why_len, "it ends inside a box header at byte %" G_GUINT64_FORMAT, pos);
    return FALSE;
  }
  if (!moov) {
    g_snprintf (why, why_len, "it has no 'moov' box, the index a recorder writes last");
    return FALSE;
  }
  return TRUE;
}

/* An EBML variable-length integer at d[*pos]: its length from the leading
 * zeros of the first byte; the value without the length marker, unless
 * @keep_marker (element IDs keep it). *@unknown (may be NULL): every value
 * bit set, the "size unknown" of a stream written live. FALSE past the end
 * or on a first byte of zero (no valid length). */
static gboolean
ebml_vint (const guint8 *d, gsize n, gsize *pos, gboolean keep_marker, guint64 *value,
    gboolean *unknown)
{
  int len = 1;
  guint64 v;

  if (*pos >= n || d[*pos] == 0)
    return FALSE;
  while (!(d[*pos] & (0x80 >> (len - 1))))
    len++;
  if (*pos + len > n)
    return FALSE;
  v = keep_marker ? d[*pos] : (guint64) (d[*pos] & (0xFF >> len));
  for (int i = 1; i < len; i++)
    v = (v << 8) | d[*pos + i];
  if (unknown)
    *unknown = !keep_marker && v == (G_GUINT64_CONSTANT (1) << (7 * len)) - 1;
  *value = v;
  *pos += len;
  return TRUE;
}

/* A Segment of unknown size, from @pos (a stream written live, e.g. by
 * matroskamux streamable=true): its elements, and the blocks of a Cluster
 * of unknown size (walked as if they followed it: the next Cluster or Cues
 * comes after them), must end within the file by their sizes. A stream
 * stopped between two elements is whole as far as anyone can tell; one cut
 * inside an element is not. */
static gboolean
ebml_live_complete (const guint8 *d, gsize n, gsize pos, char *why, gsize why_len)
{
  while (pos < n) {
    gsize start = pos;
    guint64 id, size;
    gboolean unknown;

    if (!ebml_vint (d, n, &pos, TRUE, &id, NULL)
        || !ebml_vint (d, n, &pos, FALSE, &size, &unknown)) {
      g_snprintf (why, why_len, "it ends inside an element header at byte %" G_GSIZE_FORMAT,
          start);
      return FALSE;
    }
    if (id == 0x1A45DFA3 || id == 0x18538067)
      return TRUE;              /* a chained stream: the demuxer's to follow */
    if (unknown)                /* a live Cluster: its blocks follow */
      continue;
    if (size > n - pos) {
      g_snprintf (why, why_len, "its element 0x%" G_GINT64_MODIFIER "X at byte %" G_GSIZE_FORMAT
          " needs %" G_GUINT64_FORMAT " bytes, the file has %" G_GSIZE_FORMAT " from there",
          id, start, size + (pos - start), n - start);
      return FALSE;
    }
    pos += size;
  }
  return TRUE;
}

/* Matroska and WebM: the Segment (everything after the EBML header) must
 * be as long as its size says; a live stream's size is "unknown", and then
 * its elements must end within the file (ebml_live_complete).
 * matroskademux plays a cut file to where it ends, silently. */
static gboolean
ebml_complete (const guint8 *d, gsize n, char *why, gsize why_len)
{
  gsize pos = 0;
  guint64 id, size;
  gboolean unknown;

  /* the EBML header element, then the Segment */
  if (!ebml_vint (d, n, &pos, TRUE, &id, NULL) || !ebml_vint (d, n, &pos, FALSE, &size, &unknown)
      || unknown || size > n - pos)
    goto cut;
  pos += size;
  if (!ebml_vint (d, n, &pos, TRUE, &id, NULL) || id != 0x18538067
      || !ebml_vint (d, n, &pos, FALSE, &size, &unknown))
    goto cut;
  if (unknown)
    return ebml_live_complete (d, n, pos, why, why_len);
  if (size > n - pos) {
    g_snprintf (why, why_len, "its Segment needs %" G_GUINT64_FORMAT " bytes, the file has %"
        G_GUINT64_FORMAT " from there", size, (guint64) (n - pos));
    return FALSE;
  }
  return TRUE;
cut:
  g_snprintf (why, why_len, "it ends before its Segment starts");
  return FALSE;
}

/* Ogg: the pages, walked by their segment tables, must end within the
 * file, and every logical stream begun (BOS flag) must end with its
 * end-of-stream page (EOS flag), which a muxer writes last: a file cut
 * between two pages is cut too. oggdemux plays a cut file to where it
 * ends, silently. */
static gboolean
ogg_complete (const guint8 *d, gsize n, char *why, gsize why_len)
{
  gsize pos = 0;
  int open = 0;
  guint32 serial = 0;

  while (pos < n) {
    gsize len = 27, segments;

    if (n - pos < 4 || memcmp (d + pos, "OggS", 4)) {
      g_snprintf (why, why_len, "no Ogg page at byte %" G_GSIZE_FORMAT, pos);
      return FALSE;
    }
    /* the header, its segment table, then the lacing values' sum */
    segments = n - pos >= 27 ? d[pos + 26] : 0;
    len += segments;
    for (gsize i = 0; i < segments && pos + 27 + i < n; i++)
      len += d[pos + 27 + i];
    if (len > n - pos) {
      g_snprintf (why, why_len, "its page at byte %" G_GSIZE_FORMAT " needs %" G_GSIZE_FORMAT
          " bytes, the file has %" G_GSIZE_FORMAT " from there", pos, len, n - pos);
      return FALSE;
    }
    serial = read_u32_le (d + pos + 14);
    open += ((d[pos + 5] & 0x02) != 0) - ((d[pos + 5] & 0x04) != 0);
    pos += len;
  }
  if (open > 0) {
    g_snprintf (why, why_len, "its stream %u ends without an end-of-stream page: "
        "cut between two pages?", serial);
    return FALSE;
  }
  return TRUE;
}

/* The header a file's kind and, for RIFF, its check need. */
#define HEAD_BYTES 12

/* Whether the file whose first bytes are @head (@n long in all) is of a
 * kind whose check walks the whole file (JPEG, MP4/MOV, Matroska/WebM,
 * Ogg); a RIFF file is checked from its header and length alone. */
static gboolean
check_needs_contents (const guint8 *head, gsize n)
{
  return (n >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF)
      || (n >= 12 && !memcmp (head + 4, "ftyp", 4))
      || (n >= 4 && read_u32_be (head) == 0x1A45DFA3)
      || (n >= 4 && !memcmp (head, "OggS", 4));
}

/* The checks on a file of @n bytes of which @d holds the first @avail
 * (all of them, or HEAD_BYTES of a kind check_needs_contents refuses). */
static gboolean
check_contents (const char *path, const guint8 *d, gsize avail, gsize n, GError **error)
{
  const char *kind = NULL;
  char why[160];

  if (n >= 12 && !memcmp (d, "RIFF", 4)) {
    /* WAV, AVI: wavparse plays a cut file to its end without a word; the
     * RIFF size says how long it was (0 and 0xFFFFFFFF: written as a
     * stream, size unknown) */
    guint64 riff = read_u32_le (d + 4);

    if (riff != 0 && riff != G_MAXUINT32 && riff + 8 > n) {
      g_set_error (error, MM_ERROR, MM_ERROR_FORMAT, "%s: could not decode: truncated "
          "%.4s file (its header says %" G_GUINT64_FORMAT " bytes, the file has %"
          G_GSIZE_FORMAT ")", path, (const char *) d + 8, riff + 8, n);
      return FALSE;
    }
    return TRUE;
  }
  if (avail < n)
    return TRUE;
  if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF && !jpeg_reaches_eoi (d, n)) {
    g_set_error (error, MM_ERROR, MM_ERROR_FORMAT, "%s: could not decode: truncated or "
        "corrupt JPEG (the data ends before the end-of-image marker)", path);
    return FALSE;
  } else if (n >= 12 && !memcmp (d + 4, "ftyp", 4)) {
    kind = bmff_complete (d, n, why, sizeof why) ? NULL : "MP4/MOV";
  } else if (n >= 4 && read_u32_be (d) == 0x1A45DFA3) {
    kind = ebml_complete (d, n, why, sizeof why) ? NULL : "Matroska/WebM";
  } else if (n >= 4 && !memcmp (d, "OggS", 4)) {
    kind = ogg_complete (d, n, why, sizeof why) ? NULL : "Ogg";
  }
  if (kind) {
    g_set_error (error, MM_ERROR, MM_ERROR_FORMAT, "%s: could not decode: truncated or "
        "corrupt %s file (%s)", path, kind, why);
    return FALSE;
  }
  return TRUE;
}

/* The file is read (pread of its header) and mapped only for the kinds
 * whose check walks it: a WAV file costs two small reads, not a mapping,
 * whose unmapping in a process with several threads makes the kernel
 * flush the other cores' TLBs (batch reads thousands of them). */
gboolean
mm_media_check_file (const char *path, GError **error)
{
  guint8 head[HEAD_BYTES];
  struct stat st;
  gssize got;
  gboolean ok = TRUE;
  int fd;

  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR)) {
    g_set_error (error, MM_ERROR, MM_ERROR_IO, "%s: %s", path,
        g_file_test (path, G_FILE_TEST_EXISTS) ? "not a regular file" : "no such file");
    return FALSE;
  }
  if ((fd = g_open (path, O_RDONLY | O_CLOEXEC, 0)) < 0)
    return TRUE;                /* an unreadable file: filesrc says why */
  if (fstat (fd, &st) != 0
      || (got = pread (fd, head, MIN ((gsize) st.st_size, sizeof head), 0)) < 0
      || (gsize) got != MIN ((gsize) st.st_size, sizeof head)) {
    close (fd);
    return TRUE;                /* as unreadable */
  }
  if (check_needs_contents (head, (gsize) st.st_size)) {
    GMappedFile *f = g_mapped_file_new_from_fd (fd, FALSE, NULL);

    if (f) {
      ok = check_contents (path, (const guint8 *) g_mapped_file_get_contents (f),
          g_mapped_file_get_length (f), g_mapped_file_get_length (f), error);
      g_mapped_file_unref (f);
    }
  } else {
    ok = check_contents (path, head, (gsize) got, (gsize) st.st_size, error);
  }
  close (fd);
  return ok;
}

#if MM_CLI_GST
static void
on_element_added (GstBin *bin, GstBin *sub_bin, GstElement *element, gpointer user_data)
{
  /* max-errors 0: the first error is fatal (the default, -1, skips all) */
  if (GST_IS_VIDEO_DECODER (element))
    gst_video_decoder_set_max_errors (GST_VIDEO_DECODER (element), 0);
  else if (GST_IS_AUDIO_DECODER (element))
    gst_audio_decoder_set_max_errors (GST_AUDIO_DECODER (element), 0);
}

void
mm_media_strict_decoders (GstElement *pipeline)
{
  g_signal_connect (pipeline, "deep-element-added", G_CALLBACK (on_element_added), NULL);
}

static GstPadProbeReturn
count_buffer (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  g_atomic_int_inc ((gint *) user_data);
  return GST_PAD_PROBE_OK;
}

void
mm_media_count_buffers (GstElement *element, gint *count)
{
  GstPad *pad = gst_element_get_static_pad (element, "sink");

  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
      count_buffer, count, NULL);
  gst_object_unref (pad);
}

/* The probe frame of mm_media_luma_is_gray8: every luma level four times,
 * the chroma bytes from a generator. */
#define LUMA_PROBE_W 64
#define LUMA_PROBE_H 16

/* Whether digitimage's luma takes frames of @format: a format of its sink
 * pad template other than GRAY8 (the template is the one list of those
 * formats; a grey stream needs no probe). FALSE without the element. */
static gboolean
digitimage_takes_luma (const char *format)
{
  GstElementFactory *factory;
  GstCaps *want, *tmpl;
  gboolean takes = FALSE;

  if (strcmp (format, "GRAY8") == 0 || !(factory = gst_element_factory_find ("digitimage")))
    return FALSE;
  want = gst_caps_new_simple ("video/x-raw", "format", G_TYPE_STRING, format, NULL);
  for (const GList *l = gst_element_factory_get_static_pad_templates (factory); l; l = l->next) {
    GstStaticPadTemplate *t = l->data;

    if (t->direction != GST_PAD_SINK)
      continue;
    tmpl = gst_static_caps_get (&t->static_caps);
    takes |= gst_caps_can_intersect (want, tmpl);
    gst_caps_unref (tmpl);
  }
  gst_caps_unref (want);
  gst_object_unref (factory);
  return takes;
}

gboolean
mm_media_luma_is_gray8 (const GstCaps *caps)
{
  const GstStructure *st = gst_caps_get_size (caps) == 1 ? gst_caps_get_structure (caps, 0)
      : NULL;
  const char *format = st ? gst_structure_get_string (st, "format") : NULL;
  GstCaps *probe;
  GstVideoInfo in, out;
  GstVideoFrame frame, gray;
  GstElement *pipeline, *src, *sink;
  GstBuffer *buf;
  GstSample *sample = NULL;
  GError *err = NULL;
  gboolean same = FALSE;
  guint32 seed = 2463534242u;

  if (!format || !gst_structure_has_name (st, "video/x-raw")
      || !digitimage_takes_luma (format))
    return FALSE;
  /* the stream's caps but for the frame size: colorimetry, chroma siting
   * and interlacing as the stream has them */
  probe = gst_caps_copy (caps);
  gst_caps_set_simple (probe, "width", G_TYPE_INT, LUMA_PROBE_W, "height", G_TYPE_INT,
      LUMA_PROBE_H, NULL);
  if (!gst_video_info_from_caps (&in, probe)) {
    gst_caps_unref (probe);
    return FALSE;
  }
  pipeline = gst_parse_launch ("appsrc name=src ! videoconvert "
      "! video/x-raw,format=GRAY8 ! appsink name=sink sync=false", &err);
  if (!pipeline || err) {
    g_clear_error (&err);
    g_clear_object (&pipeline);
    gst_caps_unref (probe);
    return FALSE;
  }
  src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  g_object_set (src, "caps", probe, "format", GST_FORMAT_TIME, NULL);
  buf = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (&in), NULL);
  gst_video_frame_map (&frame, &in, buf, GST_MAP_WRITE);
  for (guint p = 0; p < GST_VIDEO_FRAME_N_PLANES (&frame); p++) {
    guint8 *d = GST_VIDEO_FRAME_PLANE_DATA (&frame, p);
    int stride = GST_VIDEO_FRAME_PLANE_STRIDE (&frame, p);
    int rows = p == 0 ? LUMA_PROBE_H : GST_VIDEO_FRAME_COMP_HEIGHT (&frame, p);

    for (int y = 0; y < rows; y++)
      for (int x = 0; x < stride; x++) {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        d[(size_t) y * stride + x] = p == 0 ? (guint8) (y * LUMA_PROBE_W + x) : (guint8) seed;
      }
  }
  gst_video_frame_unmap (&frame);
  GST_BUFFER_PTS (buf) = 0;
  if (gst_element_set_state (pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE
      && gst_app_src_push_buffer (GST_APP_SRC (src), gst_buffer_ref (buf)) == GST_FLOW_OK
      && gst_app_src_end_of_stream (GST_APP_SRC (src)) == GST_FLOW_OK)
    sample = gst_app_sink_try_pull_sample (GST_APP_SINK (sink), 10 * GST_SECOND);
  if (sample && gst_video_info_from_caps (&out, gst_sample_get_caps (sample))
      && GST_VIDEO_INFO_FORMAT (&out) == GST_VIDEO_FORMAT_GRAY8
      && GST_VIDEO_INFO_WIDTH (&out) == LUMA_PROBE_W
      && GST_VIDEO_INFO_HEIGHT (&out) == LUMA_PROBE_H
      && gst_video_frame_map (&gray, &out, gst_sample_get_buffer (sample), GST_MAP_READ)) {
    gst_video_frame_map (&frame, &in, buf, GST_MAP_READ);
    same = TRUE;
    for (int y = 0; y < LUMA_PROBE_H; y++)
      same &= memcmp ((const guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&frame, 0)
          + (size_t) y * GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0),
          (const guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&gray, 0)
          + (size_t) y * GST_VIDEO_FRAME_PLANE_STRIDE (&gray, 0), LUMA_PROBE_W) == 0;
    gst_video_frame_unmap (&frame);
    gst_video_frame_unmap (&gray);
  }
  if (sample)
    gst_sample_unref (sample);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_buffer_unref (buf);
  gst_object_unref (src);
  gst_object_unref (sink);
  gst_object_unref (pipeline);
  gst_caps_unref (probe);
  return same;
}
#endif

/* ---- reading WAV files without a pipeline ------------------------------- */

/* Frames read from the file per step: bounded scratch for long recordings. */
#define WAV_CHUNK 16384

/* RIFF files up to this size are read whole (two reads) and given to
 * libsndfile from memory: opening a file itself, libsndfile makes some
 * thirty small reads, seeks and stats to parse a WAV header, a large part
 * of what batch spends on a one-second recording. A larger file (a long
 * recording) is opened by libsndfile, which streams it. */
#define WAV_IN_MEMORY (4 << 20)

/* A file open for libsndfile. */
typedef struct {
  SNDFILE *sf;
  char *data;                   /* the whole file, or NULL: libsndfile reads it */
  sf_count_t len, pos;
} Wav;

static sf_count_t
mem_length (void *user_data)
{
  return ((Wav *) user_data)->len;
}

static sf_count_t
mem_seek (sf_count_t offset, int whence, void *user_data)
{
  Wav *w = user_data;
  sf_count_t to = whence == SEEK_SET ? offset : whence == SEEK_CUR ? w->pos + offset
      : w->len + offset;

  if (to < 0)
    return -1;
  return w->pos = to;
}

static sf_count_t
mem_read (void *ptr, sf_count_t count, void *user_data)
{
  Wav *w = user_data;
  sf_count_t n = w->pos >= w->len ? 0 : MIN (count, w->len - w->pos);

  memcpy (ptr, w->data + w->pos, (size_t) n);
  w->pos += n;
  return n;
}

static sf_count_t
mem_write (const void *ptr, sf_count_t count, void *user_data)
{
  return 0;
}

static sf_count_t
mem_tell (void *user_data)
{
  return ((Wav *) user_data)->pos;
}

/* Reads @len bytes of @fd into @buf; FALSE if the file ends before. */
static gboolean
read_exactly (int fd, char *buf, gsize len)
{
  gsize got = 0;

  while (got < len) {
    gssize k = read (fd, buf + got, len - got);

    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      return FALSE;
    got += (gsize) k;
  }
  return TRUE;
}

/* The whole of @path (*@len bytes) if it is a RIFF or RIFX file (the WAV
 * files libsndfile reads) of at most WAV_IN_MEMORY bytes, else NULL: any
 * other file is libsndfile's to open and judge, reading only its header
 * (a video is not read whole to be refused). */
static char *
read_small_riff (const char *path, sf_count_t *len)
{
  struct stat st;
  char *data = NULL;
  int fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);

  if (fd < 0)
    return NULL;
  if (fstat (fd, &st) == 0 && S_ISREG (st.st_mode) && st.st_size >= 12
      && st.st_size <= WAV_IN_MEMORY) {
    data = g_malloc ((gsize) st.st_size);
    if (!read_exactly (fd, data, 12)
        || (memcmp (data, "RIFF", 4) && memcmp (data, "RIFX", 4))
        || !read_exactly (fd, data + 12, (gsize) st.st_size - 12))
      g_clear_pointer (&data, g_free);
  }
  close (fd);
  *len = data ? (sf_count_t) st.st_size : 0;
  return data;
}

static void
close_wav (Wav *w)
{
  if (w->sf)
    sf_close (w->sf);
  g_free (w->data);
  w->sf = NULL;
  w->data = NULL;
}

/* Opens @path into @w if libsndfile reads it as a 16-bit PCM WAV of one
 * or two channels (two: audioconvert's default stereo layout, as
 * wavparse's). */
static gboolean
open_wav (Wav *w, const char *path, SF_INFO *info)
{
  SF_VIRTUAL_IO io = { mem_length, mem_seek, mem_read, mem_write, mem_tell };

  memset (w, 0, sizeof *w);
  memset (info, 0, sizeof *info);
  if ((w->data = read_small_riff (path, &w->len)))
    w->sf = sf_open_virtual (&io, SFM_READ, info, w);
  else
    w->sf = sf_open (path, SFM_READ, info);
  if (!w->sf || (info->format & SF_FORMAT_TYPEMASK) != SF_FORMAT_WAV
      || (info->format & SF_FORMAT_SUBMASK) != SF_FORMAT_PCM_16
      || info->channels < 1 || info->channels > 2 || info->samplerate < 1) {
    close_wav (w);
    return FALSE;
  }
  return TRUE;
}

/* Room for @more floats at the end of @out (GArray of float). */
static float *
grow (GArray *out, size_t more)
{
  guint had = out->len;

  g_array_set_size (out, had + (guint) more);
  return &g_array_index (out, float, had);
}

gboolean
mm_media_read_wav_plain (const char *path, double max_seconds, float **samples,
    size_t *n_samples, gboolean *handled, GError **error)
{
  SF_INFO info;
  Wav w;
  SNDFILE *sf;
  GArray *s;
  gint16 *raw;
  gboolean ok = TRUE;

  *handled = FALSE;
  if (!open_wav (&w, path, &info))
    return TRUE;
  sf = w.sf;
  if (info.samplerate != MM_MEDIA_SAMPLE_RATE || info.channels != 1
      || (max_seconds > 0 && info.frames > max_seconds * info.samplerate)) {
    close_wav (&w);
    return TRUE;
  }
  *handled = TRUE;
  s = g_array_new (FALSE, FALSE, sizeof (float));
  raw = g_new (gint16, WAV_CHUNK);
  for (;;) {
    sf_count_t got = sf_readf_short (sf, raw, WAV_CHUNK);
    float *out;

    if (got <= 0)
      break;
    out = grow (s, (size_t) got);
    /* exact: every 16-bit value over 2^15 is a float */
    for (sf_count_t i = 0; i < got; i++)
      out[i] = (float) raw[i] * (1.0f / 32768.0f);
  }
  if (sf_error (sf) != SF_ERR_NO_ERROR) {
    decode_error (error, path, sf_strerror (sf));
    ok = FALSE;
  } else if (s->len == 0) {
    decode_error (error, path, "no audio samples");
    ok = FALSE;
  }
  close_wav (&w);
  g_free (raw);
  if (!ok) {
    g_array_free (s, TRUE);
    return FALSE;
  }
  *n_samples = s->len;
  *samples = (float *) g_array_free (s, FALSE);
  return TRUE;
}

#if MM_CLI_GST
/* audioconvert's GstAudioConverter configuration at its property defaults
 * (gst/audioconvert: dithering tpdf, noise-shaping none, no mix matrix);
 * dithering acts only on integer output, never on our F32. */
static GstStructure *
convert_config (void)
{
  return gst_structure_new ("GstAudioConverterConfig",
      GST_AUDIO_CONVERTER_OPT_DITHER_METHOD, GST_TYPE_AUDIO_DITHER_METHOD, GST_AUDIO_DITHER_TPDF,
      GST_AUDIO_CONVERTER_OPT_NOISE_SHAPING_METHOD, GST_TYPE_AUDIO_NOISE_SHAPING_METHOD,
      GST_AUDIO_NOISE_SHAPING_NONE, NULL);
}

/* audioresample's options at its property defaults (gst/audioresample:
 * kaiser, quality 4, sinc-filter-mode auto with a 1 MiB threshold, cubic
 * interpolation), built as the element builds them for a rate pair. */
static GstStructure *
resample_config (int in_rate, int out_rate)
{
  GstStructure *o = gst_structure_new_empty ("resampler-options");

  gst_audio_resampler_options_set_quality (GST_AUDIO_RESAMPLER_METHOD_KAISER,
      GST_AUDIO_RESAMPLER_QUALITY_DEFAULT, in_rate, out_rate, o);
  gst_structure_set (o,
      GST_AUDIO_CONVERTER_OPT_RESAMPLER_METHOD, GST_TYPE_AUDIO_RESAMPLER_METHOD,
      GST_AUDIO_RESAMPLER_METHOD_KAISER,
      GST_AUDIO_RESAMPLER_OPT_FILTER_MODE, GST_TYPE_AUDIO_RESAMPLER_FILTER_MODE,
      GST_AUDIO_RESAMPLER_FILTER_MODE_AUTO,
      GST_AUDIO_RESAMPLER_OPT_FILTER_MODE_THRESHOLD, G_TYPE_UINT, 1 * 1048576,
      GST_AUDIO_RESAMPLER_OPT_FILTER_INTERPOLATION, GST_TYPE_AUDIO_RESAMPLER_FILTER_INTERPOLATION,
      GST_AUDIO_RESAMPLER_FILTER_INTERPOLATION_CUBIC, NULL);
  return o;
}

/* @frames of mono F32 (NULL: zeros, the drain) through the resampler. */
static void
resample_append (GstAudioConverter *rs, float *in, size_t frames, GArray *out)
{
  gsize n_out = gst_audio_converter_get_out_frames (rs, frames);
  gpointer inp[1] = { in }, outp[1] = { grow (out, n_out) };

  gst_audio_converter_samples (rs, 0, in ? inp : NULL, frames, outp, n_out);
}

gboolean
mm_media_read_wav (const char *path, double max_seconds, float **samples, size_t *n_samples,
    gboolean *handled, GError **error)
{
  SF_INFO info;
  Wav w;
  SNDFILE *sf;
  GstAudioInfo in, mono, out;
  GstAudioConverter *conv = NULL, *rs = NULL;
  GArray *s;
  gint16 *raw;
  float *mid;
  gboolean ok = TRUE;

  *handled = FALSE;
  if (!ensure_gst (error))
    return FALSE;
  if (!open_wav (&w, path, &info))
    return TRUE;
  sf = w.sf;
  if (max_seconds > 0 && info.frames > max_seconds * info.samplerate) {
    close_wav (&w);
    return TRUE;
  }
  *handled = TRUE;
  gst_audio_info_set_format (&in, GST_AUDIO_FORMAT_S16LE, info.samplerate, info.channels, NULL);
  gst_audio_info_set_format (&mono, GST_AUDIO_FORMAT_F32LE, info.samplerate, 1, NULL);
  gst_audio_info_set_format (&out, GST_AUDIO_FORMAT_F32LE, MM_MEDIA_SAMPLE_RATE, 1, NULL);
  /* audioconvert, then audioresample (passthrough at the same rate) */
  conv = gst_audio_converter_new (0, &in, &mono, convert_config ());
  if (info.samplerate != MM_MEDIA_SAMPLE_RATE)
    rs = gst_audio_converter_new (GST_AUDIO_CONVERTER_FLAG_VARIABLE_RATE, &mono, &out,
        resample_config (info.samplerate, MM_MEDIA_SAMPLE_RATE));
  s = g_array_new (FALSE, FALSE, sizeof (float));
  raw = g_new (gint16, (size_t) WAV_CHUNK * info.channels);
  mid = g_new (float, WAV_CHUNK);
  for (;;) {
    sf_count_t got = sf_readf_short (sf, raw, WAV_CHUNK);
    gpointer inp[1] = { raw }, outp[1];

    if (got <= 0)
      break;
    outp[0] = rs ? mid : grow (s, (size_t) got);
    gst_audio_converter_samples (conv, 0, inp, (gsize) got, outp, (gsize) got);
    if (rs)
      resample_append (rs, mid, (size_t) got, s);
  }
  if (sf_error (sf) != SF_ERR_NO_ERROR) {
    decode_error (error, path, sf_strerror (sf));
    ok = FALSE;
  } else if (rs) {
    /* at EOS the element pushes its latency in zeros through the filter */
    resample_append (rs, NULL, gst_audio_converter_get_max_latency (rs), s);
  }
  if (ok && s->len == 0) {
    decode_error (error, path, "no audio samples");
    ok = FALSE;
  }
  close_wav (&w);
  g_free (raw);
  g_free (mid);
  gst_audio_converter_free (conv);
  if (rs)
    gst_audio_converter_free (rs);
  if (!ok) {
    g_array_free (s, TRUE);
    return FALSE;
  }
  *n_samples = s->len;
  *samples = (float *) g_array_free (s, FALSE);
  return TRUE;
}
#else

/* Without GStreamer there is no resampler and no down-mix (the project has
 * one of each, GStreamer's): a WAV file at another rate or with two
 * channels is refused, naming what it is. */
gboolean
mm_media_read_wav (const char *path, double max_seconds, float **samples, size_t *n_samples,
    gboolean *handled, GError **error)
{
  SF_INFO info;
  Wav w;
  char *why;

  if (!mm_media_read_wav_plain (path, max_seconds, samples, n_samples, handled, error))
    return FALSE;
  if (*handled || !open_wav (&w, path, &info))
    return TRUE;
  close_wav (&w);
  if (info.samplerate == MM_MEDIA_SAMPLE_RATE && info.channels == 1)
    return TRUE;   /* longer than @max_seconds: not handled, as with GStreamer */
  why = g_strdup_printf ("%d Hz, %d channel%s: " NO_GST_WAV, info.samplerate, info.channels,
      info.channels == 1 ? "" : "s");
  *handled = TRUE;
  decode_error (error, path, why);
  g_free (why);
  return FALSE;
}
#endif

gboolean
mm_media_decode_audio (const char *path, float **samples, size_t *n_samples, GError **error)
{
  gboolean handled = FALSE;

  *samples = NULL;
  *n_samples = 0;
  if (!mm_media_check_file (path, error)
      || !mm_media_read_wav (path, 0, samples, n_samples, &handled, error))
    return FALSE;
  return handled || mm_media_decode_audio_pipeline (path, samples, n_samples, error);
}
