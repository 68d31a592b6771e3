/* simd_digest — one line per network: SHA-1 of its parameters after five
 * seeded training steps and of its batch-1 evaluation logits; and one line
 * for the digit finder (mm-digit.h), whose local background is vectorised:
 * SHA-1 of its crops and boxes on seeded frames.
 *
 * Not a test by itself: scripts/test.sh runs it from the plain build (whose
 * element-wise kernels take this CPU's AVX-512 or AVX2 variant) and from
 * the sanitizer build (-Dsimd_clones=false: the x86-64 baseline only) and
 * requires the same lines, which is what mm-simd.h promises: every variant
 * computes the same floats. The first line names the variant the plain
 * build picks here. */
#include <cblas.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "mm-config.h"
#include "mm-digit.h"
#include "mm-threads.h"
#include "mm-net.h"
#include "mm-adam.h"
#include "mm-train.h"

#define BATCH 8

static void
variant_line (void)
{
#if MM_SIMD_CLONES && defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init ();
  printf ("# vector kernels: %s\n", __builtin_cpu_supports ("avx512f") ? "avx512f"
      : __builtin_cpu_supports ("avx2") ? "avx2" : "baseline");
#else
  printf ("# vector kernels: baseline\n");
#endif
}

static void
digest (MmArch arch, const float *img, const float *aud, const int *labels)
{
  MmNet *net = mm_net_new (arch, 7);
  MmAdam *adam = mm_adam_new (mm_net_n_params (net), 1e-3f, 1e-5f);
  float logits[BATCH * MM_N_CLASSES];
  gchar *p, *l;

  mm_net_set_training (net, TRUE);
  for (int s = 0; s < 5; s++) {
    mm_net_forward (net, BATCH, img, aud, logits);
    mm_net_backward (net, labels, NULL);
    mm_adam_step (adam, mm_net_params (net), mm_net_grads (net));
  }
  mm_net_set_training (net, FALSE);
  mm_net_forward (net, 1, img, aud, logits);
  p = g_compute_checksum_for_data (G_CHECKSUM_SHA1, (const guchar *) mm_net_params (net),
      mm_net_n_params (net) * sizeof (float));
  l = g_compute_checksum_for_data (G_CHECKSUM_SHA1, (const guchar *) logits,
      MM_N_CLASSES * sizeof (float));
  printf ("%-20s params %s logits %s\n", mm_arch_name (arch), p, l);
  g_free (p);
  g_free (l);
  mm_adam_free (adam);
  mm_net_free (net);
}

/* Frames of odd sizes (the vector loops' tails too): paper lit unevenly
 * with texture and a ring of ink, dark or light, found with every
 * polarity, adaptive and not. */
static void
digit_digest (void)
{
  static const int sizes[][2] = { { 320, 240 }, { 333, 241 }, { 97, 61 }, { 640, 480 } };
  GChecksum *sum = g_checksum_new (G_CHECKSUM_SHA1);
  MmDigitFinder *f = mm_digit_finder_new ();
  guint32 state = 12345;

  for (int i = 0; i < 48; i++) {
    int w = sizes[i % 4][0], h = sizes[i % 4][1], cx = w / 3 + i * 7 % (w / 3);
    int cy = h / 2, ra = h / 4, ink = i % 2 ? 90 : -80;
    guint8 *px = g_malloc ((size_t) w * h), out[784];
    MmDigitParams p;
    MmRect r = { 0, 0, 0, 0 };
    gboolean found;

    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++) {
        int d2 = (x - cx) * (x - cx) + (y - cy) * (y - cy), v;

        state = state * 1664525u + 1013904223u;
        v = 60 + 120 * x / w + (int) (state >> 28);
        if (d2 < ra * ra && d2 > (ra - 6) * (ra - 6))
          v += ink;
        px[(size_t) y * w + x] = (guint8) CLAMP (v, 0, 255);
      }
    mm_digit_params_init (&p);
    p.adaptive = i % 4 != 3;
    p.polarity = (MmPolarity) (i / 4 % 3);
    memset (out, 0, sizeof out);
    found = mm_digit_find (f, &p, px, w, h, w, out, &r);
    g_checksum_update (sum, (const guchar *) &found, sizeof found);
    g_checksum_update (sum, (const guchar *) &r, sizeof r);
    g_checksum_update (sum, out, sizeof out);
    g_free (px);
  }
  printf ("%-20s crops %s\n", "digit finder", g_checksum_get_string (sum));
  g_checksum_free (sum);
  mm_digit_finder_free (f);
}

int
main (void)
{
  static float img[BATCH * MM_IMAGE_PIXELS], aud[BATCH * MM_AUDIO_VALUES];
  int labels[BATCH];

  for (int i = 0; i < BATCH * MM_IMAGE_PIXELS; i++)
    img[i] = (float) ((i * 37) % 101) * 0.02f - 1.0f;
  for (int i = 0; i < BATCH * MM_AUDIO_VALUES; i++)
    aud[i] = (float) ((i * 13) % 71) * 0.03f - 1.0f;
  for (int i = 0; i < BATCH; i++)
    labels[i] = i % MM_N_CLASSES;
  variant_line ();
  for (int a = 0; a < MM_N_ARCH; a++)
    digest ((MmArch) a, img, aud, labels);
  digit_digest ();
  return 0;
}
