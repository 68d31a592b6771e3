/* mmdigits — the command-line tool: train, evaluate, predict and inspect. */
#include "mm-config.h"

#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mm-cli.h"
#include "mm-layers.h"

typedef struct {
  const char *name;
  int (*run) (int argc, char **argv);
  const char *summary;
} Command;

static const Command commands[] = {
  { "models", mm_cmd_models, "list the five networks with their parameter counts" },
  { "train", mm_cmd_train, "train a network (--arch, --data, --out)" },
  { "eval", mm_cmd_eval, "evaluate a model file on the split test and held-out test sets" },
  { "inspect", mm_cmd_inspect, "describe model files: arch, tensors, normalisation, provenance" },
  { "demo-media", mm_cmd_demo, "make a demo video of drawn and spoken digits (--out DIR)" },
  { "mfcc", mm_cmd_mfcc, "the 39×13 MFCC block of an audio file (--out FILE.f32 or --json)" },
  { "words", mm_cmd_words, "where the word detector finds words in audio files" },
  { "predict", mm_cmd_predict, "classify an image and/or a recording with the pipeline's elements" },
  { "batch", mm_cmd_batch, "classify many media files in parallel into a JSON-lines file" },
};

int
mm_cli_fail (const char *fmt, ...)
{
  va_list ap;
  char *msg;

  va_start (ap, fmt);
  msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  /* one line, whatever the message holds */
  g_strdelimit (msg, "\n", ' ');
  fprintf (stderr, "mmdigits: %s\n", msg);
  g_free (msg);
  return MM_EXIT_FAILURE;
}

gboolean
mm_cli_parse (GOptionContext *ctx, int *argc, char ***argv)
{
  GError *error = NULL;

  if (!g_option_context_parse (ctx, argc, argv, &error)) {
    fprintf (stderr, "mmdigits: %s (see --help)\n", error->message);
    g_error_free (error);
    return FALSE;
  }
  return TRUE;
}

/* --data, else $MMDIGITS_DATA, else ../shared/data beside the working
 * directory (where a checkout sits next to the data sets): a decision of
 * the command-line tool, which the library never makes for its host. */
static char *
default_data_dir (void)
{
  const char *env = g_getenv ("MMDIGITS_DATA");

  if (env && *env)
    return g_strdup (env);
  if (g_file_test ("../shared/data", G_FILE_TEST_IS_DIR))
    return g_canonicalize_filename ("../shared/data", NULL);
  return NULL;
}

char *
mm_cli_data_dir (const char *opt)
{
  char *dir = opt ? g_strdup (opt) : default_data_dir ();

  if (!dir || !g_file_test (dir, G_FILE_TEST_IS_DIR)) {
    mm_cli_fail ("no data directory%s%s: pass --data DIR or set MMDIGITS_DATA",
        dir ? " at " : "", dir ? dir : "");
    g_free (dir);
    return NULL;
  }
  return dir;
}

void
mm_cli_set_threads (int threads)
{
  if (threads > 0)
    mm_set_threads (threads);
}

static void
usage (FILE *out)
{
  fprintf (out, "Usage: mmdigits COMMAND [OPTIONS]\n\nCommands:\n");
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf (out, "\n'mmdigits COMMAND --help' describes a command's options.\n"
      "Data sets are read from --data, $MMDIGITS_DATA or ../shared/data.\n");
}

int
main (int argc, char **argv)
{
  /* GOption prints help in the locale's charset: without this, "39×13" shows as "39?13" */
  setlocale (LC_ALL, "");
  if (argc < 2) {
    usage (stderr);
    return MM_EXIT_USAGE;
  }
  if (!strcmp (argv[1], "--help") || !strcmp (argv[1], "-h") || !strcmp (argv[1], "help")) {
    usage (stdout);
    return MM_EXIT_OK;
  }
  if (!strcmp (argv[1], "--version")) {
    printf ("mmdigits %s\n", VERSION);
    return MM_EXIT_OK;
  }
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (!strcmp (argv[1], commands[i].name)) {
      /* the sub-command sees "mmdigits COMMAND" as its program name */
      argv[1] = g_strdup_printf ("mmdigits %s", argv[1]);
      return commands[i].run (argc - 1, argv + 1);
    }
  fprintf (stderr, "mmdigits: unknown command '%s'\n", argv[1]);
  usage (stderr);
  return MM_EXIT_USAGE;
}
