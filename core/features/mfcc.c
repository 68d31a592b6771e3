/* mmdigits — MFCC front end, python_speech_features.mfcc in FFTW float.
 *
 * Per frame: pre-emphasised samples (computed on the fly from the input, so
 * no per-signal buffer is needed) → r2c FFT of nfft points (the frame is
 * truncated or zero-padded to nfft, as numpy.fft.rfft(frame, nfft) does) →
 * power spectrum → sparse triangular mel filters → ln → DCT-II (orthonormal,
 * lifter folded into the matrix) → coefficient 0 = ln(frame energy).
 * Float throughout: the FFT's rounding dominates the error (max ~1e-4
 * against the float64 reference), sums use eight partial accumulators, the
 * filter energies' ln is a 4-wide polynomial (< 1e-7 relative to ln).
 *
 * Reproducibility: the FFT plan comes from wisdom compiled in (see
 * fftw.c) or FFTW_ESTIMATE, never from timing, so the features are
 * bit-identical across extractors, threads and processes on one machine and
 * FFTW build. Another CPU or FFTW version may get another plan (FFTW may
 * reject the wisdom there: ESTIMATE's plan then): the features then differ by float FFT rounding only — on 300 FSDD recordings
 * the compiled-in plan and ESTIMATE's differ by at most 1.0e-4 (nfft 1024)
 * and 3.7e-4 (nfft 512) absolute, 8e-5 relative where |c| > 1: the same
 * size as the error against the float64 reference, not below 1e-6.
 */
#include "mm-mfcc.h"

#include <float.h>
#include <fftw3.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "mm-error.h"
#include "mm-fftw.h"
#include "mm-json.h"
#include "mm-simd.h"

/* Samples enter as 16-bit units, as the reference reads int16 WAVs. */
#define MM_MFCC_SCALE 32768.0f
#define MM_MFCC_MAX_NFFT 65536
#define MM_MFCC_MAX_FRAME 1048576

struct _MmMfcc {
  MmMfccParams p;
  int n_bins;          /* nfft / 2 + 1 */
  int n_fft_in;        /* samples of a frame the FFT sees: min (frame_len, nfft) */
  fftwf_plan plan;
  float *fft_in;       /* [nfft]; the tail past n_fft_in stays zero */
  fftwf_complex *fft_out;  /* [n_bins] */
  float *power;        /* [n_bins + 4]; the 4 past the end stay zero */
  int *fb_start;       /* [n_filters] first bin of each triangle */
  int *fb_len;         /* [n_filters] bins in it, rounded up to 4 (0-weighted) */
  int *fb_off;         /* [n_filters] offset of its weights in fb_w */
  float *fb_w;         /* weights of all triangles, concatenated */
  float *log_fb;       /* [n_filters rounded up to 4] for log4 */
  int nc16;            /* n_coeffs rounded up to a multiple of 16 */
  float *dct;          /* [n_filters][nc16], orthonormal DCT-II × lifter, 0-padded */
  float *cep;          /* [nc16] */
  float *silence;      /* [n_coeffs] the result for an all-zero frame */
  float warp;          /* VTLP factor of the filter edges (1 = none), see mm_mfcc_set_warp */
};


static void frame_mfcc (MmMfcc *m, float *restrict out);

void
mm_mfcc_params_init (MmMfccParams *p)
{
  p->sample_rate = 16000;
  p->frame_len = 800;
  p->frame_step = 400;
  p->nfft = 1024;
  p->n_filters = 26;
  p->n_coeffs = 13;
  p->low_freq = 0.0f;
  p->high_freq = 8000.0f;
  p->preemph = 0.97f;
  p->lifter = 22;
  p->append_energy = TRUE;
  p->dc_block = FALSE;
  p->cmvn = MM_CMVN_NONE;
  p->word_cut = MM_WORD_CUT_WHOLE;
  p->n_views = 0;
  memset (p->views, 0, sizeof p->views);
}

static const char *const cmvn_names[] = { "none", "mean", "mean+var" };
static const char *const word_cut_names[] = { "whole", "detector" };

const char *
mm_cmvn_name (MmCmvn c)
{
  return (unsigned) c < G_N_ELEMENTS (cmvn_names) ? cmvn_names[c] : "?";
}

gboolean
mm_cmvn_from_name (const char *name, MmCmvn *c)
{
  for (unsigned i = 0; name && i < G_N_ELEMENTS (cmvn_names); i++)
    if (strcmp (name, cmvn_names[i]) == 0) {
      *c = (MmCmvn) i;
      return TRUE;
    }
  return FALSE;
}

const char *
mm_word_cut_name (MmWordCut c)
{
  return (unsigned) c < G_N_ELEMENTS (word_cut_names) ? word_cut_names[c] : "?";
}

gboolean
mm_word_cut_from_name (const char *name, MmWordCut *c)
{
  for (unsigned i = 0; name && i < G_N_ELEMENTS (word_cut_names); i++)
    if (strcmp (name, word_cut_names[i]) == 0) {
      *c = (MmWordCut) i;
      return TRUE;
    }
  return FALSE;
}

int
mm_mfcc_params_block_frames (const MmMfccParams *p)
{
  size_t n = (size_t) p->sample_rate * MM_MFCC_BLOCK_SECONDS;
  size_t len = (size_t) p->frame_len, step = (size_t) p->frame_step;

  if (p->frame_step <= 0 || p->frame_len <= 0 || p->sample_rate <= 0)
    return 0;
  return n <= len ? 1 : (int) MIN (1 + (n - len + step - 1) / step, (size_t) G_MAXINT);
}

/* The range a view's speed or warp may take (beyond it a word is no longer
 * itself: an octave up or down). */
static gboolean
view_factor_ok (float v)
{
  return v >= 0.5f && v <= 2.0f;
}

gboolean
mm_mfcc_views_from_string (const char *text, MmMfccParams *p, GError **error)
{
  MmView views[MM_MFCC_MAX_VIEWS];
  char **items;
  int n = 0;
  gboolean ok = TRUE;

  if (!text || !*text || strcmp (text, "none") == 0) {
    p->n_views = 0;
    memset (p->views, 0, sizeof p->views);
    return TRUE;
  }
  items = g_strsplit (text, ",", -1);
  for (char **it = items; ok && *it; it++) {
    gboolean speed = g_str_has_prefix (*it, "speed:");
    const char *num = speed ? *it + 6 : g_str_has_prefix (*it, "vtlp:") ? *it + 5 : NULL;
    char *end = NULL;
    double v = num && *num ? g_ascii_strtod (num, &end) : NAN;

    if (!num || !end || *end || !view_factor_ok ((float) v) || n == MM_MFCC_MAX_VIEWS) {
      g_set_error (error, MM_ERROR, MM_ERROR_INVALID, "views: '%s' is not speed:F or vtlp:A "
          "with F, A in [0.5, 2] (at most %d views)", *it, MM_MFCC_MAX_VIEWS);
      ok = FALSE;
      break;
    }
    views[n++] = (MmView) { speed ? (float) v : 1.0f, speed ? 1.0f : (float) v };
  }
  g_strfreev (items);
  if (ok) {
    memset (p->views, 0, sizeof p->views);
    memcpy (p->views, views, sizeof (MmView) * n);
    p->n_views = n;
  }
  return ok;
}

char *
mm_mfcc_views_to_string (const MmMfccParams *p)
{
  GString *s = g_string_new (NULL);
  char num[G_ASCII_DTOSTR_BUF_SIZE];

  for (int i = 0; i < p->n_views; i++) {
    const MmView *v = &p->views[i];
    /* "speed:1" for the identity view */
    gboolean speed = v->warp == 1.0f;

    g_ascii_formatd (num, sizeof num, "%.9g", mm_float_decimal (speed ? v->speed : v->warp));
    g_string_append_printf (s, "%s%s:%s", i ? "," : "", speed ? "speed" : "vtlp", num);
  }
  return g_string_free (s->len ? s : g_string_append (s, "none"), FALSE);
}

gboolean
mm_mfcc_params_check (const MmMfccParams *p, GError **error)
{
  const char *what = NULL;

  if (p->sample_rate <= 0 || p->sample_rate > 1000000)
    what = "sample_rate must be in 1..1000000";
  else if (p->frame_len <= 0 || p->frame_len > MM_MFCC_MAX_FRAME)
    what = "frame_len must be in 1..1048576";
  else if (p->frame_step <= 0 || p->frame_step > MM_MFCC_MAX_FRAME)
    what = "frame_step must be in 1..1048576";
  else if (p->nfft < 2 || p->nfft > MM_MFCC_MAX_NFFT)
    what = "nfft must be in 2..65536";
  else if (p->n_filters < 1 || p->n_filters > 1024)
    what = "n_filters must be in 1..1024";
  else if (p->n_coeffs < 1 || p->n_coeffs > p->n_filters)
    what = "n_coeffs must be in 1..n_filters";
  else if (!isfinite (p->low_freq) || !isfinite (p->high_freq)
      || p->low_freq < 0 || p->high_freq <= p->low_freq
      || p->high_freq > p->sample_rate / 2.0f)
    what = "need 0 <= low_freq < high_freq <= sample_rate / 2";
  else if (!isfinite (p->preemph) || p->preemph < 0 || p->preemph >= 1)
    what = "preemph must be in [0, 1)";
  else if (p->lifter < 0)
    what = "lifter must be >= 0";
  else if ((unsigned) p->cmvn >= G_N_ELEMENTS (cmvn_names))
    what = "cmvn must be none, mean or mean+var";
  else if ((unsigned) p->word_cut >= G_N_ELEMENTS (word_cut_names))
    what = "word_cut must be whole or detector";
  else if (p->n_views < 0 || p->n_views > MM_MFCC_MAX_VIEWS)
    what = "n_views must be in 0.." G_STRINGIFY (MM_MFCC_MAX_VIEWS);
  for (int i = 0; !what && i < p->n_views; i++)
    if (!view_factor_ok (p->views[i].speed) || !view_factor_ok (p->views[i].warp)
        || (p->views[i].speed != 1.0f && p->views[i].warp != 1.0f))
      what = "a view changes its speed or its warp (one, in [0.5, 2])";

  if (what) {
    g_set_error (error, MM_ERROR, MM_ERROR_INVALID, "MFCC parameters: %s", what);
    return FALSE;
  }
  return TRUE;
}

/* ---- JSON ---------------------------------------------------------------- */

/* The shortest decimal that reads back as the same float, so that 0.97f is
 * written as 0.97 rather than 0.97000002861022949. */
double
mm_float_decimal (float v)
{
  char buf[32];
  for (int prec = 6; prec <= 9; prec++) {
    g_snprintf (buf, sizeof buf, "%.*g", prec, (double) v);
    if ((float) g_ascii_strtod (buf, NULL) == v)
      return g_ascii_strtod (buf, NULL);
  }
  return v;
}

char *
mm_mfcc_params_to_json (const MmMfccParams *p)
{
  JsonBuilder *b = json_builder_new ();
  char *json;

  json_builder_begin_object (b);
  mm_json_add_int (b, "sample_rate", p->sample_rate);
  mm_json_add_int (b, "frame_len", p->frame_len);
  mm_json_add_int (b, "frame_step", p->frame_step);
  mm_json_add_int (b, "nfft", p->nfft);
  mm_json_add_int (b, "n_filters", p->n_filters);
  mm_json_add_int (b, "n_coeffs", p->n_coeffs);
  mm_json_add_double (b, "low_freq", mm_float_decimal (p->low_freq));
  mm_json_add_double (b, "high_freq", mm_float_decimal (p->high_freq));
  mm_json_add_double (b, "preemph", mm_float_decimal (p->preemph));
  mm_json_add_int (b, "lifter", p->lifter);
  mm_json_add_boolean (b, "append_energy", p->append_energy);
  mm_json_add_int (b, "frames", mm_mfcc_params_block_frames (p));
  mm_json_add_boolean (b, "dc_block", p->dc_block);
  mm_json_add_string (b, "cmvn", mm_cmvn_name (p->cmvn));
  mm_json_add_string (b, "word_cut", mm_word_cut_name (p->word_cut));
  if (p->n_views > 0) {
    /* only when there are views: a front end without them writes what
     * files written before views existed hold */
    char *views = mm_mfcc_views_to_string (p);
    mm_json_add_string (b, "views", views);
    g_free (views);
  }
  json_builder_end_object (b);

  json = mm_json_builder_to_text (b);
  g_object_unref (b);
  return json;
}

/* Reads member @name of @obj into *@val if present. Integers must be
 * integral numbers; booleans must be JSON booleans. */
static gboolean
json_get_int (JsonObject *obj, const char *name, int *val, GError **error)
{
  JsonNode *n = json_object_get_member (obj, name);
  double d;

  if (!n)
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (n) || (json_node_get_value_type (n) != G_TYPE_INT64
          && json_node_get_value_type (n) != G_TYPE_DOUBLE))
    goto bad;
  d = json_node_get_double (n);
  if (d != floor (d) || d < G_MININT || d > G_MAXINT)
    goto bad;
  *val = (int) d;
  return TRUE;
bad:
  g_set_error (error, MM_ERROR, MM_ERROR_FORMAT,
      "MFCC parameters: member \"%s\" is not an integer", name);
  return FALSE;
}

static gboolean
json_get_float (JsonObject *obj, const char *name, float *val, GError **error)
{
  JsonNode *n = json_object_get_member (obj, name);

  if (!n)
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (n) || (json_node_get_value_type (n) != G_TYPE_INT64
          && json_node_get_value_type (n) != G_TYPE_DOUBLE)) {
    g_set_error (error, MM_ERROR, MM_ERROR_FORMAT,
        "MFCC parameters: member \"%s\" is not a number", name);
    return FALSE;
  }
  *val = (float) json_node_get_double (n);
  return TRUE;
}

static gboolean
json_get_bool (JsonObject *obj, const char *name, gboolean *val, GError **error)
{
  JsonNode *n = json_object_get_member (obj, name);

  if (!n)
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_BOOLEAN) {
    g_set_error (error, MM_ERROR, MM_ERROR_FORMAT,
        "MFCC parameters: member \"%s\" is not a boolean", name);
    return FALSE;
  }
  *val = json_node_get_boolean (n);
  return TRUE;
}

/* A string member naming an enum value; absent keeps *@val. */
static gboolean
json_get_enum (JsonObject *obj, const char *name,
    gboolean (*from_name) (const char *, int *), int *val, GError **error)
{
  JsonNode *n = json_object_get_member (obj, name);

  if (!n)
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING
      || !from_name (json_node_get_string (n), val)) {
    g_set_error (error, MM_ERROR, MM_ERROR_FORMAT,
        "MFCC parameters: member \"%s\" is not one of the known names", name);
    return FALSE;
  }
  return TRUE;
}

static gboolean
cmvn_from_name_int (const char *name, int *v)
{
  MmCmvn c;
  if (!mm_cmvn_from_name (name, &c))
    return FALSE;
  *v = (int) c;
  return TRUE;
}

static gboolean
word_cut_from_name_int (const char *name, int *v)
{
  MmWordCut c;
  if (!mm_word_cut_from_name (name, &c))
    return FALSE;
  *v = (int) c;
  return TRUE;
}

/* "views": a string of mm_mfcc_views_from_string; absent = none. */
static gboolean
json_get_views (JsonObject *obj, MmMfccParams *q, GError **error)
{
  JsonNode *n = json_object_get_member (obj, "views");

  if (!n)
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING) {
    g_set_error (error, MM_ERROR, MM_ERROR_FORMAT,
        "MFCC parameters: member \"views\" is not a string");
    return FALSE;
  }
  if (!mm_mfcc_views_from_string (json_node_get_string (n), q, error)) {
    g_prefix_error (error, "MFCC parameters: ");
    return FALSE;
  }
  return TRUE;
}

/* "frames" is derived (written for readers and for the caps); a file whose
 * value disagrees with the other members is refused rather than believed. */
static gboolean
check_frames (JsonObject *obj, const MmMfccParams *q, GError **error)
{
  int frames = -1;

  if (!json_get_int (obj, "frames", &frames, error))
    return FALSE;
  if (frames != -1 && frames != mm_mfcc_params_block_frames (q)) {
    g_set_error (error, MM_ERROR, MM_ERROR_FORMAT,
        "MFCC parameters: \"frames\" is %d but the other members give %d per second",
        frames, mm_mfcc_params_block_frames (q));
    return FALSE;
  }
  return TRUE;
}

/* Members that are absent keep their defaults and unknown members are
 * ignored, so files from a later version with extra options still load; the
 * result is validated as mm_mfcc_new() would. @p is written only on success. */
gboolean
mm_mfcc_params_from_json (const char *json, MmMfccParams *p, GError **error)
{
  JsonNode *root;
  JsonObject *obj;
  MmMfccParams q;
  GError *err = NULL;
  gboolean ok;
  int cmvn, cut;

  if (!json) {
    g_set_error (error, MM_ERROR, MM_ERROR_FORMAT, "MFCC parameters: no JSON");
    return FALSE;
  }
  if (!(root = mm_json_parse (json, -1, &err))) {
    g_set_error (error, MM_ERROR, MM_ERROR_FORMAT, "MFCC parameters: the text %s",
        err->message);
    g_error_free (err);
    return FALSE;
  }
  if (!JSON_NODE_HOLDS_OBJECT (root)) {
    g_set_error (error, MM_ERROR, MM_ERROR_FORMAT,
        "MFCC parameters: JSON is not an object");
    json_node_unref (root);
    return FALSE;
  }
  obj = json_node_get_object (root);
  mm_mfcc_params_init (&q);
  cmvn = (int) q.cmvn;
  cut = (int) q.word_cut;
  ok = json_get_int (obj, "sample_rate", &q.sample_rate, error)
      && json_get_int (obj, "frame_len", &q.frame_len, error)
      && json_get_int (obj, "frame_step", &q.frame_step, error)
      && json_get_int (obj, "nfft", &q.nfft, error)
      && json_get_int (obj, "n_filters", &q.n_filters, error)
      && json_get_int (obj, "n_coeffs", &q.n_coeffs, error)
      && json_get_float (obj, "low_freq", &q.low_freq, error)
      && json_get_float (obj, "high_freq", &q.high_freq, error)
      && json_get_float (obj, "preemph", &q.preemph, error)
      && json_get_int (obj, "lifter", &q.lifter, error)
      && json_get_bool (obj, "append_energy", &q.append_energy, error)
      && json_get_bool (obj, "dc_block", &q.dc_block, error)
      && json_get_enum (obj, "cmvn", cmvn_from_name_int, &cmvn, error)
      && json_get_enum (obj, "word_cut", word_cut_from_name_int, &cut, error);
  q.cmvn = (MmCmvn) cmvn;
  q.word_cut = (MmWordCut) cut;
  ok = ok && json_get_views (obj, &q, error)
      && mm_mfcc_params_check (&q, error) && check_frames (obj, &q, error);
  json_node_unref (root);
  if (ok)
    *p = q;
  return ok;
}

gboolean
mm_mfcc_params_equal (const MmMfccParams *a, const MmMfccParams *b, char **what)
{
  char *w = NULL;

#define CMP_INT(f) \
  if (!w && a->f != b->f) \
    w = g_strdup_printf ("%s: %d vs %d", #f, (int) a->f, (int) b->f);
#define CMP_FLOAT(f) \
  if (!w && a->f != b->f) \
    w = g_strdup_printf ("%s: %g vs %g", #f, mm_float_decimal (a->f), mm_float_decimal (b->f));
#define CMP_BOOL(f) \
  if (!w && !a->f != !b->f) \
    w = g_strdup_printf ("%s: %s vs %s", #f, a->f ? "true" : "false", b->f ? "true" : "false");
  CMP_INT (sample_rate);
  CMP_INT (frame_len);
  CMP_INT (frame_step);
  CMP_INT (nfft);
  CMP_INT (n_filters);
  CMP_INT (n_coeffs);
  CMP_FLOAT (low_freq);
  CMP_FLOAT (high_freq);
  CMP_FLOAT (preemph);
  CMP_INT (lifter);
  CMP_BOOL (append_energy);
  CMP_BOOL (dc_block);
  if (!w && a->cmvn != b->cmvn)
    w = g_strdup_printf ("cmvn: %s vs %s", mm_cmvn_name (a->cmvn), mm_cmvn_name (b->cmvn));
  if (!w && a->word_cut != b->word_cut)
    w = g_strdup_printf ("word_cut: %s vs %s", mm_word_cut_name (a->word_cut),
        mm_word_cut_name (b->word_cut));
  if (!w) {
    char *va = mm_mfcc_views_to_string (a), *vb = mm_mfcc_views_to_string (b);
    if (strcmp (va, vb) != 0)
      w = g_strdup_printf ("views: %s vs %s", va, vb);
    g_free (va);
    g_free (vb);
  }
#undef CMP_INT
#undef CMP_FLOAT
#undef CMP_BOOL
  if (what)
    *what = w;
  else
    g_free (w);
  return w == NULL;
}

gboolean
mm_mfcc_params_equal_blocks (const MmMfccParams *a, const MmMfccParams *b, char **what)
{
  MmMfccParams a0 = *a, b0 = *b;

  a0.n_views = b0.n_views = 0;
  return mm_mfcc_params_equal (&a0, &b0, what);
}

/* ---- construction -------------------------------------------------------- */

double
mm_hz_to_mel (double hz)
{
  return 2595.0 * log10 (1.0 + hz / 700.0);
}

double
mm_mel_to_hz (double mel)
{
  return 700.0 * (pow (10.0, mel / 2595.0) - 1.0);
}

/* The weights include the 1/nfft of the power spectrum, which is thus
 * never scaled itself.
 *
 * python_speech_features.get_filterbanks: n_filters + 2 points equally
 * spaced in mel, mapped to FFT bins floor((nfft + 1)·hz / rate); filter j
 * rises over [b_j, b_j+1) and falls over [b_j+1, b_j+2) — the last edge bin
 * itself gets no weight. */
/* Vocal-tract-length perturbation's piecewise-linear warp (Jaitly and
 * Hinton 2013): frequencies below a knee scale by @alpha, the rest maps
 * linearly so that the Nyquist frequency stays put. The knee is at
 * 0.6·Nyquist·min(α, 1)/α (4,800 Hz at 16 kHz for α ≤ 1, as in the paper). */
static double
vtlp_warp (double hz, double alpha, double nyquist)
{
  double knee = 0.6 * nyquist * MIN (alpha, 1.0) / alpha;

  if (hz <= knee)
    return hz * alpha;
  return nyquist - (nyquist - knee * alpha) / (nyquist - knee) * (nyquist - hz);
}

static void
build_filterbank (MmMfcc *m)
{
  const MmMfccParams *p = &m->p;
  int nf = p->n_filters, total = 0;
  double lo = mm_hz_to_mel (p->low_freq), hi = mm_hz_to_mel (p->high_freq);
  int *edge = g_new (int, nf + 2);

  for (int i = 0; i < nf + 2; i++) {
    /* numpy.linspace: lo + i·step, with the last point exactly hi */
    double mel = i == nf + 1 ? hi : lo + i * ((hi - lo) / (nf + 1));
    double hz = mm_mel_to_hz (mel);
    if (m->warp != 1.0f)
      hz = vtlp_warp (hz, m->warp, p->sample_rate / 2.0);
    edge[i] = (int) floor ((p->nfft + 1) * hz / p->sample_rate);
    /* a bin past nfft/2 cannot be weighted (numpy would raise) */
    edge[i] = CLAMP (edge[i], 0, m->n_bins);
  }
  for (int j = 0; j < nf; j++) {
    m->fb_start[j] = edge[j];
    /* padded with zero weights, so dot4 needs no scalar tail */
    m->fb_len[j] = (MAX (edge[j + 2] - edge[j], 0) + 3) / 4 * 4;
    m->fb_off[j] = total;
    total += m->fb_len[j];
  }
  m->fb_w = g_new0 (float, MAX (total, 1));
  for (int j = 0; j < nf; j++) {
    float *w = m->fb_w + m->fb_off[j];
    for (int i = edge[j]; i < edge[j + 1]; i++)
      w[i - edge[j]] = (float) ((double) (i - edge[j]) / (edge[j + 1] - edge[j]) / p->nfft);
    for (int i = edge[j + 1]; i < edge[j + 2]; i++)
      w[i - edge[j]] = (float) ((double) (edge[j + 2] - i) / (edge[j + 2] - edge[j + 1]) / p->nfft);
  }
  g_free (edge);
}

/* scipy.fftpack.dct(type=2, norm='ortho') rows 0..n_coeffs-1, each scaled by
 * the sinusoidal lifter 1 + (L/2)·sin(πk/L). */
static void
build_dct (MmMfcc *m)
{
  int nf = m->p.n_filters, nc = m->p.n_coeffs, L = m->p.lifter;

  for (int k = 0; k < nc; k++) {
    double s = k == 0 ? sqrt (1.0 / nf) : sqrt (2.0 / nf);
    double lift = L > 0 ? 1.0 + (L / 2.0) * sin (G_PI * k / L) : 1.0;
    for (int n = 0; n < nf; n++)
      m->dct[n * m->nc16 + k] = (float) (lift * s * cos (G_PI * k * (2 * n + 1) / (2.0 * nf)));
  }
}

MmMfcc *
mm_mfcc_new (const MmMfccParams *p, GError **error)
{
  MmMfcc *m;

  if (!p) {
    g_set_error (error, MM_ERROR, MM_ERROR_INVALID, "MFCC parameters: NULL");
    return NULL;
  }
  if (!mm_mfcc_params_check (p, error))
    return NULL;

  m = g_new0 (MmMfcc, 1);
  m->p = *p;
  m->n_bins = p->nfft / 2 + 1;
  m->n_fft_in = MIN (p->frame_len, p->nfft);
  m->fft_in = fftwf_alloc_real (p->nfft);
  m->fft_out = fftwf_alloc_complex (m->n_bins);
  m->power = g_new0 (float, m->n_bins + 4);
  m->fb_start = g_new0 (int, p->n_filters);
  m->fb_len = g_new0 (int, p->n_filters);
  m->fb_off = g_new0 (int, p->n_filters);
  m->log_fb = g_new0 (float, (p->n_filters + 3) / 4 * 4);
  m->nc16 = (p->n_coeffs + 15) / 16 * 16;
  m->dct = g_new0 (float, (size_t) m->nc16 * p->n_filters);
  m->cep = g_new0 (float, m->nc16);
  m->silence = g_new0 (float, p->n_coeffs);
  m->warp = 1.0f;

  m->plan = mm_fftw_plan_r2c (p->nfft, m->fft_in, m->fft_out);
  if (!m->plan) {
    g_set_error (error, MM_ERROR, MM_ERROR_INVALID,
        "MFCC: FFTW could not plan a real FFT of %d points", p->nfft);
    mm_mfcc_free (m);
    return NULL;
  }
  memset (m->fft_in, 0, sizeof (float) * p->nfft);
  build_filterbank (m);
  build_dct (m);
  frame_mfcc (m, m->silence);
  return m;
}

void
mm_mfcc_set_warp (MmMfcc *m, float alpha)
{
  g_return_if_fail (alpha >= 0.5f && alpha <= 2.0f);
  if (alpha == m->warp)
    return;
  m->warp = alpha;
  g_free (m->fb_w);
  build_filterbank (m);
}

void
mm_mfcc_free (MmMfcc *m)
{
  if (!m)
    return;
  mm_fftw_destroy (m->plan);
  fftwf_free (m->fft_in);
  fftwf_free (m->fft_out);
  g_free (m->power);
  g_free (m->fb_start);
  g_free (m->fb_len);
  g_free (m->fb_off);
  g_free (m->fb_w);
  g_free (m->log_fb);
  g_free (m->dct);
  g_free (m->cep);
  g_free (m->silence);
  g_free (m);
}

const MmMfccParams *
mm_mfcc_params (const MmMfcc *m)
{
  return &m->p;
}

/* ---- computing ----------------------------------------------------------- */

static size_t
n_frames_sz (const MmMfccParams *p, size_t n)
{
  size_t len = (size_t) p->frame_len, step = (size_t) p->frame_step;

  if (n == 0)
    return 0;
  if (n <= len)
    return 1;
  return 1 + (n - len + step - 1) / step;
}

int
mm_mfcc_n_frames (const MmMfcc *m, size_t n_samples)
{
  size_t f = n_frames_sz (&m->p, n_samples);
  return f > G_MAXINT ? -1 : (int) f;
}

/* 4-lane vectors (mm-simd.h): SSE on any x86-64, NEON on arm64, without
 * -ffast-math and without depending on the -O2 vectoriser's cost model. */

/* Pre-emphasised, scaled samples start..start+n_fft_in-1 of the signal into
 * fft_in, zeros past the end of the signal. Returns FALSE when the frame is
 * all zeros. */
static gboolean
fill_frame (MmMfcc *m, const float *restrict s, size_t n, size_t start)
{
  float *restrict x = m->fft_in;
  const float k = m->p.preemph * MM_MFCC_SCALE;
  const MmV4 vscale = { MM_MFCC_SCALE, MM_MFCC_SCALE, MM_MFCC_SCALE, MM_MFCC_SCALE };
  const MmV4 vk = { k, k, k, k };
  size_t len = (size_t) m->n_fft_in;
  size_t avail = start < n ? MIN (n - start, len) : 0;
  size_t j = 0;
  MmV4u any = { 0, 0, 0, 0 };
  guint32 any1 = 0;

  if (avail > 0 && start == 0) {
    x[0] = s[0] * MM_MFCC_SCALE;
    memcpy (&any1, &x[0], 4);
    j = 1;
  }
  s += start;
  for (; j + 8 <= avail; j += 8) {
    MmV4 y0 = mm_v4_load (s + j) * vscale - vk * mm_v4_load (s + j - 1);
    MmV4 y1 = mm_v4_load (s + j + 4) * vscale - vk * mm_v4_load (s + j + 3);
    MmV4u u0, u1;
    mm_v4_store (x + j, y0);
    mm_v4_store (x + j + 4, y1);
    memcpy (&u0, &y0, sizeof u0);
    memcpy (&u1, &y1, sizeof u1);
    any |= u0 | u1;
  }
  for (; j + 4 <= avail; j += 4) {
    MmV4 y = mm_v4_load (s + j) * vscale - vk * mm_v4_load (s + j - 1);
    MmV4u u;
    mm_v4_store (x + j, y);
    memcpy (&u, &y, sizeof u);
    any |= u;
  }
  for (; j < avail; j++) {
    guint32 u;
    x[j] = s[j] * MM_MFCC_SCALE - k * s[j - 1];
    memcpy (&u, &x[j], 4);
    any1 |= u;
  }
  for (; j < len; j++)
    x[j] = 0.0f;
  /* any bit other than a sign bit (-0 counts as zero) */
  any1 |= any[0] | any[1] | any[2] | any[3];
  return (any1 << 1) != 0;
}

/* Dot product of @n (a multiple of 4) floats, eight partial sums, left as
 * four lanes: the caller adds the lanes of four such sums at once. */
static inline MmV4
dot4 (const float *restrict a, const float *restrict b, int n)
{
  MmV4 acc0 = { 0 }, acc1 = { 0 };
  int i = 0;

  for (; i + 8 <= n; i += 8) {
    acc0 += mm_v4_load (a + i) * mm_v4_load (b + i);
    acc1 += mm_v4_load (a + i + 4) * mm_v4_load (b + i + 4);
  }
  if (i < n)
    acc0 += mm_v4_load (a + i) * mm_v4_load (b + i);
  return acc0 + acc1;
}

/* { Σ lanes of a, of b, of c, of d }, each as (x0 + x2) + (x1 + x3). */
static inline MmV4
hsum4 (MmV4 a, MmV4 b, MmV4 c, MmV4 d)
{
  MmV4 ab = __builtin_shufflevector (a, b, 0, 4, 1, 5)
      + __builtin_shufflevector (a, b, 2, 6, 3, 7);
  MmV4 cd = __builtin_shufflevector (c, d, 0, 4, 1, 5)
      + __builtin_shufflevector (c, d, 2, 6, 3, 7);
  return __builtin_shufflevector (ab, cd, 0, 1, 4, 5)
      + __builtin_shufflevector (ab, cd, 2, 3, 6, 7);
}

/* Energy of filter @j as four partial sums; 0 past the last filter. */
static inline MmV4
filter_sum (const MmMfcc *m, const float *restrict power, int j)
{
  if (j >= m->p.n_filters)
    return (MmV4) { 0 };
  return dot4 (m->fb_w + m->fb_off[j], power + m->fb_start[j], m->fb_len[j]);
}

/* |X|² (the 1/nfft is in the filter weights) for the interleaved complex
 * spectrum; returns the sum of it, accumulated in the same pass. */
static float
power_spectrum (const float *restrict spec, float *restrict power, int nb)
{
  MmV4 acc0 = { 0 }, acc1 = { 0 };
  float tail = 0;
  int i = 0;

  for (; i + 8 <= nb; i += 8) {
    MmV4 a = mm_v4_load (spec + 2 * i), b = mm_v4_load (spec + 2 * i + 4);
    MmV4 c = mm_v4_load (spec + 2 * i + 8), d = mm_v4_load (spec + 2 * i + 12);
    MmV4 sa = a * a, sb = b * b, sc = c * c, sd = d * d;
    MmV4 p0 = __builtin_shufflevector (sa, sb, 0, 2, 4, 6)
        + __builtin_shufflevector (sa, sb, 1, 3, 5, 7);
    MmV4 p1 = __builtin_shufflevector (sc, sd, 0, 2, 4, 6)
        + __builtin_shufflevector (sc, sd, 1, 3, 5, 7);
    mm_v4_store (power + i, p0);
    mm_v4_store (power + i + 4, p1);
    acc0 += p0;
    acc1 += p1;
  }
  for (; i < nb; i++) {
    power[i] = spec[2 * i] * spec[2 * i] + spec[2 * i + 1] * spec[2 * i + 1];
    tail += power[i];
  }
  acc0 += acc1;
  return ((acc0[0] + acc0[2]) + (acc0[1] + acc0[3])) + tail;
}

/* ln x for four floats: x = 2^e·m with m in [√½, √2), ln m from Cephes'
 * logf polynomial in m − 1 (max error ~1 ulp of the result, < 2e-7
 * relative against logf here). A vector with a lane outside the normal
 * range (0, subnormal, inf) goes to logf, so every input is handled. */
static inline MmV4
log4 (MmV4 x)
{
  const MmV4u vmin = { 0x00800000u, 0x00800000u, 0x00800000u, 0x00800000u };
  const MmV4u vmax = { 0x7f800000u, 0x7f800000u, 0x7f800000u, 0x7f800000u };
  const MmV4u mant = { 0x007fffffu, 0x007fffffu, 0x007fffffu, 0x007fffffu };
  const MmV4u half = { 0x3f000000u, 0x3f000000u, 0x3f000000u, 0x3f000000u };
  const MmV4 one = { 1, 1, 1, 1 };
  MmV4u u, big;
  MmV4 mf, e, z, z4, y;

  memcpy (&u, &x, sizeof u);
  /* as unsigned ints, normal positive floats are the range [min, inf) */
  if ((((u < vmin) | (u >= vmax))[0] | ((u < vmin) | (u >= vmax))[1]
          | ((u < vmin) | (u >= vmax))[2] | ((u < vmin) | (u >= vmax))[3]) != 0)
    return (MmV4) { logf (x[0]), logf (x[1]), logf (x[2]), logf (x[3]) };

  /* m in [0.5, 1), e the matching exponent */
  e = __builtin_convertvector ((MmV4i) (u >> 23) - 126, MmV4);
  u = (u & mant) | half;
  memcpy (&mf, &u, sizeof mf);
  /* below √½: use 2m − 1 and e − 1 */
  big = (MmV4u) (mf >= 0.707106781186547524f);
  e -= (MmV4) ((MmV4u) one & ~big);
  mf = mf - one + (MmV4) ((MmV4u) mf & ~big);

  /* the degree-8 polynomial by Estrin's scheme: a shorter dependency
   * chain than Horner's */
  z = mf * mf;
  z4 = z * z;
  y = ((3.3333331174e-1f - 2.4999993993e-1f * mf)
        + (2.0000714765e-1f - 1.6668057665e-1f * mf) * z)
      + ((1.4249322787e-1f - 1.2420140846e-1f * mf)
        + (1.1676998740e-1f - 1.1514610310e-1f * mf) * z) * z4
      + 7.0376836292e-2f * (z4 * z4);
  y = y * mf * z;
  y += -2.12194440e-4f * e;
  y += -0.5f * z;
  return mf + y + 0.693359375f * e;
}

/* One frame from fft_in to @out[n_coeffs]. */
static void
frame_mfcc (MmMfcc *m, float *restrict out)
{
  const MmMfccParams *p = &m->p;
  const int nb = m->n_bins, nf = p->n_filters, nc = p->n_coeffs;
  const float inv_n = 1.0f / p->nfft;
  const float *restrict spec = (const float *) m->fft_out;
  float *restrict power = m->power, *restrict log_fb = m->log_fb;
  const float *restrict dct = m->dct;
  const MmV4 veps = { DBL_EPSILON, DBL_EPSILON, DBL_EPSILON, DBL_EPSILON };
  float energy;

  fftwf_execute (m->plan);
  energy = power_spectrum (spec, power, nb) * inv_n;
  /* four filters at a time; log_fb has nf rounded up to 4 entries, the
   * padding (ln DBL_EPSILON) is never read by the DCT below */
  for (int j = 0; j < nf; j += 4) {
    MmV4 e = hsum4 (filter_sum (m, power, j), filter_sum (m, power, j + 1),
        filter_sum (m, power, j + 2), filter_sum (m, power, j + 3));
    MmV4u above = (MmV4u) (e > veps);
    mm_v4_store (log_fb + j, (MmV4) (((MmV4u) e & above) | ((MmV4u) veps & ~above)));
  }
  /* a loop of its own, so that the logs overlap one another */
  for (int j = 0; j < nf; j += 4)
    mm_v4_store (log_fb + j, log4 (mm_v4_load (log_fb + j)));
  /* sixteen coefficients at a time, each in its own lane: four
   * independent sums in registers, so the additions do not wait on each
   * other (the 0-padded coefficients past n_coeffs cost nothing more) */
  for (int k0 = 0; k0 < m->nc16; k0 += 16) {
    MmV4 a0 = { 0 }, a1 = { 0 }, a2 = { 0 }, a3 = { 0 };
    for (int j = 0; j < nf; j++) {
      const float *row = dct + j * m->nc16 + k0;
      MmV4 l = { log_fb[j], log_fb[j], log_fb[j], log_fb[j] };
      a0 += mm_v4_load (row) * l;
      a1 += mm_v4_load (row + 4) * l;
      a2 += mm_v4_load (row + 8) * l;
      a3 += mm_v4_load (row + 12) * l;
    }
    mm_v4_store (m->cep + k0, a0);
    mm_v4_store (m->cep + k0 + 4, a1);
    mm_v4_store (m->cep + k0 + 8, a2);
    mm_v4_store (m->cep + k0 + 12, a3);
  }
  memcpy (out, m->cep, sizeof (float) * nc);
  if (p->append_energy)
    out[0] = logf (energy > (float) DBL_EPSILON ? energy : (float) DBL_EPSILON);
}

/* Index of the first sample that is NaN, infinite or beyond
 * ±MM_MFCC_MAX_SAMPLE, or n. As unsigned integers the bits of |x| order as
 * the values do, with infinity and NaN above every finite value: one compare
 * per sample, four samples at a time over the whole signal; the position is
 * looked up only when there is one. */
static size_t
first_invalid (const float *x, size_t n)
{
  const float max = MM_MFCC_MAX_SAMPLE;
  guint32 lim;
  size_t i = 0;
  gboolean any;

  memcpy (&lim, &max, 4);
  {
    const MmV4u abs = { 0x7fffffffu, 0x7fffffffu, 0x7fffffffu, 0x7fffffffu };
    const MmV4u vlim = { lim, lim, lim, lim };
    MmV4u bad = { 0, 0, 0, 0 }, bad1 = { 0, 0, 0, 0 };

    for (; i + 8 <= n; i += 8) {
      MmV4u u, u1;
      memcpy (&u, x + i, sizeof u);
      memcpy (&u1, x + i + 4, sizeof u1);
      bad |= (MmV4u) ((u & abs) > vlim);
      bad1 |= (MmV4u) ((u1 & abs) > vlim);
    }
    bad |= bad1;
    any = (bad[0] | bad[1] | bad[2] | bad[3]) != 0;
  }
  for (; i < n; i++)
    any |= !(fabsf (x[i]) <= max);
  if (!any)
    return n;
  for (i = 0; i < n; i++)
    if (!(fabsf (x[i]) <= max))
      return i;
  return n;
}

/* A frame of pure padding (all-zero input) gives exactly m->silence; it
 * carries no voice, so it neither enters the statistics nor keeps a value
 * (0 = the utterance's mean afterwards). Sums in double: 39 frames or
 * minutes of them, the order is fixed and the result reproducible. */
static gboolean
is_silence (const MmMfcc *m, const float *row)
{
  return memcmp (row, m->silence, sizeof (float) * m->p.n_coeffs) == 0;
}

static void
cmvn_apply (MmMfcc *m, float *out, size_t frames)
{
  const int nc = m->p.n_coeffs;
  double *sum = g_newa (double, nc), *sq = g_newa (double, nc);
  size_t count = 0;

  memset (sum, 0, sizeof (double) * nc);
  memset (sq, 0, sizeof (double) * nc);
  for (size_t f = 0; f < frames; f++) {
    const float *o = out + f * (size_t) nc;
    if (is_silence (m, o))
      continue;
    count++;
    for (int k = 0; k < nc; k++)
      sum[k] += o[k];
  }
  for (int k = 0; k < nc; k++)
    sum[k] = count ? sum[k] / count : 0.0;
  for (size_t f = 0; f < frames; f++) {
    const float *o = out + f * (size_t) nc;
    if (is_silence (m, o))
      continue;
    for (int k = 0; k < nc; k++)
      sq[k] += (o[k] - sum[k]) * (o[k] - sum[k]);
  }
  for (int k = 0; k < nc; k++) {
    /* one frame, or a coefficient that never moves: no scale to learn
     * from, so only the mean is removed (1e-3 is far below any real
     * spread of a cepstral coefficient) */
    double sd = count > 1 ? sqrt (sq[k] / count) : 0.0;
    sq[k] = m->p.cmvn == MM_CMVN_MEAN_VAR && sd > 1e-3 ? 1.0 / sd : 1.0;
  }
  for (size_t f = 0; f < frames; f++) {
    float *o = out + f * (size_t) nc;
    gboolean silent = is_silence (m, o);
    for (int k = 0; k < nc; k++)
      o[k] = silent ? 0.0f : (float) ((o[k] - sum[k]) * sq[k]);
  }
}

gboolean
mm_mfcc_compute (MmMfcc *m, const float *samples, size_t n,
                 float *out, GError **error)
{
  size_t frames, bad;
  const int nc = m->p.n_coeffs;

  if (n == 0 || !samples) {
    g_set_error (error, MM_ERROR, MM_ERROR_INVALID, "MFCC: no samples");
    return FALSE;
  }
  bad = first_invalid (samples, n);
  if (bad < n && !isfinite (samples[bad])) {
    g_set_error (error, MM_ERROR, MM_ERROR_INVALID,
        "MFCC: sample %zu is not finite", bad);
    return FALSE;
  }
  if (bad < n) {
    g_set_error (error, MM_ERROR, MM_ERROR_INVALID,
        "MFCC: sample %zu (%g) is beyond ±%g, %d dB above full scale: not audio "
        "in [-1, 1]", bad, samples[bad], MM_MFCC_MAX_SAMPLE,
        (int) lround (20 * log10 (MM_MFCC_MAX_SAMPLE)));
    return FALSE;
  }
  frames = n_frames_sz (&m->p, n);
  if (frames > G_MAXINT) {
    g_set_error (error, MM_ERROR, MM_ERROR_INVALID,
        "MFCC: %zu samples give too many frames", n);
    return FALSE;
  }
  for (size_t f = 0; f < frames; f++) {
    float *o = out + f * (size_t) nc;
    /* silent frames (the padding of a centred utterance) skip the FFT: the
     * result is the one computed for zeros in mm_mfcc_new() */
    if (fill_frame (m, samples, n, f * (size_t) m->p.frame_step))
      frame_mfcc (m, o);
    else
      memcpy (o, m->silence, sizeof (float) * nc);
  }
  if (m->p.cmvn != MM_CMVN_NONE)
    cmvn_apply (m, out, frames);
  return TRUE;
}

void
mm_dc_block_init (MmDcBlock *d, int sample_rate)
{
  d->r = 1.0f - (float) (2.0 * G_PI * 20.0 / MAX (sample_rate, 1000));
  d->x1 = d->y1 = 0.0f;
  d->started = FALSE;
}

void
mm_dc_block_run (MmDcBlock *d, const float *in, float *out, size_t n)
{
  float x1 = d->x1, y1 = d->y1;
  const float r = d->r;

  if (n == 0)
    return;
  if (!d->started) {
    x1 = in[0];
    y1 = 0.0f;
    d->started = TRUE;
  }
  for (size_t i = 0; i < n; i++) {
    float x = in[i];
    float y = x - x1 + r * y1;
    x1 = x;
    /* after a loud passage the output decays towards 0 through the
     * subnormals, which are slow on x86: stop it there */
    if (fabsf (y) < 1e-30f)
      y = 0.0f;
    out[i] = y1 = y;
  }
  d->x1 = x1;
  d->y1 = y1;
}

void
mm_audio_fit_center (const float *in, size_t n_in, float *out, size_t n_out)
{
  if (n_in <= n_out) {
    size_t left = (n_out - n_in) / 2;
    memset (out, 0, sizeof (float) * left);
    if (n_in > 0)
      memcpy (out + left, in, sizeof (float) * n_in);
    memset (out + left + n_in, 0, sizeof (float) * (n_out - left - n_in));
  } else {
    memcpy (out, in + (n_in - n_out) / 2, sizeof (float) * n_out);
  }
}
