/* Training throughput and batch-1 latency of the five networks.
 *
 *   build/bench/bench_train [--threads N] [--seconds S] [--json]
 *
 * Training: forward + backward + Adam on random inputs at the study's batch
 * size for each network, reported as samples/s (median of 5 timed blocks
 * after a warm-up). Latency: one sample in evaluation mode, median and 90th
 * percentile of the fastest of 5 blocks of calls, beside a floor: the sample's multiply-adds
 * on every thread at one core's measured sgemm rate. bench/run.sh runs this and the PyTorch
 * reference (bench_pytorch.py) in one go and prints the ratios.
 *
 * Then training throughput with augmentation (--augment LIST, default
 * "audio,image": every audio kind on synthetic one-second clips, so a new
 * MFCC per sample, and every image kind but polarity) against without, per
 * network, and their ratio (the target is ≥ 0.70).
 */
#include <cblas.h>
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "mm-adam.h"
#include "mm-augment.h"
#include "mm-net.h"
#include "mm-rng.h"
#include "mm-threads.h"
#include "mm-train.h"

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static void
fill (float *x, size_t n, guint64 seed)
{
  MmRng r;
  mm_rng_seed (&r, seed, 1);
  for (size_t i = 0; i < n; i++)
    x[i] = 2.0f * mm_rng_uniform (&r) - 1.0f;
}

/* CPU seconds (user + system) of the whole process: on a shared machine
 * samples per CPU second still say how much work a step costs when wall
 * time mostly measures the other processes. */
static double
cpu_seconds (void)
{
  struct rusage u;
  getrusage (RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec
      + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

/* Steps per block so that one block takes about @block_s seconds. Returns
 * samples per wall second; *@per_cpu_s receives samples per CPU second. */
/* A training set for the augmenter: 64 synthetic clips (a tone glide in
 * noise, some quiet, as recordings are) and random images. */
static MmDataset *
synthetic_set (int n)
{
  MmDataset *ds = mm_dataset_new (n, TRUE, TRUE);
  MmRng r;

  mm_rng_seed (&r, 11, 1);
  ds->waves = mm_wave_bank_new (64, 16000, 16000);
  ds->wave = g_new (int, n);
  for (int c = 0; c < 64; c++) {
    float *x = ds->waves->samples + (size_t) c * 16000, amp = c % 3 ? 0.3f : 0.01f;
    for (int i = 4000; i < 12000; i++)
      x[i] = amp * (sinf (i * (0.05f + c * 0.001f) + i * i * 1e-6f)
          + 0.1f * (2 * mm_rng_uniform (&r) - 1));
  }
  for (int i = 0; i < n; i++) {
    ds->wave[i] = i % 64;
    ds->labels[i] = i % MM_N_CLASSES;
  }
  fill (ds->image, (size_t) n * MM_IMAGE_PIXELS, 12);
  return ds;
}

/* With @aug (may be NULL), every step first augments its batch of the
 * synthetic set @ds, as mm_train does. */
static double
train_rate (MmArch arch, int batch, double block_s, const MmAugment *aug, const MmDataset *ds,
    double *per_cpu_s)
{
  MmNet *net = mm_net_new (arch, 1);
  MmAugmenter *g = aug ? mm_augmenter_new (aug, arch, NULL, mm_net_norm (net), ds, NULL) : NULL;
  int *idx = g_new (int, batch);
  MmAdam *adam = mm_adam_new (mm_net_n_params (net), 1e-3f, 1e-5f);
  float *img = g_new (float, (size_t) batch * MM_IMAGE_PIXELS);
  float *aud = g_new (float, (size_t) batch * MM_AUDIO_VALUES);
  float *logits = g_new (float, (size_t) batch * MM_N_CLASSES);
  int *labels = g_new (int, batch), steps = 1;
  double rates[5], cpu_rates[5];

  fill (img, (size_t) batch * MM_IMAGE_PIXELS, 2);
  fill (aud, (size_t) batch * MM_AUDIO_VALUES, 3);
  for (int i = 0; i < batch; i++)
    labels[i] = i % MM_N_CLASSES;
  mm_net_set_training (net, TRUE);
  for (int block = -1; block < 5; block++) {
    gint64 t0 = g_get_monotonic_time ();
    double s, c0 = cpu_seconds ();
    for (int k = 0; k < steps; k++) {
      if (g) {
        for (int i = 0; i < batch; i++)
          idx[i] = (k * batch + i) % ds->n;
        mm_augmenter_apply (g, idx, batch, 1, block + 2, img, aud, NULL);
      }
      mm_net_forward (net, batch, img, aud, logits);
      mm_net_backward (net, labels, NULL);
      mm_adam_step (adam, mm_net_params (net), mm_net_grads (net));
    }
    s = (g_get_monotonic_time () - t0) / 1e6;
    if (block < 0) {           /* warm-up, and calibrate the block length */
      steps = MAX (1, (int) (block_s / (s / steps)));
      continue;
    }
    rates[block] = steps * batch / s;
    cpu_rates[block] = steps * batch / MAX (cpu_seconds () - c0, 1e-6);
  }
  qsort (rates, 5, sizeof (double), cmp_double);
  qsort (cpu_rates, 5, sizeof (double), cmp_double);
  *per_cpu_s = cpu_rates[2];
  mm_augmenter_free (g);
  g_free (idx);
  mm_adam_free (adam);
  mm_net_free (net);
  g_free (img);
  g_free (aud);
  g_free (logits);
  g_free (labels);
  return rates[2];
}

/* Multiply-adds of one sample's evaluation forward: the matrix products
 * only (convolutions as GEMMs, LSTM gates, linear layers); element-wise
 * work is left out, so the floor below is an under-estimate. */
static double
inference_macs (MmArch arch)
{
  const double image_cnn = 28.0 * 28 * 32 * 9 + 14.0 * 14 * 64 * 32 * 9 + 3136.0 * 128;
  const double audio_cnn = 13.0 * 39 * 32 * 9 + 6.0 * 19 * 64 * 32 * 9 + 1728.0 * 128;
  /* 39 steps of two layers, four gates of 64 over [input, h] */
  const double lstm = 39.0 * (4 * 64 * (13 + 64) + 4 * 64 * (64 + 64));
  const double fusion = 256.0 * 128 + 128 * 10;

  switch (arch) {
    case MM_ARCH_IMAGENET_CNN: return image_cnn + 128 * 10;
    case MM_ARCH_AUDIONET_CNN: return audio_cnn + 128 * 10;
    case MM_ARCH_AUDIONET_LSTM: return lstm + 64 * 64 + 64 * 10;
    case MM_ARCH_HYBRIDNET_CNN: return image_cnn + audio_cnn + fusion;
    case MM_ARCH_HYBRIDNET_CNN_LSTM: return image_cnn + lstm + 64 * 128 + fusion;
    default: return 0;
  }
}

/* One core's sgemm rate on a large square product (GFLOP/s, best of 5):
 * the ceiling that the latency floor is computed from. */
static double
sgemm_peak_gflops (void)
{
  const int n = 512;
  float *a = g_new (float, n * n), *b = g_new (float, n * n), *c = g_new (float, n * n);
  int saved = openblas_get_num_threads ();
  double best = 0;

  fill (a, (size_t) n * n, 7);
  fill (b, (size_t) n * n, 8);
  openblas_set_num_threads (1);
  for (int r = 0; r < 6; r++) {
    gint64 t0 = g_get_monotonic_time ();
    for (int k = 0; k < 8; k++)
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n,
          0.0f, c, n);
    double gf = 8 * 2.0 * n * n * n / ((g_get_monotonic_time () - t0) * 1e3);
    if (r > 0 && gf > best)    /* the first round warms up */
      best = gf;
  }
  openblas_set_num_threads (saved);
  g_free (a);
  g_free (b);
  g_free (c);
  return best;
}

/* Median and p90 of the block (of 5, each @total_s / 5 long) with the
 * lowest median: a shared machine slows whole stretches of calls, and both
 * implementations are measured this way (bench_pytorch.py). */
static void
latency (MmArch arch, double total_s, double *median_ms, double *p90_ms)
{
  MmNet *net = mm_net_new (arch, 1);
  float img[MM_IMAGE_PIXELS], aud[MM_AUDIO_VALUES], logits[MM_N_CLASSES];
  GArray *t = g_array_new (FALSE, FALSE, sizeof (double));

  fill (img, MM_IMAGE_PIXELS, 4);
  fill (aud, MM_AUDIO_VALUES, 5);
  mm_net_set_training (net, FALSE);
  for (int i = 0; i < 20; i++)
    mm_net_forward (net, 1, img, aud, logits);
  *median_ms = *p90_ms = G_MAXDOUBLE;
  for (int block = 0; block < 5; block++) {
    gint64 end = g_get_monotonic_time () + (gint64) (total_s / 5 * 1e6);
    g_array_set_size (t, 0);
    while (g_get_monotonic_time () < end || t->len < 20) {
      gint64 t0 = g_get_monotonic_time ();
      double ms;
      mm_net_forward (net, 1, img, aud, logits);
      ms = (g_get_monotonic_time () - t0) / 1e3;
      g_array_append_val (t, ms);
    }
    qsort (t->data, t->len, sizeof (double), cmp_double);
    if (g_array_index (t, double, t->len / 2) < *median_ms) {
      *median_ms = g_array_index (t, double, t->len / 2);
      *p90_ms = g_array_index (t, double, t->len * 9 / 10);
    }
  }
  g_array_free (t, TRUE);
  mm_net_free (net);
}

int
main (int argc, char **argv)
{
  int threads = 0;
  double seconds = 1.0;
  gboolean json = FALSE;
  double peak, floor_ms;
  char *augment = NULL;
  MmAugment aug;
  MmDataset *ds;
  GOptionEntry entries[] = {
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "Threads (mm_set_threads; default: MMDIGITS_THREADS or all cores)", "N" },
    { "seconds", 's', 0, G_OPTION_ARG_DOUBLE, &seconds, "Seconds per timed block (default 1)", "S" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "One JSON object per network", NULL },
    { "augment", 0, 0, G_OPTION_ARG_STRING, &augment, "Augmentation for the with/without "
      "comparison (mmdigits train --augment syntax; default audio,image; none: skip it)", "LIST" },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new ("- training and latency benchmark");
  GError *error = NULL;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    fprintf (stderr, "bench_train: %s\n", error->message);
    return 2;
  }
  g_option_context_free (ctx);
  mm_augment_init (&aug);
  if (!mm_augment_parse (&aug, augment ? augment : "audio,image", &error)) {
    fprintf (stderr, "bench_train: %s\n", error->message);
    return 2;
  }
  /* our pool does the splitting; with one thread OpenBLAS gets one too,
   * so that --threads 1 is a true single-thread figure */
  mm_set_threads (threads);
  if (mm_get_threads () == 1)
    openblas_set_num_threads (1);
  peak = sgemm_peak_gflops ();
  if (json)
    printf ("{\"impl\":\"mmdigits\",\"sgemm_gflops_per_core\":%.1f}\n", peak);
  else
    printf ("sgemm, one core, 512x512x512: %.1f GFLOP/s\n"
        "%-20s %6s %16s %12s %14s %12s %10s\n", peak, "network", "batch",
        "train samples/s", "per CPU-s", "latency ms", "p90 ms", "floor ms");
  for (int a = 0; a < MM_N_ARCH; a++) {
    MmTrainConfig cfg;
    double rate, cpu_rate, med, p90;

    mm_train_config_init (&cfg, (MmArch) a);
    rate = train_rate ((MmArch) a, cfg.batch, seconds, NULL, NULL, &cpu_rate);
    latency ((MmArch) a, seconds, &med, &p90);
    /* every core at the measured sgemm rate on the products alone */
    floor_ms = 2 * inference_macs ((MmArch) a) / (mm_get_threads () * peak * 1e6);
    if (json)
      printf ("{\"impl\":\"mmdigits\",\"arch\":\"%s\",\"batch\":%d,\"train_samples_per_s\":%.1f,"
          "\"train_samples_per_cpu_s\":%.1f,\"latency_ms\":%.4f,\"latency_p90_ms\":%.4f,"
          "\"latency_floor_ms\":%.4f,\"inference_macs\":%.0f,\"threads\":%d}\n",
          mm_arch_name (a), cfg.batch, rate, cpu_rate, med, p90, floor_ms,
          inference_macs ((MmArch) a), mm_get_threads ());
    else
      printf ("%-20s %6d %16.0f %12.0f %14.3f %12.3f %10.3f\n", mm_arch_name (a), cfg.batch,
          rate, cpu_rate, med, p90, floor_ms);
    fflush (stdout);
  }
  if (!aug.enabled)
    return 0;
  ds = synthetic_set (4096);
  if (!json)
    printf ("\naugmentation %s: training samples/s without and with it (wall; per CPU-second)\n"
        "%-20s %10s %10s %7s %12s %12s %7s\n", augment ? augment : "audio,image", "network",
        "off", "on", "ratio", "off/CPU-s", "on/CPU-s", "ratio");
  for (int a = 0; a < MM_N_ARCH; a++) {
    MmTrainConfig cfg;
    double off, on, cpu_off, cpu_on;

    mm_train_config_init (&cfg, (MmArch) a);
    off = train_rate ((MmArch) a, cfg.batch, seconds, NULL, NULL, &cpu_off);
    on = train_rate ((MmArch) a, cfg.batch, seconds, &aug, ds, &cpu_on);
    if (json)
      printf ("{\"impl\":\"mmdigits\",\"arch\":\"%s\",\"augment\":\"%s\","
          "\"train_samples_per_s_off\":%.1f,\"train_samples_per_s_on\":%.1f,\"ratio\":%.3f,"
          "\"train_samples_per_cpu_s_off\":%.1f,\"train_samples_per_cpu_s_on\":%.1f,"
          "\"cpu_ratio\":%.3f}\n", mm_arch_name (a), augment ? augment : "audio,image", off, on,
          on / off, cpu_off, cpu_on, cpu_on / cpu_off);
    else
      printf ("%-20s %10.0f %10.0f %7.2f %12.0f %12.0f %7.2f\n", mm_arch_name (a), off, on,
          on / off, cpu_off, cpu_on, cpu_on / cpu_off);
    fflush (stdout);
  }
  mm_dataset_free (ds);
  g_free (augment);
  return 0;
}
