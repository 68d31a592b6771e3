/* MFCC front end speed: one-second 16 kHz utterances per second on one core
 * (39 frames × 13 coefficients each), for nfft 1024 and 512.
 *
 *   build-x/bench/bench_mfcc [seconds-per-case]
 */
#include <math.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>

#include "mm-mfcc.h"
#include "mm-rng.h"

#define N_SAMPLES 16000

static double
cpu_seconds (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
run_case (int nfft, const float *x, double seconds)
{
  MmMfccParams p;
  MmMfcc *m;
  GError *err = NULL;
  float out[39 * 13];
  double checksum = 0, t0, c0, elapsed, cpu;
  long count = 0;

  mm_mfcc_params_init (&p);
  p.nfft = nfft;
  m = mm_mfcc_new (&p, &err);
  if (!m) {
    fprintf (stderr, "bench_mfcc: %s\n", err->message);
    g_error_free (err);
    return 1;
  }
  /* warm-up: caches, FFTW twiddles */
  for (int i = 0; i < 200; i++)
    mm_mfcc_compute (m, x, N_SAMPLES, out, NULL);

  t0 = g_get_monotonic_time () / 1e6;
  c0 = cpu_seconds ();
  do {
    for (int i = 0; i < 500; i++) {
      mm_mfcc_compute (m, x, N_SAMPLES, out, NULL);
      checksum += out[i % (39 * 13)];
    }
    count += 500;
    elapsed = g_get_monotonic_time () / 1e6 - t0;
  } while (elapsed < seconds);

  cpu = cpu_seconds () - c0;
  /* per CPU-second too: on a shared machine the wall clock counts others' work */
  printf ("mfcc nfft %4d: %8.0f utterances/s (1 s, 16 kHz, 39x13), %.1f us each;"
      " %8.0f per CPU-second  [checksum %.3g]\n", nfft, count / elapsed,
      1e6 * elapsed / count, count / cpu, checksum);
  mm_mfcc_free (m);
  return 0;
}

int
main (int argc, char **argv)
{
  double seconds = argc > 1 ? atof (argv[1]) : 2.0;
  float *x = g_new (float, N_SAMPLES);
  MmRng rng;
  int rc;

  /* a voiced-like signal: two harmonics plus noise, about -12 dBFS */
  mm_rng_seed (&rng, 1, 0);
  for (int i = 0; i < N_SAMPLES; i++)
    x[i] = 0.15f * sinf (2 * G_PI * 220 * i / 16000.0f)
        + 0.08f * sinf (2 * G_PI * 1330 * i / 16000.0f)
        + 0.02f * (mm_rng_uniform (&rng) - 0.5f);

  rc = run_case (1024, x, seconds) || run_case (512, x, seconds);
  g_free (x);
  return rc;
}
