/* simd_digest — one line per network: SHA-1 of its parameters after five
 * seeded training steps and of its batch-1 evaluation logits.
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

#include "mm-config.h"
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
    mm_net_backward (net, labels);
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
  return 0;
}
