/* libFuzzer harness: recording → samples → MFCC (core/features/mfcc.c).
 *
 * The programs decode audio with GStreamer (decodebin ! audioconvert !
 * audioresample); that is GStreamer's to fuzz. What is ours begins with the
 * samples, so an input is either a sound file that libsndfile decodes (the
 * seeds are WAVs: RIFF, any sample format and channel count libsndfile
 * reads, mixed to mono as audioconvert does) or, when libsndfile refuses it,
 * raw samples: int16 or float32 little-endian as the first byte says (float32
 * brings NaN, infinities, denormals and values far outside [-1, 1)).
 * At most 2 s of samples are taken, at 16 kHz whatever the header says.
 *
 * The samples then take the paths the programs take:
 *  - mm_frontend_block, as mmdigits mfcc/eval/train do: the study's front
 *    end, and one with DC removal, the word detector's cut, nfft 512 and
 *    per-utterance mean and variance normalisation;
 *  - the streaming word detector as mfccextract feeds it, in pieces whose
 *    sizes the input chooses, which must find the very spans mm_words_find
 *    finds in the whole recording (mm-words.h promises it);
 *  - mm_mfcc_compute over the whole recording.
 * Checked besides ASan/UBSan/LSan: samples within ±MM_MFCC_MAX_SAMPLE give
 * finite coefficients and a block or MM_ERROR_NO_WORD; a non-finite sample
 * or one beyond is refused with MM_ERROR_INVALID, never computed; word
 * spans lie within the recording, in order of their starts.
 */
#include <math.h>
#include <sndfile.h>
#include <string.h>

#include "mm-error.h"
#include "mm-frontend.h"
#include "mm-fuzz.h"
#include "mm-mfcc.h"
#include "mm-words.h"

#define MAX_SAMPLES (2 * 16000)

typedef struct {
  const uint8_t *data;
  sf_count_t size, pos;
} Mem;

static sf_count_t
mem_length (void *user)
{
  return ((Mem *) user)->size;
}

static sf_count_t
mem_seek (sf_count_t offset, int whence, void *user)
{
  Mem *m = user;
  sf_count_t to = whence == SEEK_SET ? offset : whence == SEEK_CUR ? m->pos + offset :
      m->size + offset;
  if (to < 0 || to > m->size)
    return -1;
  return m->pos = to;
}

static sf_count_t
mem_read (void *ptr, sf_count_t count, void *user)
{
  Mem *m = user;
  sf_count_t n = MIN (count, m->size - m->pos);
  memcpy (ptr, m->data + m->pos, (size_t) n);
  m->pos += n;
  return n;
}

static sf_count_t
mem_tell (void *user)
{
  return ((Mem *) user)->pos;
}

/* Mono samples of a file libsndfile reads, or NULL. */
static float *
decode_sndfile (const uint8_t *data, size_t size, size_t *n)
{
  SF_VIRTUAL_IO io = { mem_length, mem_seek, mem_read, NULL, mem_tell };
  Mem m = { data, (sf_count_t) size, 0 };
  SF_INFO info = { 0 };
  SNDFILE *sf = sf_open_virtual (&io, SFM_READ, &info, &m);
  float *frames, *x;
  sf_count_t got;

  if (!sf)
    return NULL;
  if (info.channels <= 0 || info.channels > 16) {
    sf_close (sf);
    return NULL;
  }
  frames = g_new (float, (size_t) MAX_SAMPLES * info.channels);
  got = sf_readf_float (sf, frames, MAX_SAMPLES);
  sf_close (sf);
  *n = got > 0 ? (size_t) got : 0;
  x = g_new0 (float, MAX (*n, 1));
  for (size_t i = 0; i < *n; i++) {
    for (int c = 0; c < info.channels; c++)
      x[i] += frames[i * info.channels + c];
    x[i] /= info.channels;
  }
  g_free (frames);
  return x;
}

static float *
decode_raw (const uint8_t *data, size_t size, size_t *n)
{
  gboolean f32 = size > 0 && (data[0] & 1);
  size_t width = f32 ? 4 : 2;
  float *x;

  data += size > 0;
  size -= size > 0;
  *n = MIN (size / width, MAX_SAMPLES);
  x = g_new0 (float, MAX (*n, 1));
  for (size_t i = 0; i < *n; i++) {
    const uint8_t *p = data + i * width;
    if (f32) {
      guint32 bits = (guint32) p[0] | (guint32) p[1] << 8 | (guint32) p[2] << 16
          | (guint32) p[3] << 24;
      memcpy (&x[i], &bits, 4);
    } else {
      x[i] = (gint16) (p[0] | p[1] << 8) / 32768.0f;
    }
  }
  return x;
}

static gboolean
all_valid (const float *x, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (!(fabsf (x[i]) <= MM_MFCC_MAX_SAMPLE))
      return FALSE;
  return TRUE;
}

static void
run_mfcc (MmMfcc *m, const float *x, size_t n)
{
  gboolean valid = all_valid (x, n);
  int frames = mm_mfcc_n_frames (m, n), coeffs = mm_mfcc_params (m)->n_coeffs;
  float *out = g_new (float, (size_t) MAX (frames, 1) * coeffs);
  GError *err = NULL;

  if (mm_mfcc_compute (m, x, n, out, &err)) {
    if (!valid || n == 0)
      mm_fuzz_fail ("MFCC of invalid or empty input succeeded");
    for (size_t i = 0; i < (size_t) frames * coeffs; i++)
      if (!isfinite (out[i]))
        mm_fuzz_fail ("valid samples gave a non-finite coefficient");
  } else {
    if (valid && n > 0)
      mm_fuzz_fail ("MFCC refused valid samples");
    if (!g_error_matches (err, MM_ERROR, MM_ERROR_INVALID))
      mm_fuzz_fail ("MFCC refusal is not MM_ERROR_INVALID");
    g_clear_error (&err);
  }
  g_free (out);
}

static void
run_frontend (MmMfcc *m, const float *x, size_t n)
{
  const MmMfccParams *p = mm_mfcc_params (m);
  size_t len = (size_t) mm_mfcc_n_frames (m, mm_frontend_block_samples (p)) * p->n_coeffs;
  float *out = g_new (float, len);
  MmWordSpan span;
  GError *err = NULL;

  if (mm_frontend_block (m, NULL, x, n, out, &span, &err)) {
    if (!all_valid (x, n) || n == 0)
      mm_fuzz_fail ("a block from invalid or empty samples");
    if (span.start > span.end || span.end > n)
      mm_fuzz_fail ("the block's span lies outside the recording");
    for (size_t i = 0; i < len; i++)
      if (!isfinite (out[i]))
        mm_fuzz_fail ("valid samples gave a non-finite block");
  } else {
    if (err->domain != MM_ERROR
        || (err->code != MM_ERROR_INVALID && err->code != MM_ERROR_NO_WORD))
      mm_fuzz_fail ("a front-end refusal that is neither INVALID nor NO_WORD");
    if (err->code == MM_ERROR_INVALID && all_valid (x, n) && n > 0)
      mm_fuzz_fail ("the front end refused valid samples");
    g_clear_error (&err);
  }
  g_free (out);
}

/* The detector fed in pieces of sizes taken from @sizes finds what
 * mm_words_find finds in the whole. */
static void
run_words (MmWords *w, const float *x, size_t n, const uint8_t *sizes, size_t n_sizes)
{
  GArray *whole = mm_words_find (NULL, x, n, NULL);
  MmWordSpan s;
  guint found = 0;
  guint64 last_start = 0;

  if (!whole)
    mm_fuzz_fail ("mm_words_find refused the default parameters");
  mm_words_reset (w);
  for (size_t pos = 0, k = 0; pos < n; k++) {
    size_t piece = n_sizes ? 1 + (size_t) sizes[k % n_sizes] * 37 : n;
    piece = MIN (piece, n - pos);
    mm_words_push (w, x + pos, piece);
    pos += piece;
  }
  mm_words_finish (w);
  while (mm_words_pop (w, &s)) {
    const MmWordSpan *o;
    /* padded spans may overlap: a word cut at max_length goes on at once */
    if (s.start >= s.end || s.end > n || s.start < last_start)
      mm_fuzz_fail (g_strdup_printf ("word span [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
              ") out of %zu samples or before the last one's start", s.start, s.end, n));
    if (found >= whole->len)
      mm_fuzz_fail ("streaming found more words than the whole recording gave");
    o = &g_array_index (whole, MmWordSpan, found);
    if (o->start != s.start || o->end != s.end)
      mm_fuzz_fail ("streaming and whole recording cut different words");
    last_start = s.start;
    found++;
  }
  if (found != whole->len)
    mm_fuzz_fail ("streaming found fewer words than the whole recording gave");
  g_array_unref (whole);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static MmMfcc *mfcc[2];
  static MmWords *words;
  float *x;
  size_t n = 0;

  if (!mfcc[0]) {               /* made once: FFTW planning is slow */
    MmMfccParams p;
    mm_mfcc_params_init (&p);
    mfcc[0] = mm_mfcc_new (&p, NULL);
    p.nfft = 512;
    p.dc_block = TRUE;
    p.cmvn = MM_CMVN_MEAN_VAR;
    p.word_cut = MM_WORD_CUT_DETECTOR;
    mfcc[1] = mm_mfcc_new (&p, NULL);
    words = mm_words_new (NULL, NULL);
    if (!mfcc[0] || !mfcc[1] || !words)
      mm_fuzz_fail ("default front-end parameters refused");
  }
  if (!(x = decode_sndfile (data, size, &n)))
    x = decode_raw (data, size, &n);
  for (int k = 0; k < 2; k++)
    run_frontend (mfcc[k], x, n);
  run_words (words, x, n, data, MIN (size, 16));
  run_mfcc (mfcc[0], x, n);
  g_free (x);
  return 0;
}
