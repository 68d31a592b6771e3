/* The training recipe shared by `mmdigits train` and mmtrain (mm-recipe.h):
 * the seeded split, the norm, the provenance field set and the save. */
#include <json-glib/json-glib.h>
#include <string.h>

#include "mm-modelfile.h"
#include "mm-recipe.h"
#include "mm-test-util.h"

/* A set of @n samples whose label is their index, so a subset says which
 * samples it took. */
static MmDataset *
numbered_set (int n, gboolean with_audio)
{
  MmDataset *ds = mm_dataset_new (n, !with_audio, with_audio);

  for (int i = 0; i < n; i++)
    ds->labels[i] = i;
  if (with_audio)
    mm_test_fill_uniform (ds->audio, (size_t) n * MM_AUDIO_VALUES, -3, 5, 11);
  return ds;
}

/* The split mmtrain made before the recipe moved to core (stream 0x5b1 of
 * PCG32, seed 7, 10 samples, fraction 0.2): a seed must keep splitting a
 * stream's samples as it did, so the order is pinned, not recomputed. */
static const int pinned_val[2] = { 6, 0 };

START_TEST (test_split_is_seeded_disjoint_and_as_before)
{
  MmDataset *all = numbered_set (10, FALSE), *tr, *va, *tr2, *va2;
  gboolean seen[10] = { FALSE };

  ck_assert (mm_recipe_split (all, 0.2, 7, &tr, &va));
  ck_assert_int_eq (va->n, 2);
  ck_assert_int_eq (tr->n, 8);
  for (int i = 0; i < va->n; i++)
    ck_assert_int_eq (va->labels[i], pinned_val[i]);
  for (int i = 0; i < va->n; i++)
    seen[va->labels[i]] = TRUE;
  for (int i = 0; i < tr->n; i++) {
    ck_assert_msg (!seen[tr->labels[i]], "sample %d both trains and validates", tr->labels[i]);
    seen[tr->labels[i]] = TRUE;
  }
  for (int i = 0; i < 10; i++)
    ck_assert_msg (seen[i], "sample %d is in neither set", i);

  /* the same seed, the same split */
  ck_assert (mm_recipe_split (all, 0.2, 7, &tr2, &va2));
  ck_assert_mem_eq (tr->labels, tr2->labels, sizeof (int) * 8);
  ck_assert_mem_eq (va->labels, va2->labels, sizeof (int) * 2);
  mm_dataset_free (tr);
  mm_dataset_free (va);
  mm_dataset_free (tr2);
  mm_dataset_free (va2);
  mm_dataset_free (all);
}
END_TEST

/* Another seed gives another validation set (of 45 possible pairs, at
 * least one of five seeds differs from seed 7's). */
START_TEST (test_split_follows_the_seed)
{
  MmDataset *all = numbered_set (10, FALSE), *tr, *va;
  gboolean differs = FALSE;

  for (guint64 seed = 1; seed <= 5; seed++) {
    ck_assert (mm_recipe_split (all, 0.2, seed, &tr, &va));
    differs |= va->labels[0] != pinned_val[0] || va->labels[1] != pinned_val[1];
    mm_dataset_free (tr);
    mm_dataset_free (va);
  }
  ck_assert (differs);
  mm_dataset_free (all);
}
END_TEST

/* Too few samples to hold 2 out: no split, both sets are everything. */
START_TEST (test_split_too_small_validates_on_all)
{
  MmDataset *all = numbered_set (4, FALSE), *tr, *va;

  ck_assert (!mm_recipe_split (all, 0.2, 1, &tr, &va));    /* round(0.8) = 1 < 2 */
  ck_assert_int_eq (tr->n, 4);
  ck_assert_int_eq (va->n, 4);
  for (int i = 0; i < 4; i++) {
    ck_assert_int_eq (tr->labels[i], i);
    ck_assert_int_eq (va->labels[i], i);
  }
  mm_dataset_free (tr);
  mm_dataset_free (va);
  mm_dataset_free (all);
}
END_TEST

/* An audio net's norm takes the set's MFCC statistics; an image net's
 * norm stays the study's. */
START_TEST (test_norm_from_training_audio)
{
  MmDataset *ds = numbered_set (50, TRUE);
  MmNet *audio = mm_net_new (MM_ARCH_AUDIONET_CNN, 1);
  MmNet *image = mm_net_new (MM_ARCH_IMAGENET_CNN, 1);
  MmNorm before = *mm_net_norm (image);
  float mean[MM_MFCC_COEFFS], std[MM_MFCC_COEFFS];

  mm_dataset_audio_stats (ds, mean, std);
  mm_recipe_norm (audio, ds);
  mm_recipe_norm (image, ds);
  for (int k = 0; k < MM_MFCC_COEFFS; k++) {
    ck_assert_float_eq (mm_net_norm (audio)->mfcc_mean[k], mean[k]);
    ck_assert_float_eq (mm_net_norm (audio)->mfcc_std[k], std[k]);
    /* uniform in [-3, 5): mean 1, std 8/sqrt(12) ≈ 2.31, within sampling error */
    ck_assert_float_eq_tol (mean[k], 1.0f, 0.6f);
    ck_assert_float_eq_tol (std[k], 2.31f, 0.5f);
  }
  ck_assert_mem_eq (mm_net_norm (image), &before, sizeof before);
  mm_net_free (audio);
  mm_net_free (image);
  mm_dataset_free (ds);
}
END_TEST

static JsonObject *
parse_object (const char *text, JsonParser **parser)
{
  *parser = json_parser_new ();
  ck_assert (json_parser_load_from_data (*parser, text, -1, NULL));
  return json_node_get_object (json_parser_get_root (*parser));
}

/* The members every training run records, CLI and element alike. */
static const char *const common[] = {
  "data", "init_model", "samples", "seed", "epochs", "best_epoch", "lr", "batch",
  "val_accuracy", "date", "tool", "arch", NULL
};

/* The CLI's run and the element's run write one field set: the common
 * members always, the optional ones exactly when they have a value. */
START_TEST (test_provenance_field_sets)
{
  MmTrainConfig cfg;
  MmTrainResult res = { .epochs_run = 4, .best_epoch = 3, .best_val_accuracy = 0.75f,
    .seconds = 12.4 };
  MmConfusion test, heldout;
  MmRecipeProvenance cli, element;
  JsonParser *pc, *pe;
  JsonObject *oc, *oe;
  char *jc, *je;

  g_unsetenv ("SOURCE_DATE_EPOCH");
  mm_train_config_init (&cfg, MM_ARCH_AUDIONET_CNN);
  cfg.seed = 5;
  cfg.modality_dropout = 0.3f;
  mm_confusion_init (&test);
  mm_confusion_init (&heldout);
  mm_confusion_add (&test, 1, 1);
  mm_confusion_add (&test, 2, 3);
  mm_confusion_add (&heldout, 4, 4);
  cli = (MmRecipeProvenance) { .tool = "mmdigits", .command = "mmdigits train -a x",
    .data = "d", .protocol = "clean", .split_seed = 2019, .samples = 51000,
    .arch = MM_ARCH_AUDIONET_CNN, .cfg = &cfg, .res = &res, .test = &test,
    .heldout = &heldout, .augment_json = "{\"kinds\":{}}", .temperature = 1.5f };
  element = (MmRecipeProvenance) { .tool = "mmtrain", .data = "stream",
    .init_model = "in.safetensors", .samples = 20, .arch = MM_ARCH_IMAGENET_CNN,
    .cfg = &cfg, .res = &res };
  cfg.modality_dropout = 0;
  je = mm_recipe_provenance_json (&element);
  cfg.modality_dropout = 0.3f;
  jc = mm_recipe_provenance_json (&cli);
  oc = parse_object (jc, &pc);
  oe = parse_object (je, &pe);
  for (int i = 0; common[i]; i++) {
    ck_assert_msg (json_object_has_member (oc, common[i]), "CLI lacks %s", common[i]);
    ck_assert_msg (json_object_has_member (oe, common[i]), "element lacks %s", common[i]);
  }
  ck_assert (json_object_get_null_member (oc, "init_model"));
  ck_assert_str_eq (json_object_get_string_member (oe, "init_model"), "in.safetensors");
  ck_assert (g_str_has_prefix (json_object_get_string_member (oc, "tool"), "mmdigits "));
  ck_assert (g_str_has_prefix (json_object_get_string_member (oe, "tool"), "mmtrain "));
  ck_assert_str_eq (json_object_get_string_member (oe, "arch"), "ImageNet_CNN");
  ck_assert_int_eq (json_object_get_int_member (oe, "samples"), 20);
  ck_assert_int_eq (json_object_get_int_member (oc, "best_epoch"), 3);
  ck_assert_double_eq_tol (json_object_get_double_member (oe, "val_accuracy"), 0.75, 1e-7);
  ck_assert_double_eq_tol (json_object_get_double_member (oc, "test_accuracy"), 0.5, 1e-12);
  ck_assert_double_eq_tol (json_object_get_double_member (oc, "heldout_accuracy"), 1.0, 1e-12);
  ck_assert_double_eq_tol (json_object_get_double_member (oc, "modality_dropout"), 0.3, 1e-12);
  ck_assert_double_eq_tol (json_object_get_double_member (oc, "temperature"), 1.5, 1e-7);
  ck_assert_double_eq_tol (json_object_get_double_member (oc, "train_seconds"), 12, 1e-12);
  ck_assert_int_eq (json_object_get_int_member (oc, "split_seed"), 2019);
  ck_assert_str_eq (json_object_get_string_member (oc, "command"), "mmdigits train -a x");
  ck_assert (json_object_has_member (oc, "augment"));
  /* the element: no protocol, no test, no calibration, no augmentation */
  for (const char *const *m = (const char *const[]) { "protocol", "split_seed", "test_accuracy",
           "heldout_accuracy", "heldout_macro_f1", "augment", "synthetic", "modality_dropout",
           "temperature", "calibration", "command", NULL }; *m; m++)
    ck_assert_msg (!json_object_has_member (oe, *m), "element writes %s", *m);
  ck_assert (json_object_has_member (oe, "train_seconds"));
  ck_assert (!json_object_has_member (oc, "temperature_at_bound"));
  g_object_unref (pc);
  g_object_unref (pe);
  g_free (jc);
  g_free (je);
  /* a fit at its bound (train keeps T = 1): no "temperature", so a reader
   * takes T = 1 as for any uncalibrated file; the bound and why instead */
  cli.temperature = 0;
  cli.temperature_bound = 0.05f;
  jc = mm_recipe_provenance_json (&cli);
  oc = parse_object (jc, &pc);
  ck_assert (!json_object_has_member (oc, "temperature"));
  ck_assert_double_eq_tol (json_object_get_double_member (oc, "temperature_at_bound"), 0.05, 1e-7);
  ck_assert_msg (strstr (json_object_get_string_member (oc, "calibration"), "not identifiable"),
      "%s", json_object_get_string_member (oc, "calibration"));
  g_object_unref (pc);
  g_free (jc);
}
END_TEST

/* Under SOURCE_DATE_EPOCH the same run gives the same text, without the
 * wall-clock seconds. */
START_TEST (test_provenance_reproducible)
{
  MmTrainConfig cfg;
  MmTrainResult res = { .epochs_run = 1, .best_epoch = 1, .seconds = 3 };
  MmRecipeProvenance p;
  char *a, *b;

  mm_train_config_init (&cfg, MM_ARCH_IMAGENET_CNN);
  p = (MmRecipeProvenance) { .tool = "mmtrain", .data = "stream", .samples = 2,
    .arch = MM_ARCH_IMAGENET_CNN, .cfg = &cfg, .res = &res };
  g_setenv ("SOURCE_DATE_EPOCH", "1700000000", TRUE);
  a = mm_recipe_provenance_json (&p);
  res.seconds = 99;
  b = mm_recipe_provenance_json (&p);
  g_unsetenv ("SOURCE_DATE_EPOCH");
  ck_assert_str_eq (a, b);
  ck_assert_ptr_null (strstr (a, "train_seconds"));
  g_free (a);
  g_free (b);
}
END_TEST

/* The save records the front end for a net that hears audio, none for an
 * image net, and the provenance as given. */
START_TEST (test_save_records_front_end_and_provenance)
{
  char *dir = mm_test_tmp_dir_new ("recipe");
  char *pa = g_build_filename (dir, "a.safetensors", NULL);
  char *pi = g_build_filename (dir, "i.safetensors", NULL);
  MmNet *audio = mm_net_new (MM_ARCH_AUDIONET_CNN, 1);
  MmNet *image = mm_net_new (MM_ARCH_IMAGENET_CNN, 1);
  MmMfccParams fe, back;
  MmModelMeta meta = { 0 };
  MmNet *loaded;
  GError *error = NULL;

  mm_mfcc_params_init (&fe);
  fe.preemph = 0.9f;
  ck_assert (mm_recipe_save (audio, &fe, "{\"x\":1}", pa, &error));
  ck_assert (mm_recipe_save (image, &fe, "{\"y\":2}", pi, &error));
  loaded = mm_model_load (pa, &meta, &error);
  ck_assert_ptr_nonnull (loaded);
  ck_assert_ptr_nonnull (meta.mfcc_json);
  ck_assert (mm_mfcc_params_from_json (meta.mfcc_json, &back, NULL));
  ck_assert (mm_mfcc_params_equal (&fe, &back, NULL));
  ck_assert_str_eq (meta.provenance_json, "{\"x\":1}");
  mm_net_free (loaded);
  mm_model_meta_clear (&meta);
  loaded = mm_model_load (pi, &meta, &error);
  ck_assert_ptr_nonnull (loaded);
  ck_assert_ptr_null (meta.mfcc_json);
  ck_assert_str_eq (meta.provenance_json, "{\"y\":2}");
  mm_net_free (loaded);
  mm_model_meta_clear (&meta);
  mm_net_free (audio);
  mm_net_free (image);
  g_free (pa);
  g_free (pi);
  mm_test_tmp_dir_remove (dir);
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("recipe");
  TCase *tc = tcase_create ("recipe");

  tcase_add_test (tc, test_split_is_seeded_disjoint_and_as_before);
  tcase_add_test (tc, test_split_follows_the_seed);
  tcase_add_test (tc, test_split_too_small_validates_on_all);
  tcase_add_test (tc, test_norm_from_training_audio);
  tcase_add_test (tc, test_provenance_field_sets);
  tcase_add_test (tc, test_provenance_reproducible);
  tcase_add_test (tc, test_save_records_front_end_and_provenance);
  suite_add_tcase (s, tc);
  return mm_test_run_suite (s);
}
