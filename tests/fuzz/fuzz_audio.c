/* libFuzzer harness: recording → samples → MFCC (core/mfcc.c).
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
 * The samples then take the paths the programs take: the whole recording
 * and its central second (mm_audio_fit_center) through MFCC with the
 * default parameters and with the study's nfft 512. Checked besides
 * ASan/UBSan/LSan: samples within ±MM_MFCC_MAX_SAMPLE give finite
 * coefficients; a non-finite sample or one beyond is refused with
 * MM_ERROR_INVALID, never computed.
 */
#include <math.h>
#include <sndfile.h>
#include <string.h>

#include "mm-error.h"
#include "mm-fuzz.h"
#include "mm-mfcc.h"

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

static void
run_mfcc (MmMfcc *m, const float *x, size_t n)
{
  gboolean valid = TRUE;
  int frames = mm_mfcc_n_frames (m, n), coeffs = mm_mfcc_params (m)->n_coeffs;
  float *out = g_new (float, (size_t) MAX (frames, 1) * coeffs);
  GError *err = NULL;

  for (size_t i = 0; i < n; i++)
    valid = valid && fabsf (x[i]) <= MM_MFCC_MAX_SAMPLE;
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

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static MmMfcc *mfcc[2];
  float *x, second[16000];
  size_t n = 0;

  if (!mfcc[0]) {               /* made once: FFTW planning is slow */
    MmMfccParams p;
    mm_mfcc_params_init (&p);
    mfcc[0] = mm_mfcc_new (&p, NULL);
    p.nfft = 512;
    mfcc[1] = mm_mfcc_new (&p, NULL);
    if (!mfcc[0] || !mfcc[1])
      mm_fuzz_fail ("default MFCC parameters refused");
  }
  if (!(x = decode_sndfile (data, size, &n)))
    x = decode_raw (data, size, &n);
  mm_audio_fit_center (x, n, second, G_N_ELEMENTS (second));
  for (int k = 0; k < 2; k++) {
    run_mfcc (mfcc[k], x, n);
    run_mfcc (mfcc[k], second, G_N_ELEMENTS (second));
  }
  g_free (x);
  return 0;
}
