/* mmdigits — writes the seed corpus of the fuzz harnesses (tests/fuzz).
 *
 *   make_corpus DIR          small seeds, DIR/{modelfile,idx,audio,digit}/
 *                            (what tests/fuzz/corpus holds)
 *   make_corpus --full DIR   whole model files too (hundreds of KB, so not
 *                            committed; scripts/test.sh makes them per run)
 *
 * Every seed is made here from code: untrained networks saved by the
 * project's own writer, idx files and WAVs written byte by byte, images
 * drawn with a few lines. Deterministic: the same bytes on every run.
 */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mm-modelfile.h"
#include "mm-net.h"

static void
put (const char *dir, const char *sub, const char *name, const void *data, gsize len)
{
  char *d = g_build_filename (dir, sub, NULL), *path = g_build_filename (d, name, NULL);
  GError *err = NULL;

  if (g_mkdir_with_parents (d, 0755) != 0
      || !g_file_set_contents (path, data, (gssize) len, &err)) {
    fprintf (stderr, "make_corpus: %s: %s\n", path, err ? err->message : g_strerror (errno));
    exit (1);
  }
  g_free (path);
  g_free (d);
}

static void
put_le32 (GByteArray *a, guint32 v)
{
  guint8 b[4] = { v, v >> 8, v >> 16, v >> 24 };
  g_byte_array_append (a, b, 4);
}

static void
put_le16 (GByteArray *a, guint16 v)
{
  guint8 b[2] = { v, v >> 8 };
  g_byte_array_append (a, b, 2);
}

static void
put_be32 (GByteArray *a, guint32 v)
{
  guint8 b[4] = { v >> 24, v >> 16, v >> 8, v };
  g_byte_array_append (a, b, 4);
}

/* ---- model files -------------------------------------------------------- */

static void
models (const char *dir, gboolean full)
{
  char *tmp = g_dir_make_tmp ("mm-corpus-XXXXXX", NULL);

  for (int a = 0; a < MM_N_ARCH; a++) {
    MmNet *net = mm_net_new ((MmArch) a, 1);
    MmModelMeta meta = { (char *) "{\"sample_rate\":16000,\"nfft\":1024}",
                         (char *) "{\"seed\":1,\"data\":\"made by make_corpus\"}" };
    char *path = g_build_filename (tmp, "m.safetensors", NULL), *name, *bytes;
    gsize len;
    guint64 header_len;
    GError *err = NULL;

    if (!mm_model_save (net, &meta, path, &err) || !g_file_get_contents (path, &bytes, &len, &err)) {
      fprintf (stderr, "make_corpus: %s\n", err->message);
      exit (1);
    }
    memcpy (&header_len, bytes, 8);
    header_len = GUINT64_FROM_LE (header_len);
    /* the header alone: every check up to the data section */
    name = g_strdup_printf ("header-%s", mm_arch_name ((MmArch) a));
    put (dir, "modelfile", name, bytes, 8 + header_len);
    g_free (name);
    if (full) {
      name = g_strdup_printf ("full-%s", mm_arch_name ((MmArch) a));
      put (dir, "modelfile", name, bytes, len);
      g_free (name);
    }
    g_unlink (path);
    g_free (bytes);
    g_free (path);
    mm_net_free (net);
  }
  g_rmdir (tmp);
  g_free (tmp);
  /* headers at the edges of the limits (core/util/mm-json.h) */
  {
    GByteArray *a = g_byte_array_new ();
    const char *texts[] = { "", "{}", "{\"__metadata__\":{\"format\":\"mmdigits\"}}",
                            "{\"a\":[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]}", "{/* */}" };
    for (guint i = 0; i < G_N_ELEMENTS (texts); i++) {
      char name[32];
      g_byte_array_set_size (a, 0);
      put_le32 (a, (guint32) strlen (texts[i]));
      put_le32 (a, 0);
      g_byte_array_append (a, (const guint8 *) texts[i], (guint) strlen (texts[i]));
      g_snprintf (name, sizeof name, "edge-%u", i);
      put (dir, "modelfile", name, a->data, a->len);
    }
    g_byte_array_unref (a);
  }
}

/* ---- idx files ---------------------------------------------------------- */

static void
put_idx (const char *dir, const char *name, GByteArray *a)
{
  GConverter *gz = G_CONVERTER (g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, 9));
  GOutputStream *mem = g_memory_output_stream_new_resizable ();
  GOutputStream *out = g_converter_output_stream_new (mem, gz);
  char *gz_name = g_strconcat (name, ".gz", NULL);

  put (dir, "idx", name, a->data, a->len);
  if (!g_output_stream_write_all (out, a->data, a->len, NULL, NULL, NULL)
      || !g_output_stream_close (out, NULL, NULL)) {
    fprintf (stderr, "make_corpus: gzip failed\n");
    exit (1);
  }
  put (dir, "idx", gz_name, g_memory_output_stream_get_data (G_MEMORY_OUTPUT_STREAM (mem)),
      g_memory_output_stream_get_data_size (G_MEMORY_OUTPUT_STREAM (mem)));
  g_free (gz_name);
  g_object_unref (out);
  g_object_unref (mem);
  g_object_unref (gz);
}

static void
idx (const char *dir)
{
  GByteArray *a = g_byte_array_new ();

  put_be32 (a, 0x00000803);     /* 3 images of 4 × 5 */
  put_be32 (a, 3);
  put_be32 (a, 4);
  put_be32 (a, 5);
  for (int i = 0; i < 3 * 4 * 5; i++)
    g_byte_array_append (a, (const guint8[]) { (guint8) (i * 37) }, 1);
  put_idx (dir, "images", a);
  g_byte_array_set_size (a, 16 + 7);  /* truncated */
  put (dir, "idx", "images-truncated", a->data, a->len);

  g_byte_array_set_size (a, 0);
  put_be32 (a, 0x00000801);     /* 6 labels */
  put_be32 (a, 6);
  for (guint8 i = 0; i < 6; i++)
    g_byte_array_append (a, &i, 1);
  put_idx (dir, "labels", a);
  g_byte_array_unref (a);
}

/* ---- audio -------------------------------------------------------------- */

/* A canonical WAV: @format 1 (PCM) or 3 (IEEE float), samples given as
 * doubles in [-1, 1] and written at @bits. */
static void
put_wav (const char *dir, const char *name, int rate, int channels, int format, int bits,
    const double *x, int frames)
{
  GByteArray *a = g_byte_array_new ();
  guint32 data_len = (guint32) (frames * channels * bits / 8);

  g_byte_array_append (a, (const guint8 *) "RIFF", 4);
  put_le32 (a, 36 + data_len);
  g_byte_array_append (a, (const guint8 *) "WAVEfmt ", 8);
  put_le32 (a, 16);
  put_le16 (a, (guint16) format);
  put_le16 (a, (guint16) channels);
  put_le32 (a, (guint32) rate);
  put_le32 (a, (guint32) (rate * channels * bits / 8));
  put_le16 (a, (guint16) (channels * bits / 8));
  put_le16 (a, (guint16) bits);
  g_byte_array_append (a, (const guint8 *) "data", 4);
  put_le32 (a, data_len);
  for (int i = 0; i < frames * channels; i++) {
    double v = x[i];
    if (format == 3) {
      float f = (float) v;
      guint32 bitsv;
      memcpy (&bitsv, &f, 4);
      put_le32 (a, bitsv);
    } else if (bits == 16) {
      put_le16 (a, (guint16) (gint16) lrint (CLAMP (v, -1.0, 32767.0 / 32768) * 32768));
    } else {
      guint8 u = (guint8) lrint (CLAMP (v, -1.0, 127.0 / 128) * 128 + 128);
      g_byte_array_append (a, &u, 1);
    }
  }
  put (dir, "audio", name, a->data, a->len);
  g_byte_array_unref (a);
}

/* A spoken-word stand-in: 150 ms silence, 300 ms of two harmonics under a
 * Hann envelope, 150 ms silence. */
static double
burst (int i, int rate)
{
  double t = (double) i / rate, u = (t - 0.15) / 0.3;
  if (u <= 0 || u >= 1)
    return 0;
  return 0.5 * sin (G_PI * u) * sin (G_PI * u)
      * (0.6 * sin (2 * G_PI * 220 * t) + 0.3 * sin (2 * G_PI * 660 * t));
}

static void
audio (const char *dir)
{
  double *x = g_new0 (double, 16000);
  guint32 lcg = 1;
  GByteArray *a = g_byte_array_new ();
  const float special[] = { NAN, INFINITY, -INFINITY, 1e30f, -1e-40f, 0.5f, -0.0f, 1.0f };

  for (int i = 0; i < 9600; i++)
    x[i] = burst (i, 16000);
  put_wav (dir, "burst-16k-s16.wav", 16000, 1, 1, 16, x, 9600);
  for (int i = 0; i < 800; i++) {      /* stereo, 8 kHz float: the channels differ */
    x[2 * i] = burst (i * 6, 8000);
    x[2 * i + 1] = -0.5 * x[2 * i];
  }
  put_wav (dir, "burst-8k-f32-stereo.wav", 8000, 2, 3, 32, x, 800);
  for (int i = 0; i < 1100; i++)
    x[i] = burst (i * 12, 22050) * 1.5;        /* clipped */
  put_wav (dir, "burst-22k-u8.wav", 22050, 1, 1, 8, x, 1100);
  for (int i = 0; i < 8000; i++)
    x[i] = 0.3;                                 /* a DC level, no sound */
  put_wav (dir, "dc-16k-s16.wav", 16000, 1, 1, 16, x, 8000);

  /* raw: first byte even = int16, odd = float32 */
  g_byte_array_append (a, (const guint8[]) { 0 }, 1);
  for (int i = 0; i < 2000; i++) {
    lcg = lcg * 1664525u + 1013904223u;
    put_le16 (a, (guint16) (lcg >> 16));
  }
  put (dir, "audio", "raw-s16-noise", a->data, a->len);
  g_byte_array_set_size (a, 0);
  g_byte_array_append (a, (const guint8[]) { 1 }, 1);
  for (int i = 0; i < 400; i++) {
    guint32 bits;
    float f = special[i % G_N_ELEMENTS (special)];
    memcpy (&bits, &f, 4);
    put_le32 (a, bits);
  }
  put (dir, "audio", "raw-f32-special", a->data, a->len);
  g_byte_array_unref (a);
  g_free (x);
}

/* ---- images for the digit finder ---------------------------------------- */

/* Settings as fuzz_digit.c reads them, then the pixels. */
static void
put_image (const char *dir, const char *name, int w, int h, int extra, int threshold,
    int polarity, int min_area, const gint32 roi[4], const guint8 *px)
{
  GByteArray *a = g_byte_array_new ();
  guint8 s[8] = { (guint8) (w - 1), (guint8) (h - 1), (guint8) extra, (guint8) (threshold + 1),
                  (guint8) polarity, (guint8) min_area, (guint8) (min_area >> 8), 0 };

  g_byte_array_append (a, s, 8);
  for (int i = 0; i < 4; i++)
    put_le32 (a, (guint32) roi[i]);
  for (int y = 0; y < h; y++) {
    g_byte_array_append (a, px + (size_t) y * w, (guint) w);
    for (int i = 0; i < extra; i++)
      g_byte_array_append (a, (const guint8[]) { 0x55 }, 1);
  }
  put (dir, "digit", name, a->data, a->len);
  g_byte_array_unref (a);
}

static void
digit (const char *dir)
{
  guint8 *px = g_new (guint8, 64 * 48);
  const gint32 whole[4] = { 0, 0, 0, 0 }, part[4] = { 8, 6, 40, 30 },
      wild[4] = { G_MAXINT32 - 1, -5, G_MAXINT32, 20 };
  guint32 lcg = 7;

  /* a "7", light ink on black, as MNIST */
  memset (px, 0, 28 * 28);
  for (int x = 6; x < 22; x++)
    px[6 * 28 + x] = px[7 * 28 + x] = 255;
  for (int y = 8; y < 24; y++)
    px[y * 28 + 21 - (y - 8) / 2] = px[y * 28 + 20 - (y - 8) / 2] = 230;
  put_image (dir, "seven-28", 28, 28, 0, -1, 0, 20, whole, px);

  /* a dark ring on light paper with a border line (clutter) */
  for (int y = 0; y < 48; y++)
    for (int x = 0; x < 64; x++) {
      double r = hypot (x - 32.0, y - 24.0);
      px[y * 64 + x] = (r > 10 && r < 14) || y == 1 ? 20 : 200;
    }
  put_image (dir, "ring-64x48", 64, 48, 0, -1, 0, 20, whole, px);
  put_image (dir, "ring-roi-stride", 64, 48, 3, 128, 1, 5, part, px);
  put_image (dir, "ring-wild-roi", 64, 48, 0, -1, 2, 0, wild, px);

  memset (px, 128, 16 * 16);
  put_image (dir, "blank-16", 16, 16, 0, -1, 0, 20, whole, px);
  for (int i = 0; i < 32 * 32; i++) {
    lcg = lcg * 1664525u + 1013904223u;
    px[i] = (guint8) (lcg >> 24);
  }
  put_image (dir, "noise-32", 32, 32, 1, -1, 0, 1, whole, px);
  g_free (px);
}

int
main (int argc, char **argv)
{
  gboolean full = argc == 3 && strcmp (argv[1], "--full") == 0;
  const char *dir = argv[argc - 1];

  if (argc != 2 && !full) {
    fprintf (stderr, "usage: make_corpus [--full] DIR\n");
    return 2;
  }
  models (dir, full);
  idx (dir);
  audio (dir);
  digit (dir);
  return 0;
}
