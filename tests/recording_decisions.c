/* What `mmdigits eval` decides for each of a list of recordings, for
 * tests/cli_batch.sh and bench/bench_batch.sh (batch against eval on the
 * same files). eval makes a recording's block with mm_recording_block (tools/
 * fsdd.c: the file decoded to 16 kHz, the model's word cut — a recording in
 * which the detector finds no word is taken whole, as mm_speech_load does —
 * centred, MFCC) and classifies it with the model's norm; this does the
 * same one file at a time (eval runs batches of 256: the arg-max may
 * differ only where two logits tie to the last bit). With a PARTNER (a
 * set's two audio networks, one front end: the first's) the digit is the
 * arg-max of the mean of both calibrated probabilities (mm_rows_mean), as
 * `eval --ensemble` and the model set decide. A front end with test-time
 * views decides on the mean of the logits of the block and its views'
 * blocks (mm_frontend_views_compute of the same clip), as eval, batch and
 * the model set do.
 *
 * Usage: recording_decisions MODEL.safetensors [PARTNER.safetensors] LIST
 *        → "file<TAB>digit" lines */
#include <stdio.h>
#include <string.h>

#include "fsdd.h"
#include "mm-activation.h"
#include "mm-error.h"
#include "mm-frontend.h"
#include "mm-modelfile.h"
#include "mm-net.h"

/* @net's logits of a word: of its raw @blocks (the word's and its @n - 1
 * views'), their mean (as a model with test-time views decides). */
static void
logits_of (MmNet *net, const float *blocks, int n, float *logits)
{
  float in[MM_AUDIO_VALUES], each[1 + MM_MFCC_MAX_VIEWS][MM_N_CLASSES];
  const float *rows[1 + MM_MFCC_MAX_VIEWS];

  for (int b = 0; b < n; b++) {
    mm_net_prepare_audio (mm_net_norm (net), blocks + (size_t) b * MM_AUDIO_VALUES, in);
    mm_net_forward (net, 1, NULL, in, each[b]);
    rows[b] = each[b];
  }
  mm_rows_mean (n, MM_N_CLASSES, rows, logits);
}

/* @net's calibrated probabilities of a word's @n raw blocks. */
static void
probs_of (MmNet *net, const float *blocks, int n, float *probs)
{
  float logits[MM_N_CLASSES];

  logits_of (net, blocks, n, logits);
  mm_softmax_temperature (1, MM_N_CLASSES, logits, mm_net_temperature (net), probs);
}

int
main (int argc, char **argv)
{
  MmModelMeta meta = { 0 }, partner_meta = { 0 };
  MmMfccParams p, whole;
  GError *err = NULL;
  MmNet *net, *partner = NULL;
  MmMfcc *m;
  MmFrontendViews *views;
  char *text = NULL, **lines;
  int n_blocks;

  if (argc != 3 && argc != 4) {
    fprintf (stderr, "usage: recording_decisions MODEL.safetensors [PARTNER.safetensors] LIST\n");
    return 2;
  }
  if (!(net = mm_model_load (argv[1], &meta, &err))
      || (argc == 4 && !(partner = mm_model_load (argv[2], &partner_meta, &err)))
      || !g_file_get_contents (argv[argc - 1], &text, NULL, &err)) {
    fprintf (stderr, "recording_decisions: %s\n", err->message);
    return 1;
  }
  mm_mfcc_params_init (&p);
  if (meta.mfcc_json && !mm_mfcc_params_from_json (meta.mfcc_json, &p, &err)) {
    fprintf (stderr, "recording_decisions: %s\n", err->message);
    return 1;
  }
  whole = p;
  whole.word_cut = MM_WORD_CUT_WHOLE;
  m = mm_mfcc_new (&p, NULL);
  views = mm_frontend_views_new (&p, NULL);
  n_blocks = mm_frontend_n_blocks (&p);
  mm_net_set_training (net, FALSE);
  if (partner)
    mm_net_set_training (partner, FALSE);
  lines = g_strsplit (text, "\n", -1);
  for (char **f = lines; *f; f++) {
    float block[MM_AUDIO_VALUES * (1 + MM_MFCC_MAX_VIEWS)], logits[MM_N_CLASSES];
    float clip[MM_AUDIO_RATE];
    gboolean ok;
    int best = 0;

    if (!**f)
      continue;
    ok = mm_recording_clip (&p, *f, clip, NULL, &err);
    if (!ok && g_error_matches (err, MM_ERROR, MM_ERROR_NO_WORD)) {
      g_clear_error (&err);
      ok = mm_recording_clip (&whole, *f, clip, NULL, &err);
    }
    ok = ok && mm_mfcc_compute (m, clip, MM_AUDIO_RATE, block, &err)
        && mm_frontend_views_compute (views, clip, block + MM_AUDIO_VALUES, &err);
    if (!ok) {
      fprintf (stderr, "recording_decisions: %s\n", err->message);
      return 1;
    }
    if (partner) {
      float a[MM_N_CLASSES], b[MM_N_CLASSES], mean[MM_N_CLASSES];
      const float *rows[2] = { a, b };

      probs_of (net, block, n_blocks, a);
      probs_of (partner, block, n_blocks, b);
      mm_rows_mean (2, MM_N_CLASSES, rows, mean);
      best = mm_argmax (MM_N_CLASSES, mean);
      printf ("%s\t%d\n", *f, best);
      continue;
    }
    logits_of (net, block, n_blocks, logits);
    for (int k = 1; k < MM_N_CLASSES; k++)
      if (logits[k] > logits[best])
        best = k;
    printf ("%s\t%d\n", *f, best);
  }
  g_strfreev (lines);
  g_free (text);
  mm_mfcc_free (m);
  mm_frontend_views_free (views);
  mm_model_meta_clear (&meta);
  mm_model_meta_clear (&partner_meta);
  mm_net_free (net);
  if (partner)
    mm_net_free (partner);
  return 0;
}
