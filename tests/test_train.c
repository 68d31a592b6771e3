/* Optimiser, schedule, metrics and the training loop. */
#include <math.h>
#include <string.h>

#include "mm-activation.h"
#include "mm-adam.h"
#include "mm-error.h"
#include "mm-metrics.h"
#include "mm-modelfile.h"
#include "mm-recipe.h"
#include "mm-rng.h"
#include "mm-test-util.h"
#include "mm-threads.h"
#include "mm-train.h"

/* One Adam step by hand: t = 1, m = 0.1·g', v = 0.001·g'², so the update is
 * lr·g'/(|g'| + eps·…) ≈ lr·sign(g'), with g' = g + wd·p. */
START_TEST (test_adam_first_step_moves_by_lr_times_sign)
{
  float p[3] = { 1.0f, -2.0f, 0.5f }, g[3] = { 0.3f, -0.01f, 0.0f };
  MmAdam *a = mm_adam_new (3, 0.01f, 0.1f);

  mm_adam_step (a, p, g);
  ck_assert_float_eq_tol (p[0], 1.0f - 0.01f, 1e-6);
  ck_assert_float_eq_tol (p[1], -2.0f + 0.01f, 1e-6);   /* g' = -0.01 - 0.2 */
  ck_assert_float_eq_tol (p[2], 0.5f - 0.01f, 1e-6);    /* g' = 0.05 from decay alone */
  mm_adam_free (a);
}
END_TEST

/* Two steps against the closed form of PyTorch's update. */
START_TEST (test_adam_second_step_matches_closed_form)
{
  float p[1] = { 0.0f }, g1[1] = { 1.0f }, g2[1] = { -0.5f };
  MmAdam *a = mm_adam_new (1, 0.1f, 0.0f);
  double m, v, expect;

  mm_adam_step (a, p, g1);
  expect = -0.1 * 1.0 / (1.0 + 1e-8);
  ck_assert_double_eq_tol (p[0], expect, 1e-6);
  mm_adam_step (a, p, g2);
  m = 0.9 * 0.1 + 0.1 * -0.5;
  v = 0.999 * 0.001 + 0.001 * 0.25;
  expect += -0.1 / (1 - 0.81) * m / (sqrt (v) / sqrt (1 - 0.999 * 0.999) + 1e-8);
  ck_assert_double_eq_tol (p[0], expect, 1e-5);
  mm_adam_free (a);
}
END_TEST

START_TEST (test_plateau_reduces_after_patience_epochs_without_gain)
{
  MmPlateau pl;
  float lr = 1e-3f;
  float metrics[] = { 0.5f, 0.6f, 0.6f, 0.6f, 0.6f, 0.6f, 0.6f, 0.6f };
  int reduced_at = -1;

  mm_plateau_init (&pl, 0.1f, 5);
  for (int i = 0; i < 8; i++)
    if (mm_plateau_step (&pl, metrics[i], &lr) && reduced_at < 0)
      reduced_at = i;
  /* best at epoch 1; epochs 2..6 are 5 bad ones; the 6th bad (index 7) reduces */
  ck_assert_int_eq (reduced_at, 7);
  ck_assert_float_eq_tol (lr, 1e-4f, 1e-9);
}
END_TEST

START_TEST (test_confusion_accuracy_and_macro_f1)
{
  MmConfusion c;
  mm_confusion_init (&c);
  /* class 0: 3 right, 1 called 1; class 1: 2 right; class 2: 1, called 1 */
  for (int i = 0; i < 3; i++)
    mm_confusion_add (&c, 0, 0);
  mm_confusion_add (&c, 0, 1);
  mm_confusion_add (&c, 1, 1);
  mm_confusion_add (&c, 1, 1);
  mm_confusion_add (&c, 2, 1);
  ck_assert_double_eq_tol (mm_confusion_accuracy (&c), 5.0 / 7.0, 1e-12);
  /* F1: class 0 = 6/7, class 1 = 4/6, class 2 = 0 */
  ck_assert_double_eq_tol (mm_confusion_macro_f1 (&c), (6.0 / 7 + 4.0 / 6 + 0) / 3, 1e-12);
}
END_TEST

/* Synthetic digits: class k is a bright 7×7 square at one of ten places,
 * on noise. Separable, so a few epochs must get nearly all of them. */
static MmDataset *
synthetic_images (int n, guint64 seed)
{
  MmDataset *ds = mm_dataset_new (n, TRUE, TRUE);
  MmRng rng;
  mm_rng_seed (&rng, seed, 3);
  for (int i = 0; i < n; i++) {
    int k = i % MM_N_CLASSES, y0 = 3 + (k / 5) * 12, x0 = 1 + (k % 5) * 5;
    float *img = ds->image + (size_t) i * MM_IMAGE_PIXELS;
    float *aud = ds->audio + (size_t) i * MM_AUDIO_VALUES;
    ds->labels[i] = k;
    for (int p = 0; p < MM_IMAGE_PIXELS; p++)
      img[p] = 0.3f * mm_rng_uniform (&rng) - 1.0f;
    for (int y = y0; y < y0 + 7; y++)
      for (int x = x0; x < x0 + 7; x++)
        img[y * 28 + x] = 1.0f;
    /* audio: coefficient k + 1 raised from frame 11 on */
    for (int t = 0; t < MM_MFCC_FRAMES; t++)
      for (int c = 0; c < MM_MFCC_COEFFS; c++)
        aud[t * MM_MFCC_COEFFS + c] = 0.5f * (mm_rng_uniform (&rng) - 0.5f)
            + ((c == k + 1 && t > 10) ? 2.0f : 0.0f);
  }
  return ds;
}

static gboolean
record_loss (const MmTrainProgress *p, gpointer user_data)
{
  GArray *losses = user_data;
  if (p->end_of_epoch)
    g_array_append_val (losses, p->loss);
  return TRUE;
}

/* Loss falls and accuracy far above chance, for every arch, in seconds. */
/* ECE by hand: 4 predictions in two bins. Bin (0.6, 0.667]: confidences
 * 0.62 and 0.66, one right → |0.5 − 0.64| = 0.14; bin (0.933, 1]: 0.95 and
 * 0.97, both right → |1 − 0.96| = 0.04. ECE = ½·0.14 + ½·0.04 = 0.09. */
START_TEST (test_ece_by_hand)
{
  float probs[4][MM_N_CLASSES] = { { 0 } };
  int labels[4] = { 0, 1, 2, 3 };
  float top[4] = { 0.62f, 0.66f, 0.95f, 0.97f };
  int pred[4] = { 0, 5, 2, 3 };

  for (int i = 0; i < 4; i++) {
    for (int k = 0; k < MM_N_CLASSES; k++)
      probs[i][k] = (1 - top[i]) / 9;
    probs[i][pred[i]] = top[i];
  }
  ck_assert_double_eq_tol (mm_calibration_ece (&probs[0][0], labels, 4, 15), 0.09, 1e-6);
  ck_assert_double_eq (mm_calibration_ece (&probs[0][0], labels, 0, 15), 0.0);
}
END_TEST

/* Logits drawn so that a known temperature is right: class probabilities
 * softmax(z / 2.5) are the truth the labels are sampled from; the fit
 * recovers T ≈ 2.5 from 20,000 samples, and scaling by it lowers the ECE. */
START_TEST (test_temperature_fit_recovers_the_true_temperature)
{
  const int n = 20000;
  float *z = g_new (float, (size_t) n * MM_N_CLASSES), *p = g_new (float, (size_t) n * MM_N_CLASSES);
  int *labels = g_new (int, n);
  MmRng rng;
  float t;
  gboolean at_bound = TRUE;
  double ece_raw, ece_cal;

  mm_rng_seed (&rng, 7, 1);
  for (int i = 0; i < n; i++) {
    float *zi = z + (size_t) i * MM_N_CLASSES, q[MM_N_CLASSES], sum = 0, u, acc = 0;
    for (int k = 0; k < MM_N_CLASSES; k++)
      zi[k] = 8.0f * mm_rng_uniform (&rng);
    for (int k = 0; k < MM_N_CLASSES; k++)
      sum += q[k] = expf (zi[k] / 2.5f);
    u = mm_rng_uniform (&rng) * sum;
    labels[i] = MM_N_CLASSES - 1;
    for (int k = 0; k < MM_N_CLASSES; k++)
      if ((acc += q[k]) > u) {
        labels[i] = k;
        break;
      }
  }
  t = mm_fit_temperature (z, labels, n, &at_bound);
  ck_assert_msg (fabsf (t - 2.5f) < 0.15f, "fitted T %.3f, expected 2.5", t);
  ck_assert_msg (!at_bound, "a fit inside the range said it was at a bound");
  mm_softmax (n, MM_N_CLASSES, z, p);
  ece_raw = mm_calibration_ece (p, labels, n, 15);
  for (size_t i = 0; i < (size_t) n * MM_N_CLASSES; i++)
    z[i] /= t;
  mm_softmax (n, MM_N_CLASSES, z, p);
  ece_cal = mm_calibration_ece (p, labels, n, 15);
  ck_assert_msg (ece_cal < 0.02 && ece_cal < ece_raw / 3, "ECE %.4f → %.4f", ece_raw, ece_cal);
  g_free (z);
  g_free (p);
  g_free (labels);
}
END_TEST

/* @n rows of logits uniform in [0, 8) and labels drawn from
 * softmax(z / @t_true): a set whose true temperature is @t_true. */
static void
draw_logits (int n, float t_true, guint64 seed, float *z, int *labels)
{
  MmRng rng;

  mm_rng_seed (&rng, seed, 1);
  for (int i = 0; i < n; i++) {
    float *zi = z + (size_t) i * MM_N_CLASSES, q[MM_N_CLASSES], sum = 0, u, acc = 0;
    for (int k = 0; k < MM_N_CLASSES; k++)
      zi[k] = 8.0f * mm_rng_uniform (&rng);
    for (int k = 0; k < MM_N_CLASSES; k++)
      sum += q[k] = expf (zi[k] / t_true);
    u = mm_rng_uniform (&rng) * sum;
    labels[i] = MM_N_CLASSES - 1;
    for (int k = 0; k < MM_N_CLASSES; k++)
      if ((acc += q[k]) > u) {
        labels[i] = k;
        break;
      }
  }
}

/* Cross-validated calibration on constructed out-of-fold logits: three
 * "folds" drawn at true temperatures 1.5, 2.5 and 4 with 1,000, 2,000 and
 * 4,000 samples. The shipped T is the one fit on the three pooled (the
 * same float as mm_fit_temperature on their concatenation: each sample
 * weighs once, not each fold), each left-out T the fit on the other two
 * alone, each left-out ECE the fold's at that T, the pooled left-out ECE
 * that of every fold at its own left-out T together; the left-out fits
 * lean away from the fold left out (without the T = 4 fold, below the
 * pooled T). Fewer than two folds, or folds without an error, are refused. */
START_TEST (test_cross_calibrate_pools_and_leaves_one_out)
{
  const int n[3] = { 1000, 2000, 4000 }, total = 7000;
  const float t_true[3] = { 1.5f, 2.5f, 4.0f };
  float *z = g_new (float, (size_t) total * MM_N_CLASSES), *scaled;
  int *labels = g_new (int, total), at = 0;
  MmLogitSet sets[3];
  MmCrossCalibration cc;
  GError *error = NULL;
  gboolean at_bound;

  for (int f = 0; f < 3; f++) {
    draw_logits (n[f], t_true[f], 20 + f, z + (size_t) at * MM_N_CLASSES, labels + at);
    sets[f] = (MmLogitSet) { z + (size_t) at * MM_N_CLASSES, labels + at, n[f] };
    at += n[f];
  }
  ck_assert (mm_recipe_cross_calibrate (sets, 3, 1.5f, &cc, &error));
  ck_assert_int_eq (cc.n_sets, 3);
  ck_assert_double_eq_tol (cc.ece_model, mm_logits_ece (z, labels, total, 1.5f, NULL), 1e-12);
  ck_assert_float_eq (cc.t, mm_fit_temperature (z, labels, total, &at_bound));
  ck_assert_msg (cc.t > 2.5f && cc.t < 4.0f, "pooled T %.3f", cc.t);
  ck_assert_double_eq_tol (cc.ece, mm_logits_ece (z, labels, total, cc.t, NULL), 1e-12);
  /* fold 0 left out: the fit on folds 1 and 2, which lie next to each other */
  ck_assert_float_eq (cc.t_left_out[0], mm_fit_temperature (sets[1].logits, sets[1].labels,
          n[1] + n[2], &at_bound));
  ck_assert_msg (cc.t_left_out[2] < cc.t && cc.t_left_out[0] > cc.t, "left out: %.3f %.3f %.3f",
      cc.t_left_out[0], cc.t_left_out[1], cc.t_left_out[2]);
  scaled = g_new (float, (size_t) total * MM_N_CLASSES);
  at = 0;
  for (int f = 0; f < 3; f++) {
    ck_assert_double_eq_tol (cc.ece_left_out[f], mm_logits_ece (sets[f].logits, sets[f].labels,
            n[f], cc.t_left_out[f], NULL), 1e-12);
    for (size_t k = 0; k < (size_t) n[f] * MM_N_CLASSES; k++)
      scaled[(size_t) at * MM_N_CLASSES + k] = sets[f].logits[k] / cc.t_left_out[f];
    at += n[f];
  }
  ck_assert_double_eq_tol (cc.ece_left_out_pooled, mm_logits_ece (scaled, labels, total, 1.0f,
          NULL), 1e-12);
  /* an honest estimate is worse than the in-sample one here: the folds differ */
  ck_assert_msg (cc.ece_left_out_pooled > cc.ece, "left out %.4f, pooled %.4f",
      cc.ece_left_out_pooled, cc.ece);
  mm_cross_calibration_clear (&cc);
  ck_assert_ptr_null (cc.t_left_out);

  ck_assert (!mm_recipe_cross_calibrate (sets, 1, 1.0f, &cc, &error));
  ck_assert (g_error_matches (error, MM_ERROR, MM_ERROR_INVALID));
  g_clear_error (&error);
  mm_cross_calibration_clear (&cc);
  /* every label the arg-max: no error to fit on in any fold */
  for (int i = 0; i < total; i++)
    labels[i] = mm_argmax (MM_N_CLASSES, z + (size_t) i * MM_N_CLASSES);
  ck_assert (!mm_recipe_cross_calibrate (sets, 3, 1.0f, &cc, &error));
  ck_assert_msg (g_error_matches (error, MM_ERROR, MM_ERROR_UNIDENTIFIABLE), "%s", error->message);
  g_clear_error (&error);
  mm_cross_calibration_clear (&cc);
  g_free (scaled);
  g_free (z);
  g_free (labels);
}
END_TEST

/* Logits whose arg-max is right on every sample with a margin (the label's
 * logit 1–4 above every other): the cross-entropy keeps falling as T goes to
 * 0, so the fit runs to the search's lower end and must say so, also with
 * margins so large that the computed loss is flat near it; every one
 * wrong with a margin: the loss keeps falling as T grows, the upper end. One
 * error among them makes T identifiable again (inside the range, not at a
 * bound). */
START_TEST (test_temperature_fit_at_its_bound_says_so)
{
  const int n = 500;
  float *z = g_new (float, (size_t) n * MM_N_CLASSES);
  int *labels = g_new (int, n), *wrong = g_new (int, n);
  MmRng rng;
  gboolean at_bound = FALSE;
  float t;

  mm_rng_seed (&rng, 11, 1);
  for (int i = 0; i < n; i++) {
    float *zi = z + (size_t) i * MM_N_CLASSES;
    labels[i] = i % MM_N_CLASSES;
    wrong[i] = (labels[i] + 1) % MM_N_CLASSES;
    for (int k = 0; k < MM_N_CLASSES; k++)
      zi[k] = mm_rng_uniform (&rng);
    zi[labels[i]] = 2.0f + 3.0f * mm_rng_uniform (&rng);
  }
  t = mm_fit_temperature (z, labels, n, &at_bound);
  ck_assert_msg (at_bound, "all right and separable: T %.4f not said to be at the bound", t);
  ck_assert_float_eq_tol (t, MM_TEMPERATURE_MIN, 1e-4 * MM_TEMPERATURE_MIN);
  /* margins of 60: below T ≈ 0.08 every term underflows and the computed
   * loss is exactly flat; the fit must still reach the lower end */
  for (int i = 0; i < n; i++)
    z[(size_t) i * MM_N_CLASSES + labels[i]] += 60.0f;
  at_bound = FALSE;
  t = mm_fit_temperature (z, labels, n, &at_bound);
  ck_assert_msg (at_bound, "all right by 60: T %.4f not said to be at the bound", t);
  ck_assert_float_eq_tol (t, MM_TEMPERATURE_MIN, 1e-4 * MM_TEMPERATURE_MIN);
  for (int i = 0; i < n; i++)
    z[(size_t) i * MM_N_CLASSES + labels[i]] -= 60.0f;
  at_bound = FALSE;
  t = mm_fit_temperature (z, wrong, n, &at_bound);
  ck_assert_msg (at_bound, "all wrong: T %.4f not said to be at the bound", t);
  ck_assert_float_eq_tol (t, MM_TEMPERATURE_MAX, 1e-4 * MM_TEMPERATURE_MAX);
  /* one sample in ten wrong: the loss has a minimum inside the range */
  for (int i = 0; i < n; i += 10)
    labels[i] = wrong[i];
  at_bound = TRUE;
  t = mm_fit_temperature (z, labels, n, &at_bound);
  ck_assert_msg (!at_bound && t > 2 * MM_TEMPERATURE_MIN && t < MM_TEMPERATURE_MAX / 2,
      "one in ten wrong: T %.4f, at bound %d", t, at_bound);
  g_free (z);
  g_free (labels);
  g_free (wrong);
}
END_TEST

/* mm_recipe_calibrate (what train and calibrate call) on a net that is
 * right on every sample with a margin (ImageNet_CNN whose last layer
 * answers its bias alone, class 3 by 4, and a set labelled 3 throughout):
 * it fails with MM_ERROR_UNIDENTIFIABLE, gives the bound in *t and leaves
 * the net uncalibrated (T = 1) instead of setting T = 0.05. With half the
 * labels another digit the same net calibrates. */
START_TEST (test_recipe_calibrate_refuses_a_temperature_at_its_bound)
{
  MmDataset *ds = synthetic_images (64, 4);
  MmNet *net = mm_net_new (MM_ARCH_IMAGENET_CNN, 5);
  const MmTensorInfo *w = mm_net_find_tensor (net, "head.fc.weight");
  const MmTensorInfo *bias = mm_net_find_tensor (net, "head.fc.bias");
  GError *error = NULL;
  float t = 0;
  double before = -1, after = -1;

  ck_assert_ptr_nonnull (w);
  ck_assert_ptr_nonnull (bias);
  memset (w->data, 0, w->size * sizeof (float));
  memset (bias->data, 0, bias->size * sizeof (float));
  bias->data[3] = 4.0f;
  for (int i = 0; i < ds->n; i++)
    ds->labels[i] = 3;
  mm_net_set_temperature (net, 0.7f);
  ck_assert (!mm_recipe_calibrate (net, ds, &t, &before, &after, &error));
  ck_assert_msg (g_error_matches (error, MM_ERROR, MM_ERROR_UNIDENTIFIABLE), "%s",
      error ? error->message : "no error");
  ck_assert_msg (strstr (error->message, "T = 0.05") && strstr (error->message, "100.00% right"),
      "%s", error->message);
  g_clear_error (&error);
  ck_assert_float_eq (t, (float) MM_TEMPERATURE_MIN);
  ck_assert_float_eq (mm_net_temperature (net), 1.0f);
  for (int i = 0; i < ds->n; i += 2)
    ds->labels[i] = 5;
  ck_assert (mm_recipe_calibrate (net, ds, &t, &before, &after, &error));
  ck_assert_msg (t > 2 * MM_TEMPERATURE_MIN && t < MM_TEMPERATURE_MAX / 2, "T %.4f", t);
  ck_assert_float_eq (mm_net_temperature (net), t);
  mm_net_free (net);
  mm_dataset_free (ds);
}
END_TEST

START_TEST (test_train_learns_a_separable_problem)
{
  MmArch arch = (MmArch) _i;
  MmDataset *tr = synthetic_images (320, 1), *va = synthetic_images (100, 2);
  MmNet *net = mm_net_new (arch, 5);
  MmTrainConfig cfg;
  MmTrainResult res;
  MmConfusion conf;
  GArray *losses = g_array_new (FALSE, FALSE, sizeof (float));
  GError *error = NULL;

  mm_train_config_init (&cfg, arch);
  /* the LSTM learns more slowly from 20 steps of 16 samples: more epochs */
  gboolean lstm = arch == MM_ARCH_AUDIONET_LSTM || arch == MM_ARCH_HYBRIDNET_CNN_LSTM;
  cfg.epochs = lstm ? 10 : 4;
  cfg.batch = 16;
  cfg.lr = 3e-3f;
  cfg.progress = record_loss;
  cfg.user_data = losses;
  ck_assert (mm_train (net, &cfg, tr, va, &res, &error));
  ck_assert_int_eq (res.epochs_run, cfg.epochs);
  ck_assert_msg (g_array_index (losses, float, losses->len - 1) < 0.5f * g_array_index (losses, float, 0),
      "%s: loss %.3f → %.3f", mm_arch_name (arch), g_array_index (losses, float, 0),
      g_array_index (losses, float, losses->len - 1));
  mm_confusion_init (&conf);
  fail_unless (mm_net_predict (net, va, 64, NULL, NULL, &conf, NULL));
  ck_assert_msg (mm_confusion_accuracy (&conf) > 0.9, "%s: accuracy %.3f",
      mm_arch_name (arch), mm_confusion_accuracy (&conf));
  /* the net ends with the best epoch's weights */
  ck_assert_double_eq_tol (mm_confusion_accuracy (&conf), res.best_val_accuracy, 1e-6);
  g_array_free (losses, TRUE);
  mm_net_free (net);
  mm_dataset_free (tr);
  mm_dataset_free (va);
}
END_TEST

/* Weights that overflow (every image.fc weight 3e38, finite, so the loader
 * takes them) make the logits inf or NaN: mm_net_predict says so and names
 * the network instead of calling the arg-max of NaNs a digit; a non-finite
 * input is blamed on the input. */
START_TEST (test_predict_refuses_non_finite_outputs)
{
  MmDataset *ds = synthetic_images (40, 3);
  MmNet *net = mm_net_new (MM_ARCH_IMAGENET_CNN, 5);
  const MmTensorInfo *fc = mm_net_find_tensor (net, "image.fc.weight");
  MmConfusion conf;
  GError *error = NULL;

  ck_assert_ptr_nonnull (fc);
  mm_confusion_init (&conf);
  ck_assert (mm_net_predict (net, ds, 16, NULL, NULL, &conf, &error));
  ck_assert_int_eq (conf.n, 40);
  for (size_t i = 0; i < fc->size; i++)
    fc->data[i] = 3e38f;
  ck_assert (!mm_net_predict (net, ds, 16, NULL, NULL, NULL, &error));
  ck_assert (g_error_matches (error, MM_ERROR, MM_ERROR_INVALID));
  ck_assert_msg (strstr (error->message, "ImageNet_CNN gives non-finite outputs")
      && strstr (error->message, "input is finite"), "%s", error->message);
  g_clear_error (&error);
  mm_net_free (net);

  net = mm_net_new (MM_ARCH_IMAGENET_CNN, 5);
  ds->image[3 * MM_IMAGE_PIXELS + 100] = NAN;
  ck_assert (!mm_net_predict (net, ds, 16, NULL, NULL, NULL, &error));
  ck_assert_msg (strstr (error->message, "sample 3: the image input holds inf or NaN"),
      "%s", error->message);
  g_clear_error (&error);
  mm_net_free (net);
  mm_dataset_free (ds);
}
END_TEST

/* mm_net_score is mm_net_predict at the net's temperature plus the ECE of
 * those probabilities: the same decisions, probabilities and confusion
 * (compared at its batch, 256, so the same GEMM shapes); on failure it
 * leaves the struct empty. */
START_TEST (test_score_is_predict_and_ece)
{
  MmDataset *ds = synthetic_images (300, 4);
  MmNet *net = mm_net_new (MM_ARCH_IMAGENET_CNN, 7);
  int pred[300];
  float probs[300 * MM_N_CLASSES];
  MmConfusion conf;
  MmScores sc;
  GError *error = NULL;

  mm_net_set_temperature (net, 0.5f);
  mm_confusion_init (&conf);
  ck_assert (mm_net_predict (net, ds, 256, pred, probs, &conf, NULL));
  ck_assert (mm_net_score (net, ds, &sc, &error));
  ck_assert_int_eq (sc.n, 300);
  ck_assert_int_eq (sc.conf.n, 300);
  ck_assert_int_eq (memcmp (&sc.conf, &conf, sizeof conf), 0);
  for (int i = 0; i < 300; i++) {
    ck_assert_int_eq (sc.pred[i], pred[i]);
    for (int k = 0; k < MM_N_CLASSES; k++)
      ck_assert_float_eq_tol (sc.probs[i * MM_N_CLASSES + k], probs[i * MM_N_CLASSES + k], 1e-5);
  }
  ck_assert_double_eq_tol (sc.ece, mm_calibration_ece (probs, ds->labels, 300, MM_ECE_BINS),
      1e-5);
  mm_scores_clear (&sc);
  ck_assert_ptr_null (sc.probs);
  mm_scores_clear (&sc);

  ds->image[7] = NAN;
  ck_assert (!mm_net_score (net, ds, &sc, &error));
  ck_assert (g_error_matches (error, MM_ERROR, MM_ERROR_INVALID));
  ck_assert_ptr_null (sc.pred);
  ck_assert_ptr_null (sc.probs);
  ck_assert_int_eq (sc.conf.n, 0);
  g_clear_error (&error);
  mm_net_free (net);
  mm_dataset_free (ds);
}
END_TEST

/* mm_scores_mean averages the parts' probabilities sample by sample and
 * decides on the mean: where one network is sure of a wrong digit and the
 * other less sure of the right one, the mean may side with either. */
START_TEST (test_scores_mean_decides_on_the_mean)
{
  /* sample 0: a says 3 (0.6), b says 5 (0.9): mean 5 (0.5 vs 0.35)
   * sample 1: a says 1 (0.9), b says 2 (0.55): mean 1 (0.55 vs 0.325)
   * sample 2: both 7 */
  float pa[3][MM_N_CLASSES] = { { 0 } }, pb[3][MM_N_CLASSES] = { { 0 } };
  int labels[3] = { 5, 2, 7 };
  MmScores parts[2] = { { 0 } }, mean;

  pa[0][3] = 0.6f; pa[0][5] = 0.1f; pa[0][0] = 0.3f;
  pb[0][5] = 0.9f; pb[0][3] = 0.1f;
  pa[1][1] = 0.9f; pa[1][2] = 0.1f;
  pb[1][2] = 0.55f; pb[1][1] = 0.2f; pb[1][0] = 0.25f;
  pa[2][7] = 1.0f;
  pb[2][7] = 0.8f; pb[2][9] = 0.2f;
  parts[0].n = parts[1].n = 3;
  parts[0].probs = &pa[0][0];
  parts[1].probs = &pb[0][0];
  mm_scores_mean (parts, 2, labels, &mean);
  ck_assert_int_eq (mean.n, 3);
  ck_assert_int_eq (mean.pred[0], 5);
  ck_assert_int_eq (mean.pred[1], 1);
  ck_assert_int_eq (mean.pred[2], 7);
  ck_assert_float_eq_tol (mean.probs[0 * MM_N_CLASSES + 5], 0.5f, 1e-6);
  ck_assert_float_eq_tol (mean.probs[0 * MM_N_CLASSES + 3], 0.35f, 1e-6);
  ck_assert_float_eq_tol (mean.probs[1 * MM_N_CLASSES + 0], 0.125f, 1e-6);
  ck_assert_float_eq_tol (mean.probs[2 * MM_N_CLASSES + 9], 0.1f, 1e-6);
  ck_assert_int_eq (mean.conf.n, 3);
  ck_assert_int_eq (mean.conf.confusion[5][5], 1);
  ck_assert_int_eq (mean.conf.confusion[2][1], 1);
  ck_assert_int_eq (mean.conf.confusion[7][7], 1);
  /* confidences 0.5, 0.55, 0.9 in bins 7, 8, 13 (of 15): |1 − 0.5| + |0 − 0.55| + |1 − 0.9| */
  ck_assert_double_eq_tol (mean.ece, (0.5 + 0.55 + 0.1) / 3, 1e-6);
  mm_scores_clear (&mean);
}
END_TEST

/* Test-time views (mm_net_score_views / mm_net_logits_views): one set is
 * mm_net_score to the bit; a set and a copy of it are that set; a set and
 * another (the "view") give the mean of their logits (by hand, from
 * mm_net_logits of each) through the temperature, its arg-max and ECE;
 * a NaN in a view's input is refused as in the set's. */
START_TEST (test_score_of_views_is_the_mean_of_logits)
{
  const int n = 200;
  MmDataset *ds = synthetic_images (n, 4), *view = synthetic_images (n, 5);
  MmDataset *copy = mm_dataset_head (ds, n);
  MmDataset *one[1] = { ds }, *same[2] = { ds, copy }, *two[2] = { ds, view };
  MmNet *net = mm_net_new (MM_ARCH_HYBRIDNET_CNN, 7);
  float *la = g_new (float, n * MM_N_CLASSES), *lb = g_new (float, n * MM_N_CLASSES);
  float *mean = g_new (float, n * MM_N_CLASSES), *probs = g_new (float, n * MM_N_CLASSES);
  MmScores plain, sc;
  GError *error = NULL;
  int right = 0;

  mm_net_set_temperature (net, 1.7f);
  ck_assert (mm_net_score (net, ds, &plain, NULL));
  ck_assert (mm_net_score_views (net, one, 1, &sc, NULL));
  ck_assert (memcmp (sc.probs, plain.probs, sizeof (float) * n * MM_N_CLASSES) == 0);
  mm_scores_clear (&sc);
  ck_assert (mm_net_score_views (net, same, 2, &sc, NULL));
  ck_assert (memcmp (sc.probs, plain.probs, sizeof (float) * n * MM_N_CLASSES) == 0);
  mm_scores_clear (&sc);

  mm_net_logits (net, ds, 256, la);
  mm_net_logits (net, view, 256, lb);
  for (int i = 0; i < n * MM_N_CLASSES; i++)
    mean[i] = (float) (((double) la[i] + lb[i]) / 2);
  mm_softmax_temperature (n, MM_N_CLASSES, mean, 1.7f, probs);
  ck_assert (mm_net_score_views (net, two, 2, &sc, &error));
  mm_net_logits_views (net, two, 2, 256, la);
  for (int i = 0; i < n; i++) {
    ck_assert_int_eq (sc.pred[i], mm_argmax (MM_N_CLASSES, mean + i * MM_N_CLASSES));
    right += sc.pred[i] == ds->labels[i];
    for (int k = 0; k < MM_N_CLASSES; k++) {
      ck_assert_float_eq_tol (sc.probs[i * MM_N_CLASSES + k], probs[i * MM_N_CLASSES + k], 1e-6);
      ck_assert_float_eq_tol (la[i * MM_N_CLASSES + k], mean[i * MM_N_CLASSES + k], 1e-5);
    }
  }
  ck_assert_int_eq (sc.conf.n, n);
  ck_assert_double_eq_tol (mm_confusion_accuracy (&sc.conf), (double) right / n, 1e-12);
  ck_assert_double_eq_tol (sc.ece, mm_calibration_ece (probs, ds->labels, n, MM_ECE_BINS), 1e-5);
  /* the mean is neither set's alone */
  ck_assert (memcmp (sc.probs, plain.probs, sizeof (float) * n * MM_N_CLASSES) != 0);
  mm_scores_clear (&sc);

  view->audio[5] = NAN;
  ck_assert (!mm_net_score_views (net, two, 2, &sc, &error));
  ck_assert (g_error_matches (error, MM_ERROR, MM_ERROR_INVALID));
  g_clear_error (&error);
  mm_scores_clear (&plain);
  mm_net_free (net);
  mm_dataset_free (ds);
  mm_dataset_free (view);
  mm_dataset_free (copy);
  g_free (la);
  g_free (lb);
  g_free (mean);
  g_free (probs);
}
END_TEST

/* mm_dataset_head copies the first n samples, labels and inputs, into a
 * set of its own (eval's --limit and --ensemble, the figures). */
START_TEST (test_dataset_head_copies_the_first_samples)
{
  MmDataset *ds = synthetic_images (30, 5);
  MmDataset *head = mm_dataset_head (ds, 12), *none = mm_dataset_head (ds, 0);

  ck_assert_int_eq (head->n, 12);
  ck_assert_int_eq (none->n, 0);
  ck_assert_int_eq (memcmp (head->labels, ds->labels, 12 * sizeof (int)), 0);
  ck_assert_int_eq (memcmp (head->image, ds->image, 12 * MM_IMAGE_PIXELS * sizeof (float)), 0);
  head->image[0] += 1.0f;
  ck_assert (head->image[0] != ds->image[0]);
  mm_dataset_free (head);
  mm_dataset_free (none);
  mm_dataset_free (ds);
}
END_TEST

START_TEST (test_train_is_reproducible_for_a_seed)
{
  MmDataset *tr = synthetic_images (64, 1), *va = synthetic_images (20, 2);
  MmNet *a = mm_net_new (MM_ARCH_IMAGENET_CNN, 9), *b = mm_net_new (MM_ARCH_IMAGENET_CNN, 9);
  MmTrainConfig cfg;
  MmTrainResult res;

  mm_train_config_init (&cfg, MM_ARCH_IMAGENET_CNN);
  cfg.epochs = 2;
  cfg.batch = 8;
  ck_assert (mm_train (a, &cfg, tr, va, &res, NULL));
  ck_assert (mm_train (b, &cfg, tr, va, &res, NULL));
  ck_assert (memcmp (mm_net_params (a), mm_net_params (b), sizeof (float) * mm_net_n_params (a)) == 0);
  mm_net_free (a);
  mm_net_free (b);
  mm_dataset_free (tr);
  mm_dataset_free (va);
}
END_TEST

/* Each of @bad as *@option is refused by mm_train with a message naming
 * @name; *@option is 0 (off) again after. */
static void
assert_values_refused (MmTrainConfig *cfg, float *option, const float *bad, int n_bad,
    const char *name, const MmDataset *tr, const MmDataset *va)
{
  MmNet *net = mm_net_new (MM_ARCH_IMAGENET_CNN, 5);
  MmTrainResult res;
  GError *error = NULL;

  for (int i = 0; i < n_bad; i++) {
    *option = bad[i];
    ck_assert (!mm_train (net, cfg, tr, va, &res, &error));
    ck_assert_msg (strstr (error->message, name) != NULL, "%s", error->message);
    g_clear_error (&error);
  }
  *option = 0;
  mm_net_free (net);
}

/* The small separable run the tests of a training option share: a few
 * epochs that reach > 0.9 on synthetic_images (320 / 100 samples). */
static void
option_test_config (MmTrainConfig *cfg)
{
  mm_train_config_init (cfg, MM_ARCH_IMAGENET_CNN);
  cfg->epochs = 4;
  cfg->batch = 16;
  cfg->lr = 3e-3f;
}

/* Mixup: the same seed gives the same weights, the mixing changes them,
 * the net still learns a separable problem (its training loss is against
 * mixed targets, so only validation accuracy is asked), and an α out of
 * (0, MM_TRAIN_MIXUP_MAX] is refused with its name. */
START_TEST (test_train_mixup_reproducible_and_learns)
{
  MmDataset *tr = synthetic_images (320, 1), *va = synthetic_images (100, 2);
  MmNet *a = mm_net_new (MM_ARCH_IMAGENET_CNN, 5), *b = mm_net_new (MM_ARCH_IMAGENET_CNN, 5);
  MmNet *plain = mm_net_new (MM_ARCH_IMAGENET_CNN, 5);
  const float bad[] = { -0.2f, MM_TRAIN_MIXUP_MAX * 1.5f, NAN };
  MmTrainConfig cfg;
  MmTrainResult res;
  size_t n = sizeof (float) * mm_net_n_params (a);

  option_test_config (&cfg);
  ck_assert (mm_train (plain, &cfg, tr, va, &res, NULL));
  cfg.mixup = 0.4f;
  ck_assert (mm_train (a, &cfg, tr, va, &res, NULL));
  ck_assert_msg (res.best_val_accuracy > 0.9, "accuracy %.3f", res.best_val_accuracy);
  ck_assert (mm_train (b, &cfg, tr, va, &res, NULL));
  ck_assert (memcmp (mm_net_params (a), mm_net_params (b), n) == 0);
  ck_assert (memcmp (mm_net_params (a), mm_net_params (plain), n) != 0);
  assert_values_refused (&cfg, &cfg.mixup, bad, G_N_ELEMENTS (bad), "mixup", tr, va);
  mm_net_free (a);
  mm_net_free (b);
  mm_net_free (plain);
  mm_dataset_free (tr);
  mm_dataset_free (va);
}
END_TEST

/* The live tensors after every step, summed as the moving average sums
 * them (mm-train.h), in double. */
typedef struct {
  MmNet *live;
  double *avg;          /* every tensor's floats, one after another */
  float decay;
  int t;
} EmaWatch;

static gboolean
watch_ema (const MmTrainProgress *p, gpointer user_data)
{
  EmaWatch *w = user_data;
  double d;
  size_t k = 0;

  if (p->end_of_epoch)
    return TRUE;
  w->t++;
  d = MIN ((double) w->decay, (1.0 + w->t) / (10.0 + w->t));
  for (int i = 0; i < mm_net_n_tensors (w->live); i++) {
    const MmTensorInfo *x = mm_net_tensor (w->live, i);
    for (size_t j = 0; j < x->size; j++, k++)
      w->avg[k] = d * w->avg[k] + (1 - d) * x->data[j];
  }
  return TRUE;
}

/* With ema, one epoch keeps the average of the initial weights and those
 * after each step, with the decay the header gives, batch-norm statistics
 * too (HybridNet_CNN has them): within float rounding of the same sum
 * in double (the training itself sees the live tensors through the
 * progress callback, which runs after each step). */
START_TEST (test_train_ema_averages_every_step)
{
  MmDataset *tr = synthetic_images (200, 1), *va = synthetic_images (40, 2);
  MmNet *net = mm_net_new (MM_ARCH_HYBRIDNET_CNN, 3);
  EmaWatch w = { net, NULL, 0.9f, 0 };
  MmTrainConfig cfg;
  MmTrainResult res;
  size_t n = 0, k = 0;
  gboolean has_stats = FALSE;

  for (int i = 0; i < mm_net_n_tensors (net); i++)
    n += mm_net_tensor (net, i)->size;
  w.avg = g_new (double, n);
  for (int i = 0; i < mm_net_n_tensors (net); i++) {
    const MmTensorInfo *x = mm_net_tensor (net, i);
    has_stats |= x->kind == MM_TENSOR_RUNNING_VAR;
    for (size_t j = 0; j < x->size; j++)
      w.avg[k++] = x->data[j];
  }
  ck_assert (has_stats);
  mm_train_config_init (&cfg, MM_ARCH_HYBRIDNET_CNN);
  cfg.epochs = 1;
  cfg.batch = 16;
  cfg.ema = w.decay;
  cfg.progress = watch_ema;
  cfg.user_data = &w;
  ck_assert (mm_train (net, &cfg, tr, va, &res, NULL));
  ck_assert_int_eq (w.t, 200 / 16 + 1);
  /* the kept weights (the first epoch is always the best so far) */
  k = 0;
  for (int i = 0; i < mm_net_n_tensors (net); i++) {
    const MmTensorInfo *x = mm_net_tensor (net, i);
    for (size_t j = 0; j < x->size; j++, k++)
      ck_assert_msg (fabs (x->data[j] - w.avg[k]) <= 1e-5 * (1 + fabs (w.avg[k])),
          "%s[%zu]: %.9g, want %.9g", x->name, j, x->data[j], w.avg[k]);
  }
  g_free (w.avg);
  mm_net_free (net);
  mm_dataset_free (tr);
  mm_dataset_free (va);
}
END_TEST

static gboolean
record_validation (const MmTrainProgress *p, gpointer user_data)
{
  GArray *v = user_data;
  if (p->end_of_epoch) {
    g_array_append_val (v, p->val_accuracy);
    g_array_append_val (v, p->val_loss);
  }
  return TRUE;
}

/* The moving average leaves the live run alone: every epoch's validation of
 * the live weights is the run's without it to the bit (they train the same
 * floats, mm_train's determinism), and the rate falls at the same epochs;
 * the kept weights are the average's, other than the plain run's, the same
 * for a seed, and they learn a separable problem; a decay out of
 * (0, MM_TRAIN_EMA_MAX] is refused with its name. */
START_TEST (test_train_ema_keeps_the_live_run)
{
  MmDataset *tr = synthetic_images (320, 1), *va = synthetic_images (100, 2);
  MmNet *a = mm_net_new (MM_ARCH_IMAGENET_CNN, 5), *b = mm_net_new (MM_ARCH_IMAGENET_CNN, 5);
  MmNet *plain = mm_net_new (MM_ARCH_IMAGENET_CNN, 5);
  GArray *va_plain = g_array_new (FALSE, FALSE, sizeof (float));
  GArray *va_ema = g_array_new (FALSE, FALSE, sizeof (float));
  const float bad[] = { -0.1f, 1.0f, NAN };
  MmTrainConfig cfg;
  MmTrainResult res;
  size_t n = sizeof (float) * mm_net_n_params (a);

  option_test_config (&cfg);
  cfg.plateau_patience = 0;   /* the rate falls within the run */
  cfg.progress = record_validation;
  cfg.user_data = va_plain;
  ck_assert (mm_train (plain, &cfg, tr, va, &res, NULL));
  cfg.ema = 0.95f;
  cfg.user_data = va_ema;
  ck_assert (mm_train (a, &cfg, tr, va, &res, NULL));
  ck_assert_msg (res.best_val_accuracy > 0.9, "accuracy %.3f", res.best_val_accuracy);
  ck_assert_int_eq (va_ema->len, va_plain->len);
  ck_assert (memcmp (va_ema->data, va_plain->data, va_plain->len * sizeof (float)) == 0);
  cfg.progress = NULL;
  ck_assert (mm_train (b, &cfg, tr, va, &res, NULL));
  ck_assert (memcmp (mm_net_params (a), mm_net_params (b), n) == 0);
  ck_assert (memcmp (mm_net_params (a), mm_net_params (plain), n) != 0);
  assert_values_refused (&cfg, &cfg.ema, bad, G_N_ELEMENTS (bad), "ema", tr, va);
  g_array_unref (va_plain);
  g_array_unref (va_ema);
  mm_net_free (a);
  mm_net_free (b);
  mm_net_free (plain);
  mm_dataset_free (tr);
  mm_dataset_free (va);
}
END_TEST

/* Labels the net cannot learn on validation: early stopping ends the run
 * after `patience` epochs without a new best. */
START_TEST (test_train_stops_early_without_progress)
{
  MmDataset *tr = synthetic_images (64, 1), *va = synthetic_images (40, 2);
  MmNet *net = mm_net_new (MM_ARCH_IMAGENET_CNN, 9);
  MmTrainConfig cfg;
  MmTrainResult res;

  for (int i = 0; i < va->n; i++)
    va->labels[i] = 0;    /* validation says "always 0": accuracy stuck near 10 % */
  mm_train_config_init (&cfg, MM_ARCH_IMAGENET_CNN);
  cfg.epochs = 30;
  cfg.batch = 16;
  cfg.early_stop_patience = 3;
  ck_assert (mm_train (net, &cfg, tr, va, &res, NULL));
  ck_assert (res.stopped_early);
  ck_assert_int_eq (res.epochs_run, res.best_epoch + 3);
  mm_net_free (net);
  mm_dataset_free (tr);
  mm_dataset_free (va);
}
END_TEST

/* Every float of the net's tensors (parameters and batch-norm statistics). */
static void
assert_same_weights (MmNet *a, MmNet *b, const char *what)
{
  for (int i = 0; i < mm_net_n_tensors (a); i++) {
    const MmTensorInfo *x = mm_net_tensor (a, i), *y = mm_net_tensor (b, i);
    ck_assert_msg (memcmp (x->data, y->data, sizeof (float) * x->size) == 0,
        "%s: tensor %s differs", what, x->name);
  }
}

typedef struct {
  int epoch, batch;     /* cancel when this batch of this epoch is done (batch 0: at its end) */
} CancelAt;

static gboolean
cancel_at (const MmTrainProgress *p, gpointer user_data)
{
  const CancelAt *c = user_data;
  if (p->epoch != c->epoch)
    return TRUE;
  return c->batch == 0 ? !p->end_of_epoch : p->end_of_epoch || p->batch_index < c->batch;
}

static void
resume_config (MmTrainConfig *cfg, MmArch arch)
{
  mm_train_config_init (cfg, arch);
  cfg->epochs = 5;
  cfg->batch = 8;
  cfg->lr = 3e-3f;
  /* the rate falls and early stopping counts within these few epochs, so
   * their state crosses the checkpoint too */
  cfg->plateau_patience = 0;
  cfg->early_stop_patience = 4;
  cfg->seed = 11;
}

/* A run stopped anywhere after a checkpoint — in the middle of an epoch (as
 * kill -9 would stop it) or right after one — and resumed by a new net from
 * the checkpoint ends with exactly the weights of the run never stopped:
 * weights, Adam moments and step, learning rate, plateau and early-stopping
 * counts, best weights, the shuffled order, and the shuffling and dropout
 * streams all come back, whatever thread count the resumed run has (the
 * floats do not depend on it, test_parallel). For every arch (dropout in all of them; LSTM and
 * fusion batch norm in the hybrids), with augmentation (and modality
 * dropout for the hybrids) on, and the weights' moving average in two. */
START_TEST (test_train_resumes_bit_for_bit)
{
  MmArch arch = (MmArch) _i;
  MmDataset *tr = synthetic_images (45, 1), *va = synthetic_images (16, 2);
  char *dir = mm_test_tmp_dir_new ("resume");
  char *ck = g_build_filename (dir, "run.ckpt", NULL);
  MmNet *ref = mm_net_new (arch, 11);
  MmTrainConfig cfg;
  MmTrainResult want, res;
  MmAugment aug;
  GError *error = NULL;

  resume_config (&cfg, arch);
  /* image augmentation, and modality dropout for the hybrids: their draws
   * come from (seed, epoch, sample), and must continue the same */
  mm_augment_init (&aug);
  ck_assert (mm_augment_parse (&aug, "affine,pixel-noise", NULL));
  cfg.augment = &aug;
  if (mm_arch_uses_image (arch) && mm_arch_uses_audio (arch))
    cfg.modality_dropout = 0.3f;
  /* the weights' moving average (and the live best beside the kept one) in
   * every other arch, so that both kinds of checkpoint are resumed */
  if (arch % 2 == 1)
    cfg.ema = 0.9f;
  mm_set_threads (2);
  ck_assert (mm_train (ref, &cfg, tr, va, &want, NULL));
  /* in every epoch after the first checkpoint, and once right after one */
  for (int k = 1; k < want.epochs_run; k++) {
    for (int mid = k == 2 ? 0 : 1; mid < 2; mid++) {
      CancelAt at = { mid ? k + 1 : k, mid ? 3 : 0 };
      MmNet *net = mm_net_new (arch, 11);
      char *what = g_strdup_printf ("%s stopped %s epoch %d", mm_arch_name (arch),
          mid ? "in" : "after", at.epoch);

      cfg.checkpoint = ck;
      cfg.resume = FALSE;
      cfg.progress = cancel_at;
      cfg.user_data = &at;
      ck_assert (!mm_train (net, &cfg, tr, va, &res, &error));
      ck_assert_msg (g_error_matches (error, MM_ERROR, MM_ERROR_CANCELLED), "%s: %s", what,
          error->message);
      g_clear_error (&error);
      mm_net_free (net);

      net = mm_net_new (arch, 11);
      cfg.resume = TRUE;
      cfg.progress = NULL;
      mm_set_threads (mid ? 1 : 3);
      ck_assert_msg (mm_train (net, &cfg, tr, va, &res, &error), "%s: %s", what,
          error ? error->message : "");
      mm_set_threads (2);
      ck_assert_int_eq (res.resumed_after, k);
      ck_assert_int_eq (res.epochs_run, want.epochs_run);
      ck_assert_int_eq (res.best_epoch, want.best_epoch);
      ck_assert_int_eq (res.stopped_early, want.stopped_early);
      ck_assert (res.best_val_accuracy == want.best_val_accuracy);
      ck_assert (res.best_val_loss == want.best_val_loss);
      assert_same_weights (net, ref, what);
      mm_net_free (net);
      g_free (what);
    }
  }
  mm_set_threads (0);
  mm_net_free (ref);
  g_free (ck);
  mm_test_tmp_dir_remove (dir);
  mm_dataset_free (tr);
  mm_dataset_free (va);
}
END_TEST

static void
assert_resume_refused (MmTrainConfig *cfg, const MmDataset *tr, const MmDataset *va,
    int code, const char *needle)
{
  MmNet *net = mm_net_new (MM_ARCH_IMAGENET_CNN, 11);
  MmTrainResult res;
  GError *error = NULL;

  cfg->resume = TRUE;
  ck_assert (!mm_train (net, cfg, tr, va, &res, &error));
  ck_assert_msg (g_error_matches (error, MM_ERROR, code) && strstr (error->message, needle),
      "want \"%s\", got: %s", needle, error->message);
  g_error_free (error);
  mm_net_free (net);
}

/* A checkpoint continues only the run it was written for: other settings,
 * other data, another arch or a model file are refused by name; and a
 * checkpoint is not a model. */
START_TEST (test_train_refuses_a_resume_of_another_run)
{
  MmDataset *tr = synthetic_images (32, 1), *va = synthetic_images (16, 2);
  char *dir = mm_test_tmp_dir_new ("resume-refused");
  char *ck = g_build_filename (dir, "run.ckpt", NULL);
  char *model = g_build_filename (dir, "m.safetensors", NULL);
  MmNet *net = mm_net_new (MM_ARCH_IMAGENET_CNN, 11);
  MmTrainConfig cfg;
  MmTrainResult res;
  GError *error = NULL;

  resume_config (&cfg, MM_ARCH_IMAGENET_CNN);
  cfg.epochs = 1;
  cfg.checkpoint = ck;
  cfg.settings = "{\"protocol\":\"clean\"}";
  ck_assert (mm_train (net, &cfg, tr, va, &res, NULL));
  ck_assert (mm_model_save (net, NULL, model, NULL));
  mm_net_free (net);

  cfg.epochs = 2;
  cfg.batch = 16;
  assert_resume_refused (&cfg, tr, va, MM_ERROR_MISMATCH, "batch 8, this run has 16");
  cfg.batch = 8;
  cfg.settings = "{\"protocol\":\"paper\"}";
  assert_resume_refused (&cfg, tr, va, MM_ERROR_MISMATCH, "settings");
  cfg.settings = "{\"protocol\":\"clean\"}";
  cfg.label_smoothing = 0.1f;
  assert_resume_refused (&cfg, tr, va, MM_ERROR_MISMATCH,
      "label_smoothing 0, this run has 0.100000001");
  cfg.label_smoothing = 0;
  cfg.mixup = 0.2f;
  assert_resume_refused (&cfg, tr, va, MM_ERROR_MISMATCH, "mixup 0, this run has 0.200000003");
  cfg.mixup = 0;
  cfg.ema = 0.99f;
  assert_resume_refused (&cfg, tr, va, MM_ERROR_MISMATCH, "ema 0, this run has 0.99000001");
  cfg.ema = 0;
  tr->labels[5] = (tr->labels[5] + 1) % 10;
  assert_resume_refused (&cfg, tr, va, MM_ERROR_MISMATCH, "other training data");
  tr->labels[5] = (tr->labels[5] + 9) % 10;
  cfg.epochs = 2;
  cfg.checkpoint = model;
  assert_resume_refused (&cfg, tr, va, MM_ERROR_FORMAT, "is not a training checkpoint");
  cfg.checkpoint = ck;
  {
    MmNet *hybrid = mm_net_new (MM_ARCH_HYBRIDNET_CNN, 11);
    MmTrainConfig hc = cfg;
    hc.resume = TRUE;
    ck_assert (!mm_train (hybrid, &hc, tr, va, &res, &error));
    ck_assert_msg (strstr (error->message, "checkpoint is of ImageNet_CNN"), "%s", error->message);
    g_clear_error (&error);
    mm_net_free (hybrid);
  }
  ck_assert (mm_model_load (ck, NULL, &error) == NULL);
  ck_assert_msg (strstr (error->message, "is a training checkpoint"), "%s", error->message);
  g_clear_error (&error);

  /* the same run resumes (to a second epoch) */
  net = mm_net_new (MM_ARCH_IMAGENET_CNN, 11);
  cfg.resume = TRUE;
  ck_assert (mm_train (net, &cfg, tr, va, &res, NULL));
  ck_assert_int_eq (res.resumed_after, 1);
  ck_assert_int_eq (res.epochs_run, 2);
  mm_net_free (net);
  g_free (ck);
  g_free (model);
  mm_test_tmp_dir_remove (dir);
  mm_dataset_free (tr);
  mm_dataset_free (va);
}
END_TEST

/* Blanks @from up to (not including) @to in @bytes's header (the run is
 * JSON text inside it, so spaces keep both valid and the header's length). */
static void
blank_between (char *bytes, gsize len, const char *from, const char *to)
{
  /* past the header's 8-byte length, whose zero bytes would end the search */
  char *at = g_strstr_len (bytes + 8, (gssize) len - 8, from);
  char *end = at ? (to ? strstr (at + 1, to) : at + strlen (from)) : NULL;

  ck_assert_msg (at && end, "the checkpoint holds %s", from);
  memset (at, ' ', (size_t) (end - at));
}

/* A checkpoint written before label smoothing and the weights' moving
 * average existed has no such keys in its run identity, nor the live
 * weights' best beside the kept one (made here by blanking them out of a
 * new one): it resumes a run without them, and only such a run. */
START_TEST (test_train_resumes_an_older_checkpoint)
{
  MmDataset *tr = synthetic_images (32, 1), *va = synthetic_images (16, 2);
  char *dir = mm_test_tmp_dir_new ("resume-old");
  char *ck = g_build_filename (dir, "run.ckpt", NULL);
  MmNet *net = mm_net_new (MM_ARCH_IMAGENET_CNN, 11);
  MmTrainConfig cfg;
  MmTrainResult res;
  char *bytes;
  gsize len;

  resume_config (&cfg, MM_ARCH_IMAGENET_CNN);
  cfg.epochs = 1;
  cfg.checkpoint = ck;
  ck_assert (mm_train (net, &cfg, tr, va, &res, NULL));
  mm_net_free (net);
  ck_assert (g_file_get_contents (ck, &bytes, &len, NULL));
  blank_between (bytes, len, ",\\\"label_smoothing\\\":\\\"0\\\"", NULL);
  blank_between (bytes, len, ",\\\"ema\\\":\\\"0\\\"", NULL);
  blank_between (bytes, len, ",\\\"live_best_val_accuracy\\\"", ",\\\"shuffle_rng\\\"");
  ck_assert (g_file_set_contents (ck, bytes, (gssize) len, NULL));
  g_free (bytes);

  cfg.epochs = 2;
  cfg.label_smoothing = 0.1f;
  assert_resume_refused (&cfg, tr, va, MM_ERROR_MISMATCH,
      "label_smoothing 0, this run has 0.100000001");
  cfg.label_smoothing = 0;
  cfg.ema = 0.9f;
  assert_resume_refused (&cfg, tr, va, MM_ERROR_MISMATCH, "ema 0, this run has 0.899999976");
  cfg.ema = 0;
  net = mm_net_new (MM_ARCH_IMAGENET_CNN, 11);
  cfg.resume = TRUE;
  ck_assert (mm_train (net, &cfg, tr, va, &res, NULL));
  ck_assert_int_eq (res.resumed_after, 1);
  mm_net_free (net);
  g_free (ck);
  mm_test_tmp_dir_remove (dir);
  mm_dataset_free (tr);
  mm_dataset_free (va);
}
END_TEST

START_TEST (test_train_refuses_missing_modality_and_bad_settings)
{
  MmDataset *img_only = mm_dataset_new (10, TRUE, FALSE);
  MmNet *net = mm_net_new (MM_ARCH_HYBRIDNET_CNN, 1);
  MmTrainConfig cfg;
  MmTrainResult res;
  GError *error = NULL;

  mm_train_config_init (&cfg, MM_ARCH_HYBRIDNET_CNN);
  ck_assert (!mm_train (net, &cfg, img_only, img_only, &res, &error));
  ck_assert (strstr (error->message, "audio") != NULL);
  g_clear_error (&error);
  mm_net_free (net);
  net = mm_net_new (MM_ARCH_IMAGENET_CNN, 1);
  cfg.batch = 1;
  ck_assert (!mm_train (net, &cfg, img_only, img_only, &res, &error));
  ck_assert (strstr (error->message, "batch") != NULL);
  g_clear_error (&error);
  mm_net_free (net);
  mm_dataset_free (img_only);
}
END_TEST

/* mm_train refuses noise smoothing for @arch on @ds with @augment (a kind
 * list, NULL: none), naming it. */
static void
assert_noise_smoothing_refused (MmArch arch, const char *augment, MmDataset *ds)
{
  MmNet *net = mm_net_new (arch, 1);
  MmTrainConfig cfg;
  MmTrainResult res;
  MmAugment aug;
  GError *error = NULL;

  mm_train_config_init (&cfg, arch);
  if (augment) {
    mm_augment_init (&aug);
    ck_assert (mm_augment_parse (&aug, augment, NULL));
    cfg.augment = &aug;
  }
  cfg.noise_smoothing = 0.5f;
  ck_assert (!mm_train (net, &cfg, ds, ds, &res, &error));
  ck_assert_msg (strstr (error->message, "noise smoothing") != NULL, "%s", error->message);
  g_clear_error (&error);
  mm_net_free (net);
}

/* The noise smoothing of a sample: all of it at and below −5 dB, half way
 * at 7.5 dB, none at and above 20 dB nor without noise (+∞); and a run
 * whose samples get no noise (an image network, or no noise kind on) is
 * refused rather than silently trained without it, and so is a hybrid's
 * (its image still tells the digit of a drowned word). */
START_TEST (test_noise_smoothing_ramp_and_refusals)
{
  MmDataset *img_only = mm_dataset_new (10, TRUE, FALSE);
  MmDataset *audio_only = mm_dataset_new (10, FALSE, TRUE);
  MmDataset *both = mm_dataset_new (10, TRUE, TRUE);

  ck_assert_float_eq_tol (mm_train_noise_smoothing (0.5f, -30.0f), 0.5f, 1e-7f);
  ck_assert_float_eq_tol (mm_train_noise_smoothing (0.5f, -5.0f), 0.5f, 1e-7f);
  ck_assert_float_eq_tol (mm_train_noise_smoothing (0.5f, 7.5f), 0.25f, 1e-6f);
  ck_assert_float_eq_tol (mm_train_noise_smoothing (0.5f, 20.0f), 0.0f, 1e-7f);
  ck_assert (mm_train_noise_smoothing (0.5f, INFINITY) == 0.0f);
  ck_assert (mm_train_noise_smoothing (0.0f, -10.0f) == 0.0f);

  assert_noise_smoothing_refused (MM_ARCH_IMAGENET_CNN, NULL, img_only);
  assert_noise_smoothing_refused (MM_ARCH_AUDIONET_CNN, "specaug", audio_only);
  assert_noise_smoothing_refused (MM_ARCH_HYBRIDNET_CNN, "specaug,white", both);
  mm_dataset_free (both);
  mm_dataset_free (img_only);
  mm_dataset_free (audio_only);
}
END_TEST

/* The predicates mm_train and the CLI both decide by: noise smoothing for
 * an audio-only network with an additive noise kind on (not SpecAugment
 * alone, nor no augmentation, nor a hybrid or the image network); modality
 * dropout for the two hybrids only. */
START_TEST (test_options_apply_to_the_runs_they_need)
{
  MmAugment white, masks;

  mm_augment_init (&white);
  ck_assert (mm_augment_parse (&white, "speed,white", NULL));
  mm_augment_init (&masks);
  ck_assert (mm_augment_parse (&masks, "specaug", NULL));
  ck_assert (mm_train_noise_smoothing_applies (MM_ARCH_AUDIONET_CNN, &white));
  ck_assert (mm_train_noise_smoothing_applies (MM_ARCH_AUDIONET_LSTM, &white));
  ck_assert (!mm_train_noise_smoothing_applies (MM_ARCH_AUDIONET_CNN, &masks));
  ck_assert (!mm_train_noise_smoothing_applies (MM_ARCH_AUDIONET_CNN, NULL));
  ck_assert (!mm_train_noise_smoothing_applies (MM_ARCH_HYBRIDNET_CNN, &white));
  ck_assert (!mm_train_noise_smoothing_applies (MM_ARCH_HYBRIDNET_CNN_LSTM, &white));
  ck_assert (!mm_train_noise_smoothing_applies (MM_ARCH_IMAGENET_CNN, &white));

  ck_assert (mm_train_modality_dropout_applies (MM_ARCH_HYBRIDNET_CNN));
  ck_assert (mm_train_modality_dropout_applies (MM_ARCH_HYBRIDNET_CNN_LSTM));
  ck_assert (!mm_train_modality_dropout_applies (MM_ARCH_IMAGENET_CNN));
  ck_assert (!mm_train_modality_dropout_applies (MM_ARCH_AUDIONET_CNN));
  ck_assert (!mm_train_modality_dropout_applies (MM_ARCH_AUDIONET_LSTM));
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("train");
  TCase *tc = tcase_create ("train");
  tcase_set_timeout (tc, 300);
  tcase_add_test (tc, test_adam_first_step_moves_by_lr_times_sign);
  tcase_add_test (tc, test_adam_second_step_matches_closed_form);
  tcase_add_test (tc, test_plateau_reduces_after_patience_epochs_without_gain);
  tcase_add_test (tc, test_confusion_accuracy_and_macro_f1);
  tcase_add_test (tc, test_ece_by_hand);
  tcase_add_test (tc, test_temperature_fit_recovers_the_true_temperature);
  tcase_add_test (tc, test_temperature_fit_at_its_bound_says_so);
  tcase_add_test (tc, test_recipe_calibrate_refuses_a_temperature_at_its_bound);
  tcase_add_test (tc, test_cross_calibrate_pools_and_leaves_one_out);
  tcase_add_loop_test (tc, test_train_learns_a_separable_problem, 0, MM_N_ARCH);
  tcase_add_test (tc, test_predict_refuses_non_finite_outputs);
  tcase_add_test (tc, test_score_is_predict_and_ece);
  tcase_add_test (tc, test_scores_mean_decides_on_the_mean);
  tcase_add_test (tc, test_score_of_views_is_the_mean_of_logits);
  tcase_add_test (tc, test_dataset_head_copies_the_first_samples);
  tcase_add_test (tc, test_train_is_reproducible_for_a_seed);
  tcase_add_test (tc, test_train_mixup_reproducible_and_learns);
  tcase_add_test (tc, test_train_ema_averages_every_step);
  tcase_add_test (tc, test_train_ema_keeps_the_live_run);
  tcase_add_test (tc, test_train_stops_early_without_progress);
  tcase_add_loop_test (tc, test_train_resumes_bit_for_bit, 0, MM_N_ARCH);
  tcase_add_test (tc, test_train_refuses_a_resume_of_another_run);
  tcase_add_test (tc, test_train_resumes_an_older_checkpoint);
  tcase_add_test (tc, test_train_refuses_missing_modality_and_bad_settings);
  tcase_add_test (tc, test_noise_smoothing_ramp_and_refusals);
  tcase_add_test (tc, test_options_apply_to_the_runs_they_need);
  suite_add_tcase (s, tc);
  return mm_test_run_suite (s);
}
