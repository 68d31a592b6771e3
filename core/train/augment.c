/* Training-time augmentation (see mm-augment.h). */
#include "mm-augment.h"

#include <math.h>
#include <string.h>

#include "mm-error.h"
#include "mm-parallel.h"

#define WAVE_LEN 16000
#define SIDE MM_IMAGE_SIZE
/* the pixel centre of a 28×28 image */
#define CENTRE 13.5f

static const char *const kind_names[MM_AUG_N_KINDS] = {
  [MM_AUG_SPEED] = "speed", [MM_AUG_SHIFT] = "shift", [MM_AUG_WHITE] = "white",
  [MM_AUG_PINK] = "pink", [MM_AUG_BABBLE] = "babble", [MM_AUG_HUM] = "hum",
  [MM_AUG_BAND] = "band", [MM_AUG_GAIN] = "gain", [MM_AUG_VTLP] = "vtlp",
  [MM_AUG_SPECAUG] = "specaug", [MM_AUG_AFFINE] = "affine", [MM_AUG_ELASTIC] = "elastic",
  [MM_AUG_STROKE] = "stroke", [MM_AUG_BLUR] = "blur", [MM_AUG_PIXEL_NOISE] = "pixel-noise",
  [MM_AUG_GAMMA] = "gamma", [MM_AUG_POLARITY] = "polarity", [MM_AUG_OCCLUDE] = "occlude",
};

/* How often each kind applies by default: the ones whose random setting
 * includes values near "no change" always; the ones that always change the
 * sample markedly (a noise, a channel, a mask, a flip) to some samples only,
 * so that clean samples stay in every batch. */
static const float default_prob[MM_AUG_N_KINDS] = {
  [MM_AUG_SPEED] = 1, [MM_AUG_SHIFT] = 1, [MM_AUG_WHITE] = 0.2f, [MM_AUG_PINK] = 0.2f,
  [MM_AUG_BABBLE] = 0.2f, [MM_AUG_HUM] = 0.1f, [MM_AUG_BAND] = 0.3f, [MM_AUG_GAIN] = 1,
  [MM_AUG_VTLP] = 1, [MM_AUG_SPECAUG] = 0.5f, [MM_AUG_AFFINE] = 1, [MM_AUG_ELASTIC] = 0.3f,
  [MM_AUG_STROKE] = 0.3f, [MM_AUG_BLUR] = 0.2f, [MM_AUG_PIXEL_NOISE] = 0.3f,
  [MM_AUG_GAMMA] = 0.3f, [MM_AUG_POLARITY] = 0.5f, [MM_AUG_OCCLUDE] = 0.2f,
};

const char *
mm_aug_kind_name (MmAugKind kind)
{
  g_return_val_if_fail (kind < MM_AUG_N_KINDS, NULL);
  return kind_names[kind];
}

void
mm_augment_init (MmAugment *a)
{
  memset (a, 0, sizeof *a);
  memcpy (a->prob, default_prob, sizeof a->prob);
  a->speed = 0.15f;
  a->shift_s = 0.15f;
  a->snr_min = 5;
  a->snr_max = 40;
  a->lowpass_min_hz = 2500;
  a->highpass_max_hz = 400;
  a->gain_db = 12;
  a->vtlp = 0.1f;
  a->time_masks = 2;
  a->time_width = 4;
  a->coeff_masks = 1;
  a->coeff_width = 2;
  a->rotate_deg = 12;
  a->scale = 0.1f;
  a->shear_deg = 10;
  a->shift_px = 2;
  a->elastic_alpha = 34;
  a->elastic_sigma = 4;
  a->blur_sigma = 1.0f;
  a->noise_std = 0.15f;
  a->gamma = 1.6f;
  a->occlude_px = 8;
}

/* The kinds a name stands for, 0 if none. */
static guint32
kinds_of (const char *name)
{
  if (!strcmp (name, "noise"))
    return MM_AUG_NOISE_KINDS;
  if (!strcmp (name, "audio"))
    return MM_AUG_AUDIO_KINDS;
  if (!strcmp (name, "image"))
    return MM_AUG_IMAGE_KINDS & ~(1u << MM_AUG_POLARITY);
  for (int k = 0; k < MM_AUG_N_KINDS; k++)
    if (!strcmp (name, kind_names[k]))
      return 1u << k;
  return 0;
}

gboolean
mm_augment_parse (MmAugment *a, const char *spec, GError **error)
{
  char **items = g_strsplit (spec, ",", -1);
  gboolean ok = TRUE;

  for (char **it = items; ok && *it; it++) {
    char *item = g_strstrip (*it), *eq = strchr (item, '=');
    double p = -1;
    guint32 kinds;

    if (eq) {
      char *end;
      *eq = 0;
      p = g_ascii_strtod (eq + 1, &end);
      if (end == eq + 1 || *end || !(p >= 0 && p <= 1)) {
        g_set_error (error, MM_ERROR, MM_ERROR_INVALID,
            "augmentation '%s=%s': the probability must be a number from 0 to 1", item, eq + 1);
        ok = FALSE;
        break;
      }
    }
    if (!strcmp (item, "none") && !eq) {
      a->enabled = 0;
      continue;
    }
    if (!(kinds = kinds_of (item))) {
      g_set_error (error, MM_ERROR, MM_ERROR_INVALID, "unknown augmentation '%s' (speed, shift, "
          "white, pink, babble, hum, noise, band, gain, vtlp, specaug, audio, affine, elastic, "
          "stroke, blur, pixel-noise, gamma, polarity, occlude, image, none)", item);
      ok = FALSE;
      break;
    }
    a->enabled |= kinds;
    for (int k = 0; k < MM_AUG_N_KINDS && p >= 0; k++)
      if (kinds & (1u << k))
        a->prob[k] = (float) p;
  }
  g_strfreev (items);
  return ok;
}

gboolean
mm_augment_set_snr (MmAugment *a, const char *spec, GError **error)
{
  const char *colon = strchr (spec, ':');
  char *end;
  double lo, hi = 0;

  lo = g_ascii_strtod (spec, &end);
  if (colon && end == colon && end != spec) {
    hi = g_ascii_strtod (colon + 1, &end);
    if (end != colon + 1 && !*end && lo >= MM_AUG_SNR_LOWEST && lo <= hi
        && hi <= MM_AUG_SNR_HIGHEST) {
      a->snr_min = (float) lo;
      a->snr_max = (float) hi;
      return TRUE;
    }
  }
  g_set_error (error, MM_ERROR, MM_ERROR_INVALID, "noise SNR range '%s': give MIN:MAX in dB, "
      "%g <= MIN <= MAX <= %g (e.g. 5:40)", spec, MM_AUG_SNR_LOWEST, MM_AUG_SNR_HIGHEST);
  return FALSE;
}

/* Numbers with 6 significant digits: the settings are decimal constants,
 * and a float such as 0.15f would otherwise print as 0.15000000596 (json-glib
 * writes doubles with 17 digits, hence the hand-made object). */
static void
add_number (GString *s, const char *name, double v)
{
  char num[G_ASCII_DTOSTR_BUF_SIZE];

  g_ascii_formatd (num, sizeof num, "%.6g", v);
  g_string_append_printf (s, "%s\"%s\":%s", s->str[s->len - 1] == '{' ? "" : ",", name, num);
}

char *
mm_augment_to_json (const MmAugment *a)
{
  GString *s = g_string_new ("{\"kinds\":{");

  for (int k = 0; k < MM_AUG_N_KINDS; k++)
    if (a->enabled & (1u << k))
      add_number (s, kind_names[k], a->prob[k]);
  g_string_append (s, "}");
  if (a->enabled & MM_AUG_AUDIO_KINDS) {
    add_number (s, "speed", a->speed);
    add_number (s, "shift_s", a->shift_s);
    add_number (s, "snr_min_db", a->snr_min);
    add_number (s, "snr_max_db", a->snr_max);
    add_number (s, "lowpass_min_hz", a->lowpass_min_hz);
    add_number (s, "highpass_max_hz", a->highpass_max_hz);
    add_number (s, "gain_db", a->gain_db);
    add_number (s, "vtlp", a->vtlp);
    add_number (s, "time_masks", a->time_masks);
    add_number (s, "time_width", a->time_width);
    add_number (s, "coeff_masks", a->coeff_masks);
    add_number (s, "coeff_width", a->coeff_width);
  }
  if (a->enabled & MM_AUG_IMAGE_KINDS) {
    add_number (s, "rotate_deg", a->rotate_deg);
    add_number (s, "scale", a->scale);
    add_number (s, "shear_deg", a->shear_deg);
    add_number (s, "shift_px", a->shift_px);
    add_number (s, "elastic_alpha", a->elastic_alpha);
    add_number (s, "elastic_sigma", a->elastic_sigma);
    add_number (s, "blur_sigma", a->blur_sigma);
    add_number (s, "noise_std", a->noise_std);
    add_number (s, "gamma", a->gamma);
    add_number (s, "occlude_px", a->occlude_px);
  }
  g_string_append (s, "}");
  return g_string_free (s, FALSE);
}

/* ---- random helpers ---- */

static float
uniform (MmRng *r, float lo, float hi)
{
  return lo + (hi - lo) * mm_rng_uniform (r);
}

/* Zero-mean, unit-variance noise sample: the difference of the two 16-bit
 * halves of one PCG number (a triangular distribution). Why not Gaussian:
 * a noise for augmentation needs a flat spectrum and a known power, not a
 * bell shape, and Box–Muller's log and cos per sample cost more than the
 * rest of a clip's augmentation together. */
static inline float
tri_noise (MmRng *r)
{
  guint32 u = mm_rng_u32 (r);
  /* each half uniform on [0, 1): difference variance 1/6 */
  return ((float) (u >> 16) - (float) (u & 0xffff)) * (2.449489743f / 65536.0f);
}

/* Mean of x², summed in float over 8 lanes (the compiler vectorises it),
 * then in double: one second of audio has 16,000 terms, and 8 partial sums
 * of 2,000 keep float's relative error near 1e-4, far below what an SNR or
 * gain setting needs. */
static double
mean_square (const float *x, int n)
{
  float acc[8] = { 0 };
  double s = 0;
  int i = 0;

  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; k++)
      acc[k] += x[i + k] * x[i + k];
  for (int k = 0; k < 8; k++)
    s += acc[k];
  for (; i < n; i++)
    s += (double) x[i] * x[i];
  return n ? s / n : 0.0;
}

static void
scale_to_unit_rms (float *x, int n)
{
  double ms = mean_square (x, n);
  float k = ms > 0 ? (float) (1.0 / sqrt (ms)) : 0.0f;
  for (int i = 0; i < n; i++)
    x[i] *= k;
}

/* ---- audio building blocks ---- */

void
mm_aug_gain (float *x, int n, float db)
{
  float k = powf (10.0f, db / 20.0f);
  for (int i = 0; i < n; i++)
    x[i] = CLAMP (x[i] * k, -1.0f, 1.0f);
}

/* Linear interpolation is enough here: the factors stay within ±20 %, and
 * what it loses near Nyquist is below what the training speech holds. */
void
mm_aug_speed (const float *in, float *out, int n, float factor)
{
  double c = n / 2.0, start = c - c * factor;

  for (int i = 0; i < n; i++) {
    /* pos = c + (i − c)·factor, exact in double for every i */
    double pos = start + i * (double) factor;
    /* pos > −1 here, so truncation is floor; the test avoids floor() */
    int j = pos < 0 ? -1 : (int) pos;
    float f = (float) (pos - j);
    float a = j >= 0 && j < n ? in[j] : 0.0f, b = j + 1 < n ? in[j + 1] : 0.0f;
    out[i] = j + 1 >= 0 ? a + f * (b - a) : 0.0f;
  }
}

void
mm_aug_shift (float *x, int n, int shift)
{
  if (shift >= n || -shift >= n) {
    memset (x, 0, sizeof (float) * n);
  } else if (shift > 0) {
    memmove (x + shift, x, sizeof (float) * (n - shift));
    memset (x, 0, sizeof (float) * shift);
  } else if (shift < 0) {
    memmove (x, x - shift, sizeof (float) * (n + shift));
    memset (x + n + shift, 0, sizeof (float) * -shift);
  }
}

/* The spoken span [*a, *b) of a clip: first to last non-zero sample. */
static void
spoken_span (const float *clip, int n, int *a, int *b)
{
  *a = 0;
  *b = n;
  while (*a < n && clip[*a] == 0.0f)
    (*a)++;
  while (*b > *a && clip[*b - 1] == 0.0f)
    (*b)--;
}

double
mm_aug_speech_power (const float *x, int n)
{
  int a, b;

  spoken_span (x, n, &a, &b);
  return mean_square (x + a, b - a);
}

void
mm_aug_add_noise (float *x, const float *noise, int n, float snr_db)
{
  double ps = mm_aug_speech_power (x, n), pn = mean_square (noise, n);
  float k;

  if (!(ps > 0) || !(pn > 0))
    return;
  k = (float) sqrt (ps / (pn * pow (10.0, snr_db / 10.0)));
  for (int i = 0; i < n; i++)
    x[i] += k * noise[i];
}

void
mm_aug_white (MmRng *rng, float *out, int n)
{
  for (int i = 0; i < n; i++)
    out[i] = tri_noise (rng);
  scale_to_unit_rms (out, n);
}

/* Paul Kellet's "refined" pink filter: six one-pole sections whose sum is
 * within ±0.05 dB of −3 dB/octave above ~10 Hz (at 44.1 kHz; at 16 kHz the
 * band it covers shifts down, which does not matter for a noise). */
void
mm_aug_pink (MmRng *rng, float *out, int n)
{
  double b0 = 0, b1 = 0, b2 = 0, b3 = 0, b4 = 0, b5 = 0, b6 = 0;

  for (int i = 0; i < n; i++) {
    double w = tri_noise (rng);
    b0 = 0.99886 * b0 + w * 0.0555179;
    b1 = 0.99332 * b1 + w * 0.0750759;
    b2 = 0.96900 * b2 + w * 0.1538520;
    b3 = 0.86650 * b3 + w * 0.3104856;
    b4 = 0.55000 * b4 + w * 0.5329522;
    b5 = -0.7616 * b5 - w * 0.0168980;
    out[i] = (float) (b0 + b1 + b2 + b3 + b4 + b5 + b6 + w * 0.5362);
    b6 = w * 0.115926;
  }
  scale_to_unit_rms (out, n);
}

/* Each harmonic is a rotating phasor (one complex multiply per sample, no
 * sin): over 2^18 samples its rounding drifts by < 1e-9 of its amplitude. */
void
mm_aug_hum (MmRng *rng, float *out, int n, int rate, float hz)
{
  double re[5], im[5], cr[5], ci[5];

  for (int k = 0; k < 5; k++) {
    double ph = uniform (rng, 0, 2 * G_PI), w = 2 * G_PI * hz * (k + 1) / rate;
    re[k] = cos (ph) / (k + 1);
    im[k] = sin (ph) / (k + 1);
    cr[k] = cos (w);
    ci[k] = sin (w);
  }
  for (int i = 0; i < n; i++) {
    double v = 0;
    for (int k = 0; k < 5; k++) {
      double r2 = re[k] * cr[k] - im[k] * ci[k];
      v += im[k];
      im[k] = re[k] * ci[k] + im[k] * cr[k];
      re[k] = r2;
    }
    out[i] = (float) v;
  }
  scale_to_unit_rms (out, n);
}

typedef struct {
  double b0, b1, b2, a1, a2;
} Biquad;

/* RBJ cookbook low- or high-pass, Q = 1/√2 (a Butterworth section). */
static Biquad
biquad (int rate, double hz, gboolean high)
{
  double w0 = 2 * G_PI * hz / rate, c = cos (w0), alpha = sin (w0) / G_SQRT2;  /* sin/(2Q) */
  double a0 = 1 + alpha;
  Biquad q;

  q.b0 = (high ? (1 + c) / 2 : (1 - c) / 2) / a0;
  q.b1 = (high ? -(1 + c) : 1 - c) / a0;
  q.b2 = q.b0;
  q.a1 = -2 * c / a0;
  q.a2 = (1 - alpha) / a0;
  return q;
}

/* @q run twice in cascade, both stages in one pass (direct form I): the
 * second stage's recursion overlaps the first's, where two passes would
 * wait on each in turn. */
static void
biquad_run2 (const Biquad *q, float *x, int n)
{
  double x1 = 0, x2 = 0, y1 = 0, y2 = 0, z1 = 0, z2 = 0;
  for (int i = 0; i < n; i++) {
    double y = q->b0 * x[i] + q->b1 * x1 + q->b2 * x2 - q->a1 * y1 - q->a2 * y2;
    double z = q->b0 * y + q->b1 * y1 + q->b2 * y2 - q->a1 * z1 - q->a2 * z2;
    x2 = x1;
    x1 = x[i];
    y2 = y1;
    y1 = y;
    z2 = z1;
    z1 = z;
    x[i] = (float) z;
  }
}

void
mm_aug_band (float *x, int n, int rate, float high_hz, float low_hz)
{
  Biquad lp = biquad (rate, MIN (low_hz, 0.45 * rate), FALSE);

  biquad_run2 (&lp, x, n);
  if (high_hz > 0) {
    Biquad hp = biquad (rate, high_hz, TRUE);
    biquad_run2 (&hp, x, n);
  }
}

/* ---- image building blocks ---- */

static float
sample_bilinear (const float *img, float x, float y)
{
  int x0 = (int) floorf (x), y0 = (int) floorf (y);
  float fx = x - x0, fy = y - y0, v = 0;

  for (int dy = 0; dy <= 1; dy++)
    for (int dx = 0; dx <= 1; dx++) {
      int xx = x0 + dx, yy = y0 + dy;
      float w = (dx ? fx : 1 - fx) * (dy ? fy : 1 - fy);
      if (xx >= 0 && xx < SIDE && yy >= 0 && yy < SIDE)
        v += w * img[yy * SIDE + xx];
    }
  return v;
}

void
mm_aug_affine (const float *in, float *out, float rot_deg, float scale, float shear_deg,
    float dx, float dy)
{
  float th = rot_deg * (float) G_PI / 180, c = cosf (th), s = sinf (th);
  float sh = tanf (shear_deg * (float) G_PI / 180), inv = 1.0f / scale;

  /* forward: p' = R·Sh·(scale·p) (y down, so R turns counter-clockwise on
   * screen) then + (dx, dy); each output pixel takes the input at the
   * inverse image of its centre */
  for (int y = 0; y < SIDE; y++)
    for (int x = 0; x < SIDE; x++) {
      float u = x - CENTRE - dx, v = y - CENTRE - dy;
      float ru = c * u - s * v, rv = s * u + c * v;      /* R⁻¹ */
      float hu = ru - sh * rv, hv = rv;                   /* Sh⁻¹ */
      out[y * SIDE + x] = sample_bilinear (in, hu * inv + CENTRE, hv * inv + CENTRE);
    }
}

void
mm_aug_stroke (const float *in, float *out, gboolean thicker)
{
  static const int nb[5][2] = { { 0, 0 }, { 1, 0 }, { -1, 0 }, { 0, 1 }, { 0, -1 } };

  for (int y = 0; y < SIDE; y++)
    for (int x = 0; x < SIDE; x++) {
      float v = in[y * SIDE + x];
      for (int k = 1; k < 5; k++) {
        int xx = x + nb[k][0], yy = y + nb[k][1];
        float w = xx >= 0 && xx < SIDE && yy >= 0 && yy < SIDE ? in[yy * SIDE + xx] : 0.0f;
        v = thicker ? MAX (v, w) : MIN (v, w);
      }
      out[y * SIDE + x] = v;
    }
}

/* Separable Gaussian of a SIDE×SIDE field, borders clamped. */
static void
blur_field (float *img, float sigma)
{
  int r = MIN ((int) ceilf (3 * sigma), SIDE - 1);
  float k[2 * SIDE], sum = 0, tmp[MM_IMAGE_PIXELS];

  for (int i = -r; i <= r; i++)
    sum += k[i + r] = expf (-(float) (i * i) / (2 * sigma * sigma));
  for (int i = 0; i <= 2 * r; i++)
    k[i] /= sum;
  for (int y = 0; y < SIDE; y++)
    for (int x = 0; x < SIDE; x++) {
      float v = 0;
      for (int i = -r; i <= r; i++)
        v += k[i + r] * img[y * SIDE + CLAMP (x + i, 0, SIDE - 1)];
      tmp[y * SIDE + x] = v;
    }
  for (int y = 0; y < SIDE; y++)
    for (int x = 0; x < SIDE; x++) {
      float v = 0;
      for (int i = -r; i <= r; i++)
        v += k[i + r] * tmp[CLAMP (y + i, 0, SIDE - 1) * SIDE + x];
      img[y * SIDE + x] = v;
    }
}

void
mm_aug_pixel_noise (MmRng *rng, float *img, float sd)
{
  for (int i = 0; i < MM_IMAGE_PIXELS; i++)
    img[i] = CLAMP (img[i] + sd * tri_noise (rng), 0.0f, 1.0f);
}

void
mm_aug_blur (float *img, float sigma)
{
  if (sigma > 0)
    blur_field (img, sigma);
}

void
mm_aug_elastic (MmRng *rng, const float *in, float *out, float alpha, float sigma)
{
  float fx[MM_IMAGE_PIXELS], fy[MM_IMAGE_PIXELS];

  for (int i = 0; i < MM_IMAGE_PIXELS; i++) {
    fx[i] = uniform (rng, -1, 1);
    fy[i] = uniform (rng, -1, 1);
  }
  blur_field (fx, sigma);
  blur_field (fy, sigma);
  for (int y = 0; y < SIDE; y++)
    for (int x = 0; x < SIDE; x++) {
      int i = y * SIDE + x;
      out[i] = sample_bilinear (in, x + alpha * fx[i], y + alpha * fy[i]);
    }
}

/* ---- per-sample pipelines ---- */

/* The random stream of one kind for one sample in one epoch: kinds draw
 * from separate streams, so switching one kind on or off leaves the others'
 * draws as they were. */
static void
kind_rng (MmRng *r, guint64 seed, int epoch, int sample, MmAugKind kind)
{
  mm_rng_seed (r, seed ^ 0x6175676d656e74ULL,
      ((guint64) epoch << 40) | ((guint64) kind << 32) | (guint32) sample);
}

/* Whether @kind applies to this sample; @r then holds its stream. */
static gboolean
draw_kind (const MmAugment *a, MmRng *r, guint64 seed, int epoch, int sample, MmAugKind kind)
{
  if (!(a->enabled & (1u << kind)))
    return FALSE;
  kind_rng (r, seed, epoch, sample, kind);
  return mm_rng_uniform (r) < a->prob[kind];
}

typedef struct {
  MmMfcc *mfcc;
  float wave[WAVE_LEN], tmp[WAVE_LEN], noise[WAVE_LEN];
  float feat[MM_AUDIO_VALUES];
  float img[MM_IMAGE_PIXELS], img2[MM_IMAGE_PIXELS];
} Scratch;

/* Tasks per batch: fixed by the batch size (see mm-parallel.h). */
#define MAX_TASKS 8
/* White, pink and hum noise are cut at a random offset from long noises made
 * once per augmenter from a fixed seed, as one draws from a noise corpus:
 * making 16,000 fresh samples per clip would cost more than the rest of the
 * clip's augmentation. 2^18 samples = 16 s at 16 kHz. */
#define NOISE_LEN (1 << 18)
enum { NOISE_WHITE, NOISE_PINK, NOISE_HUM50, NOISE_HUM60, N_NOISES };

struct _MmAugmenter {
  MmAugment a;
  MmArch arch;
  const MmNorm *norm;
  const MmDataset *train;
  Scratch *scratch[MAX_TASKS];
  float *noise[N_NOISES];       /* [NOISE_LEN] each, when an audio arch */
  /* the current batch (set by mm_augmenter_apply for the tasks) */
  const int *idx;
  int b, n_tasks, epoch;
  guint64 seed;
  float *image, *audio, *snr_db;
};

void
mm_aug_babble (MmRng *rng, const float *clips, size_t stride, const int *pool, int n_pool,
    int talkers, float *out, int n)
{
  memset (out, 0, sizeof (float) * n);
  for (int t = 0; t < talkers && n_pool > 0; t++) {
    const float *clip = clips + (size_t) pool[mm_rng_below (rng, n_pool)] * stride;
    double ps = mm_aug_speech_power (clip, n);
    float k = ps > 0 ? (float) (1.0 / sqrt (ps)) : 0.0f;
    for (int i = 0; i < n; i++)
      out[i] += k * clip[i];
  }
  scale_to_unit_rms (out, n);
}

void
mm_aug_crowd (MmRng *rng, const float *clips, size_t stride, const int *pool, int n_pool,
    int talkers, float *out, int n)
{
  memset (out, 0, sizeof (float) * n);
  for (int t = 0; t < talkers && n_pool > 0; t++) {
    gboolean first = TRUE;
    /* bounded, so that a pool of silent clips ends */
    for (int i = 0, draws = 0; i < n && draws < 4 * n_pool + 64; draws++) {
      const float *clip = clips + (size_t) pool[mm_rng_below (rng, (guint32) n_pool)] * stride;
      int a, b;
      float k;

      spoken_span (clip, (int) stride, &a, &b);
      if (b - a < 2)
        continue;
      k = (float) (1.0 / sqrt (mean_square (clip + a, b - a)));
      if (first)
        a += (int) mm_rng_below (rng, (guint32) (b - a));
      first = FALSE;
      for (; a < b && i < n; a++, i++)
        out[i] += k * clip[a];
    }
  }
  scale_to_unit_rms (out, n);
}

static void
add_babble (const MmAugmenter *g, MmRng *r, Scratch *s)
{
  const MmDataset *tr = g->train;
  int talkers = 3 + (int) mm_rng_below (r, 4);

  mm_aug_babble (r, tr->waves->samples, tr->waves->len, tr->wave, tr->n, talkers, s->noise,
      WAVE_LEN);
}

/* The waveform kinds, in the order of mm-augment.h, then the features.
 * Returns the effective SNR of the noises added (dB; +∞ without noise). */
static float
augment_audio (MmAugmenter *g, Scratch *s, int sample, float *out)
{
  const MmAugment *a = &g->a;
  const MmDataset *tr = g->train;
  MmRng r;
  float warp = 1.0f;
  /* the noise power added so far over the clean speech's: each noise is
   * scaled to the speech-and-noise power it meets (mm_aug_add_noise), so
   * noise k adds (1 + r)·10^(−snr_k/10), the terms taken as uncorrelated */
  double r_noise = 0;
  static const MmAugKind noises[] = { MM_AUG_WHITE, MM_AUG_PINK, MM_AUG_BABBLE, MM_AUG_HUM };

  if (a->enabled & MM_AUG_WAVE_KINDS) {
    memcpy (s->wave, tr->waves->samples + (size_t) tr->wave[sample] * tr->waves->len,
        sizeof s->wave);
    if (draw_kind (a, &r, g->seed, g->epoch, sample, MM_AUG_SPEED)) {
      mm_aug_speed (s->wave, s->tmp, WAVE_LEN, uniform (&r, 1 - a->speed, 1 + a->speed));
      memcpy (s->wave, s->tmp, sizeof s->wave);
    }
    if (draw_kind (a, &r, g->seed, g->epoch, sample, MM_AUG_SHIFT))
      mm_aug_shift (s->wave, WAVE_LEN, (int) lrintf (uniform (&r, -a->shift_s, a->shift_s)
              * tr->waves->sample_rate));
    for (guint k = 0; k < G_N_ELEMENTS (noises); k++) {
      if (!draw_kind (a, &r, g->seed, g->epoch, sample, noises[k]))
        continue;
      float snr = uniform (&r, a->snr_min, a->snr_max);
      const float *noise = s->noise;
      int which = noises[k] == MM_AUG_WHITE ? NOISE_WHITE : noises[k] == MM_AUG_PINK ? NOISE_PINK
          : mm_rng_below (&r, 2) ? NOISE_HUM60 : NOISE_HUM50;
      if (noises[k] == MM_AUG_BABBLE)
        add_babble (g, &r, s);
      else
        noise = g->noise[which] + mm_rng_below (&r, NOISE_LEN - WAVE_LEN);
      /* only when asked: two more passes over the clip per noise */
      if (g->snr_db && mm_aug_speech_power (s->wave, WAVE_LEN) > 0
          && mean_square (noise, WAVE_LEN) > 0)
        r_noise += (1 + r_noise) * pow (10.0, -snr / 10.0);
      mm_aug_add_noise (s->wave, noise, WAVE_LEN, snr);
    }
    if (draw_kind (a, &r, g->seed, g->epoch, sample, MM_AUG_BAND)) {
      float hp = uniform (&r, 50, a->highpass_max_hz), lp = uniform (&r, a->lowpass_min_hz, 7000);
      mm_aug_band (s->wave, WAVE_LEN, tr->waves->sample_rate, hp, lp);
    }
    if (draw_kind (a, &r, g->seed, g->epoch, sample, MM_AUG_GAIN))
      mm_aug_gain (s->wave, WAVE_LEN, uniform (&r, -a->gain_db, a->gain_db / 2));
    if (draw_kind (a, &r, g->seed, g->epoch, sample, MM_AUG_VTLP))
      warp = uniform (&r, 1 - a->vtlp, 1 + a->vtlp);
    mm_mfcc_set_warp (s->mfcc, warp);
    /* a finite clip in [-1, 1] always gives features: the only failure
     * (non-finite input) cannot happen here */
    if (!mm_mfcc_compute (s->mfcc, s->wave, WAVE_LEN, s->feat, NULL))
      g_return_val_if_reached (INFINITY);
    mm_net_prepare_audio (g->norm, s->feat, out);
  }
  if (draw_kind (a, &r, g->seed, g->epoch, sample, MM_AUG_SPECAUG)) {
    for (int m = 0; m < a->time_masks; m++) {
      int w = 1 + (int) mm_rng_below (&r, a->time_width), t0 = mm_rng_below (&r, MM_MFCC_FRAMES - w + 1);
      memset (out + t0 * MM_MFCC_COEFFS, 0, sizeof (float) * w * MM_MFCC_COEFFS);
    }
    for (int m = 0; m < a->coeff_masks; m++) {
      int w = 1 + (int) mm_rng_below (&r, a->coeff_width), c0 = mm_rng_below (&r, MM_MFCC_COEFFS - w + 1);
      for (int t = 0; t < MM_MFCC_FRAMES; t++)
        memset (out + t * MM_MFCC_COEFFS + c0, 0, sizeof (float) * w);
    }
  }
  return r_noise > 0 ? (float) (-10.0 * log10 (r_noise)) : INFINITY;
}

static void
augment_image (MmAugmenter *g, Scratch *s, int sample, float *io)
{
  const MmAugment *a = &g->a;
  float mean = g->norm->image_mean, std = g->norm->image_std, *x = s->img, *y = s->img2;
  MmRng r;

  for (int i = 0; i < MM_IMAGE_PIXELS; i++)
    x[i] = io[i] * std + mean;
  if (draw_kind (a, &r, g->seed, g->epoch, sample, MM_AUG_AFFINE)) {
    mm_aug_affine (x, y, uniform (&r, -a->rotate_deg, a->rotate_deg),
        uniform (&r, 1 - a->scale, 1 + a->scale), uniform (&r, -a->shear_deg, a->shear_deg),
        uniform (&r, -a->shift_px, a->shift_px), uniform (&r, -a->shift_px, a->shift_px));
    memcpy (x, y, sizeof s->img);
  }
  if (draw_kind (a, &r, g->seed, g->epoch, sample, MM_AUG_ELASTIC)) {
    mm_aug_elastic (&r, x, y, a->elastic_alpha, a->elastic_sigma);
    memcpy (x, y, sizeof s->img);
  }
  if (draw_kind (a, &r, g->seed, g->epoch, sample, MM_AUG_STROKE)) {
    mm_aug_stroke (x, y, mm_rng_below (&r, 2));
    memcpy (x, y, sizeof s->img);
  }
  if (draw_kind (a, &r, g->seed, g->epoch, sample, MM_AUG_BLUR))
    mm_aug_blur (x, uniform (&r, 0.3f, a->blur_sigma));
  if (draw_kind (a, &r, g->seed, g->epoch, sample, MM_AUG_GAMMA)) {
    float gm = expf (uniform (&r, -logf (a->gamma), logf (a->gamma))), c = uniform (&r, 0.6f, 1);
    for (int i = 0; i < MM_IMAGE_PIXELS; i++)
      x[i] = c * powf (CLAMP (x[i], 0.0f, 1.0f), gm);
  }
  if (draw_kind (a, &r, g->seed, g->epoch, sample, MM_AUG_PIXEL_NOISE)) {
    mm_aug_pixel_noise (&r, x, uniform (&r, 0, a->noise_std));
  }
  if (draw_kind (a, &r, g->seed, g->epoch, sample, MM_AUG_OCCLUDE)) {
    int w = 3 + (int) mm_rng_below (&r, MAX (a->occlude_px - 2, 1));
    int h = 3 + (int) mm_rng_below (&r, MAX (a->occlude_px - 2, 1));
    int x0 = mm_rng_below (&r, SIDE - w + 1), y0 = mm_rng_below (&r, SIDE - h + 1);
    for (int yy = y0; yy < y0 + h; yy++)
      memset (x + yy * SIDE + x0, 0, sizeof (float) * w);
  }
  if (draw_kind (a, &r, g->seed, g->epoch, sample, MM_AUG_POLARITY))
    for (int i = 0; i < MM_IMAGE_PIXELS; i++)
      x[i] = 1 - x[i];
  for (int i = 0; i < MM_IMAGE_PIXELS; i++)
    io[i] = (x[i] - mean) / std;
}

static void
apply_task (gpointer data, int task)
{
  MmAugmenter *g = data;
  int from = task * g->b / g->n_tasks, to = (task + 1) * g->b / g->n_tasks;
  Scratch *s = g->scratch[task];

  for (int i = from; i < to; i++) {
    if (g->image && (g->a.enabled & MM_AUG_IMAGE_KINDS))
      augment_image (g, s, g->idx[i], g->image + (size_t) i * MM_IMAGE_PIXELS);
    float snr = INFINITY;
    if (g->audio && (g->a.enabled & MM_AUG_AUDIO_KINDS))
      snr = augment_audio (g, s, g->idx[i], g->audio + (size_t) i * MM_AUDIO_VALUES);
    if (g->snr_db)
      g->snr_db[i] = snr;
  }
}

MmAugmenter *
mm_augmenter_new (const MmAugment *a, MmArch arch, const MmMfccParams *mfcc,
    const MmNorm *norm, const MmDataset *train, GError **error)
{
  MmAugmenter *g;
  MmMfccParams defaults;

  if (mm_arch_uses_audio (arch) && (a->enabled & MM_AUG_WAVE_KINDS)
      && (!train->waves || !train->wave)) {
    g_set_error (error, MM_ERROR, MM_ERROR_INVALID,
        "audio augmentation on the waveform needs the training set's clips (load them)");
    return NULL;
  }
  if (!mfcc) {
    mm_mfcc_params_init (&defaults);
    mfcc = &defaults;
  }
  g = g_new0 (MmAugmenter, 1);
  g->a = *a;
  g->arch = arch;
  g->norm = norm;
  g->train = train;
  if (mm_arch_uses_audio (arch) && (a->enabled & MM_AUG_WAVE_KINDS)) {
    MmRng r;
    mm_rng_seed (&r, 0x6e6f697365ULL, 1);
    for (int k = 0; k < N_NOISES; k++)
      g->noise[k] = g_new (float, NOISE_LEN);
    mm_aug_white (&r, g->noise[NOISE_WHITE], NOISE_LEN);
    mm_aug_pink (&r, g->noise[NOISE_PINK], NOISE_LEN);
    mm_aug_hum (&r, g->noise[NOISE_HUM50], NOISE_LEN, train->waves->sample_rate, 50);
    mm_aug_hum (&r, g->noise[NOISE_HUM60], NOISE_LEN, train->waves->sample_rate, 60);
  }
  for (int t = 0; t < MAX_TASKS; t++) {
    g->scratch[t] = g_new0 (Scratch, 1);
    if (mm_arch_uses_audio (arch) && (a->enabled & MM_AUG_WAVE_KINDS)
        && !(g->scratch[t]->mfcc = mm_mfcc_new (mfcc, error))) {
      mm_augmenter_free (g);
      return NULL;
    }
  }
  return g;
}

void
mm_augmenter_free (MmAugmenter *g)
{
  if (!g)
    return;
  for (int t = 0; t < MAX_TASKS; t++) {
    if (g->scratch[t])
      mm_mfcc_free (g->scratch[t]->mfcc);
    g_free (g->scratch[t]);
  }
  for (int k = 0; k < N_NOISES; k++)
    g_free (g->noise[k]);
  g_free (g);
}

void
mm_augmenter_apply (MmAugmenter *g, const int *idx, int b, guint64 seed, int epoch,
    float *image, float *audio, float *snr_db)
{
  /* a waveform sample (resampling, noise, a whole MFCC) is far more work
   * than a wake-up, so small tasks pay */
  g->n_tasks = mm_parallel_tasks (b, 4, MAX_TASKS);
  g->idx = idx;
  g->b = b;
  g->seed = seed;
  g->epoch = epoch;
  g->image = mm_arch_uses_image (g->arch) ? image : NULL;
  g->audio = mm_arch_uses_audio (g->arch) ? audio : NULL;
  g->snr_db = snr_db;
  mm_parallel_for (g->n_tasks, apply_task, g);
}
