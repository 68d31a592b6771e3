/* The five networks: shapes and parameter counts equal PyTorch's, gradients
 * of the whole network match finite differences, modes behave. */
#include <math.h>
#include <string.h>

#include "mm-net.h"
#include "mm-test-util.h"

static const size_t expected_params[MM_N_ARCH] = {
  421834, 241610, 58314, 695306, 516810,
};

START_TEST (test_net_parameter_counts_equal_pytorch)
{
  for (int a = 0; a < MM_N_ARCH; a++) {
    MmNet *net = mm_net_new ((MmArch) a, 1);
    size_t sum = 0;
    for (int i = 0; i < mm_net_n_tensors (net); i++) {
      const MmTensorInfo *t = mm_net_tensor (net, i);
      if (t->grad)
        sum += t->size;
    }
    ck_assert_msg (mm_net_n_params (net) == expected_params[a], "%s: %zu parameters",
        mm_arch_name (a), mm_net_n_params (net));
    ck_assert_uint_eq (sum, expected_params[a]);
    mm_net_free (net);
  }
}
END_TEST

START_TEST (test_net_tensor_names_and_shapes_follow_the_model_format)
{
  MmNet *net = mm_net_new (MM_ARCH_HYBRIDNET_CNN_LSTM, 1);
  const MmTensorInfo *t;
  gboolean buffers_started = FALSE;

  t = mm_net_find_tensor (net, "image.conv1.weight");
  ck_assert (t && t->ndim == 4 && t->shape[0] == 32 && t->shape[1] == 1 && t->shape[2] == 3);
  t = mm_net_find_tensor (net, "image.fc.weight");
  ck_assert (t && t->shape[0] == 128 && t->shape[1] == 3136);
  t = mm_net_find_tensor (net, "audio.lstm.weight_ih_l0");
  ck_assert (t && t->shape[0] == 256 && t->shape[1] == 13);
  t = mm_net_find_tensor (net, "audio.lstm.weight_hh_l1");
  ck_assert (t && t->shape[0] == 256 && t->shape[1] == 64);
  t = mm_net_find_tensor (net, "audio.fc.weight");
  ck_assert (t && t->shape[0] == 128 && t->shape[1] == 64);
  t = mm_net_find_tensor (net, "fusion.fc1.weight");
  ck_assert (t && t->shape[0] == 128 && t->shape[1] == 256);
  t = mm_net_find_tensor (net, "fusion.bn.running_var");
  ck_assert (t && t->grad == NULL && t->data[0] == 1.0f);
  ck_assert (mm_net_find_tensor (net, "head.fc.weight") == NULL);
  /* parameters first, then buffers */
  for (int i = 0; i < mm_net_n_tensors (net); i++) {
    t = mm_net_tensor (net, i);
    if (!t->grad)
      buffers_started = TRUE;
    else
      ck_assert_msg (!buffers_started, "parameter %s after a buffer", t->name);
  }
  mm_net_free (net);

  net = mm_net_new (MM_ARCH_AUDIONET_CNN, 1);
  t = mm_net_find_tensor (net, "audio.fc.weight");
  ck_assert (t && t->shape[1] == 1728);   /* 64·3·9: the study's "1278" is a typo */
  t = mm_net_find_tensor (net, "head.fc.weight");
  ck_assert (t && t->shape[0] == 10 && t->shape[1] == 128);
  mm_net_free (net);
}
END_TEST

START_TEST (test_net_initialisation_is_seeded_and_bounded)
{
  MmNet *a = mm_net_new (MM_ARCH_IMAGENET_CNN, 7), *b = mm_net_new (MM_ARCH_IMAGENET_CNN, 7);
  MmNet *c = mm_net_new (MM_ARCH_IMAGENET_CNN, 8);
  const MmTensorInfo *fc = mm_net_find_tensor (a, "image.fc.weight");
  float bound = 1.0f / sqrtf (3136.0f), maxabs = 0;

  ck_assert (memcmp (mm_net_params (a), mm_net_params (b), sizeof (float) * mm_net_n_params (a)) == 0);
  ck_assert (memcmp (mm_net_params (a), mm_net_params (c), sizeof (float) * mm_net_n_params (a)) != 0);
  for (size_t i = 0; i < fc->size; i++)
    maxabs = fmaxf (maxabs, fabsf (fc->data[i]));
  /* U(±1/√fan_in): the largest of 401k draws is within 0.1 % of the bound */
  ck_assert (maxabs <= bound && maxabs > 0.99f * bound);
  mm_net_free (a);
  mm_net_free (b);
  mm_net_free (c);
}
END_TEST

/* SHA-256 of every tensor of a new network in model-file order: its name,
 * its shape and its floats (little-endian). */
static char *
initial_tensors_digest (MmArch arch, guint64 seed)
{
  GChecksum *sum = g_checksum_new (G_CHECKSUM_SHA256);
  MmNet *net = mm_net_new (arch, seed);
  char *hex;

  for (int i = 0; i < mm_net_n_tensors (net); i++) {
    const MmTensorInfo *t = mm_net_tensor (net, i);
    g_checksum_update (sum, (const guchar *) t->name, strlen (t->name) + 1);
    for (int d = 0; d < t->ndim; d++) {
      guint32 le = GUINT32_TO_LE ((guint32) t->shape[d]);
      g_checksum_update (sum, (const guchar *) &le, sizeof le);
    }
    for (size_t j = 0; j < t->size; j++) {
      guint32 bits;
      memcpy (&bits, &t->data[j], sizeof bits);
      bits = GUINT32_TO_LE (bits);
      g_checksum_update (sum, (const guchar *) &bits, sizeof bits);
    }
  }
  hex = g_strdup (g_checksum_get_string (sum));
  g_checksum_free (sum);
  mm_net_free (net);
  return hex;
}

/* The initial tensors of every network for seed 2019, as mm_net_new drew them
 * before the networks became tables (commit "nets: shapes and initialisation
 * as data"): a training run with the same seed starts from the same
 * parameters, and the tensor names, order and shapes of the model files stay
 * those of shipped models. Exact, not within a tolerance: the draws are our
 * own PCG32 stream turned into floats by integer shifts, scaled by
 * 1/sqrtf(fan_in) (IEEE, correctly rounded) with FMA contraction off
 * project-wide and no BLAS or libm approximation on the way, so the bits are
 * the same on every CPU and in every build variant. */
static const char *const initial_digest[MM_N_ARCH] = {
  "94871863097e06835e745e71184db7ce114717d3bf25521f69e75956b82f58a4",
  "2877658fec0a713a5102827015136a33778b6a7c1694057b5028af282d8863af",
  "f2a1f3252727d3259de47edc98081c9f597927b6d3fe5ef739fd86e716a3dc43",
  "c762ec09291255c558ee324058663c451642a4a52469cfbe1171684132ad6b4b",
  "4d5d2ff10b64ddab5ff5d93025d42b821a402108d9726742a209893e3a0e5d9c",
};

START_TEST (test_net_initial_tensors_are_those_of_the_reference)
{
  char *hex = initial_tensors_digest ((MmArch) _i, 2019);
  ck_assert_msg (g_str_equal (hex, initial_digest[_i]), "%s: initial tensors %s, reference %s",
      mm_arch_name ((MmArch) _i), hex, initial_digest[_i]);
  g_free (hex);
}
END_TEST

typedef struct {
  MmNet *net;
  int batch;
  float *image, *audio, *logits;
  int *labels;
} Fixture;

static Fixture *
fixture_new (MmArch arch, int batch)
{
  Fixture *f = g_new0 (Fixture, 1);
  f->net = mm_net_new (arch, 3);
  f->batch = batch;
  f->image = g_new (float, batch * MM_IMAGE_PIXELS);
  f->audio = g_new (float, batch * MM_AUDIO_VALUES);
  f->logits = g_new (float, batch * MM_N_CLASSES);
  f->labels = g_new (int, batch);
  mm_test_fill_uniform (f->image, batch * MM_IMAGE_PIXELS, -1, 1, 11);
  mm_test_fill_uniform (f->audio, batch * MM_AUDIO_VALUES, -1.5f, 1.5f, 12);
  for (int i = 0; i < batch; i++)
    f->labels[i] = (i * 3) % MM_N_CLASSES;
  return f;
}

static void
fixture_free (Fixture *f)
{
  mm_net_free (f->net);
  g_free (f->image);
  g_free (f->audio);
  g_free (f->logits);
  g_free (f->labels);
  g_free (f);
}

static void
fixture_forward (Fixture *f)
{
  MmArch arch = mm_net_arch (f->net);
  mm_net_forward (f->net, f->batch, mm_arch_uses_image (arch) ? f->image : NULL,
      mm_arch_uses_audio (arch) ? f->audio : NULL, f->logits);
}

static double
fixture_loss (gpointer data)
{
  Fixture *f = data;
  fixture_forward (f);
  return mm_net_backward (f->net, f->labels, NULL);
}

/* Training mode (batch statistics) with dropout off, so the loss is a
 * deterministic function of the parameters. Every parameter tensor is
 * checked along its gradient and along a random direction (see
 * mm_test_directional_check), step 3e-4: 2e-3 absolute + 3 % relative. Each layer's own
 * entry-wise check is in test_layers and test_lstm, and test_parity_pytorch
 * compares the whole gradient with PyTorch's to 1e-4. */
static void
check_whole_net (MmArch arch)
{
  Fixture *f = fixture_new (arch, 4);
  float *analytic = g_new (float, mm_net_n_params (f->net));

  mm_net_set_training (f->net, TRUE);
  mm_net_set_dropout (f->net, FALSE);
  fixture_loss (f);
  memcpy (analytic, mm_net_grads (f->net), sizeof (float) * mm_net_n_params (f->net));
  for (int i = 0; i < mm_net_n_tensors (f->net); i++) {
    const MmTensorInfo *t = mm_net_tensor (f->net, i);
    char *what;
    if (!t->grad)
      continue;
    what = g_strdup_printf ("%s %s", mm_arch_name (arch), t->name);
    mm_test_directional_check (what, t->data, analytic + (t->grad - mm_net_grads (f->net)),
        t->size, fixture_loss, f, 3e-4, 2e-3, 3e-2);
    g_free (what);
  }
  g_free (analytic);
  fixture_free (f);
}

START_TEST (test_net_backward_matches_finite_differences)
{
  check_whole_net ((MmArch) _i);
}
END_TEST

/* Evaluation mode: each sample's logits do not depend on the rest of the
 * batch, and dropout is off (two runs agree exactly). */
START_TEST (test_net_eval_mode_is_per_sample_and_deterministic)
{
  MmArch arch = (MmArch) _i;
  Fixture *f = fixture_new (arch, 5);
  float single[MM_N_CLASSES], again[5 * MM_N_CLASSES];

  mm_net_set_training (f->net, FALSE);
  fixture_forward (f);
  memcpy (again, f->logits, sizeof again);
  fixture_forward (f);
  ck_assert (memcmp (again, f->logits, sizeof again) == 0);
  mm_net_forward (f->net, 1, f->image + 2 * MM_IMAGE_PIXELS, f->audio + 2 * MM_AUDIO_VALUES, single);
  for (int k = 0; k < MM_N_CLASSES; k++)
    ck_assert_float_eq_tol (single[k], again[2 * MM_N_CLASSES + k], 1e-5);
  fixture_free (f);
}
END_TEST

/* The representations the figures show are what the head reads: the
 * logits are the head's (or fusion fc2's) affine map of them, and a part
 * the network does not have is NULL. */
START_TEST (test_net_embedding_is_what_the_head_reads)
{
  MmArch arch = (MmArch) _i;
  Fixture *f = fixture_new (arch, 5);
  gboolean hybrid = arch == MM_ARCH_HYBRIDNET_CNN || arch == MM_ARCH_HYBRIDNET_CNN_LSTM;
  MmEmbedding last = hybrid ? MM_EMBED_FUSED
      : mm_arch_uses_image (arch) ? MM_EMBED_IMAGE : MM_EMBED_AUDIO;
  const MmTensorInfo *w = mm_net_find_tensor (f->net, hybrid ? "fusion.fc2.weight" : "head.fc.weight");
  const MmTensorInfo *b = mm_net_find_tensor (f->net, hybrid ? "fusion.fc2.bias" : "head.fc.bias");
  const float *e;
  int dim;

  mm_net_set_training (f->net, FALSE);
  fixture_forward (f);
  ck_assert ((mm_net_embedding (f->net, MM_EMBED_IMAGE, &dim) != NULL) == mm_arch_uses_image (arch));
  ck_assert ((mm_net_embedding (f->net, MM_EMBED_AUDIO, &dim) != NULL) == mm_arch_uses_audio (arch));
  ck_assert ((mm_net_embedding (f->net, MM_EMBED_FUSED, &dim) != NULL) == hybrid);
  e = mm_net_embedding (f->net, last, &dim);
  ck_assert_int_eq (dim, w->shape[1]);
  for (int s = 0; s < 5; s++)
    for (int k = 0; k < MM_N_CLASSES; k++) {
      double z = b->data[k];
      for (int d = 0; d < dim; d++)
        z += (double) w->data[k * dim + d] * e[s * dim + d];
      ck_assert_float_eq_tol (f->logits[s * MM_N_CLASSES + k], z, 1e-4);
    }
  fixture_free (f);
}
END_TEST

/* Backward differentiates what the last forward did: switching to
 * evaluation mode between a training forward and its backward must not
 * drop the dropout masks from the gradient (nor the batch statistics). */
START_TEST (test_net_backward_follows_the_forward_not_the_current_mode)
{
  MmArch arch = (MmArch) _i;
  Fixture *a = fixture_new (arch, 4), *b = fixture_new (arch, 4);
  size_t n = mm_net_n_params (a->net);

  mm_net_set_training (a->net, TRUE);
  mm_net_set_training (b->net, TRUE);
  fixture_loss (a);
  fixture_forward (b);
  mm_net_set_training (b->net, FALSE);
  mm_net_backward (b->net, b->labels, NULL);
  ck_assert_msg (memcmp (mm_net_grads (a->net), mm_net_grads (b->net), n * sizeof (float)) == 0,
      "%s: gradients change when the mode changes between forward and backward",
      mm_arch_name (arch));
  fixture_free (a);
  fixture_free (b);
}
END_TEST

START_TEST (test_net_dropout_changes_training_outputs_only)
{
  Fixture *f = fixture_new (MM_ARCH_IMAGENET_CNN, 4);
  float a[4 * MM_N_CLASSES];

  mm_net_set_training (f->net, TRUE);
  fixture_loss (f);
  memcpy (a, f->logits, sizeof a);
  fixture_loss (f);
  ck_assert (memcmp (a, f->logits, sizeof a) != 0);
  mm_net_set_dropout (f->net, FALSE);
  fixture_loss (f);
  memcpy (a, f->logits, sizeof a);
  fixture_loss (f);
  ck_assert (memcmp (a, f->logits, sizeof a) == 0);
  fixture_free (f);
}
END_TEST

START_TEST (test_net_prepare_normalises_inputs)
{
  MmNet *net = mm_net_new (MM_ARCH_AUDIONET_CNN, 1);
  MmNorm *norm = mm_net_norm (net);
  guint8 gray[MM_IMAGE_PIXELS] = { 0 };
  float img[MM_IMAGE_PIXELS], raw[MM_AUDIO_VALUES], out[MM_AUDIO_VALUES];

  gray[0] = 255;
  mm_net_prepare_image (norm, gray, img);
  ck_assert_float_eq_tol (img[0], 1.0f, 1e-6);
  ck_assert_float_eq_tol (img[1], -1.0f, 1e-6);
  for (int k = 0; k < MM_MFCC_COEFFS; k++) {
    norm->mfcc_mean[k] = (float) k;
    norm->mfcc_std[k] = 2.0f;
  }
  for (int i = 0; i < MM_AUDIO_VALUES; i++)
    raw[i] = (float) (i % MM_MFCC_COEFFS) + 4.0f;
  mm_net_prepare_audio (norm, raw, out);
  for (int i = 0; i < MM_AUDIO_VALUES; i++)
    ck_assert_float_eq_tol (out[i], 2.0f, 1e-6);
  mm_net_free (net);
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("net");
  TCase *tc = tcase_create ("net");
  tcase_set_timeout (tc, 300);
  tcase_add_test (tc, test_net_parameter_counts_equal_pytorch);
  tcase_add_test (tc, test_net_tensor_names_and_shapes_follow_the_model_format);
  tcase_add_test (tc, test_net_initialisation_is_seeded_and_bounded);
  tcase_add_loop_test (tc, test_net_initial_tensors_are_those_of_the_reference, 0, MM_N_ARCH);
  tcase_add_loop_test (tc, test_net_backward_matches_finite_differences, 0, MM_N_ARCH);
  tcase_add_loop_test (tc, test_net_eval_mode_is_per_sample_and_deterministic, 0, MM_N_ARCH);
  tcase_add_loop_test (tc, test_net_embedding_is_what_the_head_reads, 0, MM_N_ARCH);
  tcase_add_test (tc, test_net_dropout_changes_training_outputs_only);
  tcase_add_loop_test (tc, test_net_backward_follows_the_forward_not_the_current_mode, 0,
      MM_N_ARCH);
  tcase_add_test (tc, test_net_prepare_normalises_inputs);
  suite_add_tcase (s, tc);
  return mm_test_run_suite (s);
}
