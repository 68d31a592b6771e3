/* mmdigits CLI — the front-end options shared by train and mfcc (mm-cli.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mm-cli.h"
#include "mm-error.h"
#include "mm-frontend.h"
#include "mm-modelset.h"

struct _MmCliFrontend {
  int nfft, filters, lifter;
  double low_freq, high_freq, preemph;
  char *cmvn, *word_cut, *model;
  gboolean dc_block;
};

MmCliFrontend *
mm_cli_frontend_new (void)
{
  MmCliFrontend *f = g_new0 (MmCliFrontend, 1);

  /* "not given": keep the value of the defaults (or of --model); a value
   * given is in its range (mm_cli_option_group), never one of these */
  f->nfft = f->filters = f->lifter = -1;
  f->low_freq = f->high_freq = f->preemph = NAN;
  return f;
}

void
mm_cli_frontend_free (MmCliFrontend *f)
{
  if (!f)
    return;
  g_free (f->cmvn);
  g_free (f->word_cut);
  g_free (f->model);
  g_free (f);
}

GOptionGroup *
mm_cli_frontend_group (MmCliFrontend *f, gboolean with_model)
{
  GOptionEntry entries[] = {
    { "nfft", 0, 0, G_OPTION_ARG_INT, &f->nfft, "FFT size: 1024 (default) or 512 (the study's)", "N" },
    { "filters", 0, 0, G_OPTION_ARG_INT, &f->filters, "Mel filters (default 26)", "N" },
    { "low-freq", 0, 0, G_OPTION_ARG_DOUBLE, &f->low_freq, "Lowest edge of the mel filters, Hz (default 0)", "HZ" },
    { "high-freq", 0, 0, G_OPTION_ARG_DOUBLE, &f->high_freq, "Highest edge of the mel filters, Hz (default 8000)", "HZ" },
    { "preemph", 0, 0, G_OPTION_ARG_DOUBLE, &f->preemph, "Pre-emphasis coefficient (default 0.97; 0 = off)", "K" },
    { "lifter", 0, 0, G_OPTION_ARG_INT, &f->lifter, "Cepstral lifter (default 22; 0 = off)", "L" },
    { "cmvn", 0, 0, G_OPTION_ARG_STRING, &f->cmvn, "Per-utterance normalisation: none (default), mean, mean+var", "MODE" },
    { "dc-block", 0, 0, G_OPTION_ARG_NONE, &f->dc_block, "Remove DC before cutting and analysing (default off)", NULL },
    { "word-cut", 0, 0, G_OPTION_ARG_STRING, &f->word_cut, "A recording is the word (whole, default) or the word detector cuts it (detector)", "HOW" },
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &f->model, "Start from this model's front end (its \"mfcc\" metadata)", "FILE" },
    { NULL }
  };
  /* the core's limits (mm_mfcc_params check, 16 kHz, 13 coefficients);
   * nfft as the networks' front ends allow */
  const MmCliRange ranges[] = {
    { "nfft", MM_FRONTEND_NFFT_MIN, MM_FRONTEND_NFFT_MAX, TRUE },
    { "filters", 13, 1024, FALSE },
    { "low-freq", 0, 8000, FALSE },
    { "high-freq", 0, 8000, FALSE },
    { "preemph", 0, 0.999, FALSE },
    { "lifter", 0, 1000, FALSE },
    { NULL }
  };

  if (!with_model)
    memset (&entries[G_N_ELEMENTS (entries) - 2], 0, sizeof entries[0]);
  return mm_cli_option_group ("frontend", "Audio front end (recorded in the model):",
      "Show the audio front-end options", entries, ranges);
}

const char *
mm_cli_frontend_model (const MmCliFrontend *f)
{
  return f->model;
}

gboolean
mm_cli_frontend_params (const MmCliFrontend *f, MmMfccParams *p, gboolean *usage,
    GError **error)
{
  *usage = TRUE;
  mm_mfcc_params_init (p);
  if (f->model) {
    /* a file, or a directory whose audio networks share one front end */
    MmModelSet *set = mm_model_set_open (f->model, error);
    gboolean ok = set && mm_model_set_frontend (set, p, error);

    mm_model_set_free (set);
    *usage = FALSE;
    if (!ok)
      return FALSE;
    *usage = TRUE;
  }
  if (f->cmvn && !mm_cmvn_from_name (f->cmvn, &p->cmvn)) {
    g_set_error (error, MM_ERROR, MM_ERROR_INVALID, "--cmvn must be none, mean or mean+var");
    return FALSE;
  }
  if (f->word_cut && !mm_word_cut_from_name (f->word_cut, &p->word_cut)) {
    g_set_error (error, MM_ERROR, MM_ERROR_INVALID, "--word-cut must be whole or detector");
    return FALSE;
  }
  if (f->nfft != -1)
    p->nfft = f->nfft;
  if (f->filters != -1)
    p->n_filters = f->filters;
  if (f->lifter != -1)
    p->lifter = f->lifter;
  if (!isnan (f->low_freq))
    p->low_freq = (float) f->low_freq;
  if (!isnan (f->high_freq))
    p->high_freq = (float) f->high_freq;
  if (!isnan (f->preemph))
    p->preemph = (float) f->preemph;
  if (f->dc_block)
    p->dc_block = TRUE;
  return mm_frontend_check_network (p, error);
}
