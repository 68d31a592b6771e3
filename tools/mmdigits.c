/* mmdigits — the command-line tool: train, evaluate, predict and inspect. */
#include "mm-config.h"

#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "mm-cli.h"
#include "mm-error.h"
#include "mm-json.h"
#include "mm-threads.h"

typedef struct {
  const char *name;
  int (*run) (int argc, char **argv);
  const char *summary;
  gboolean needs_gst;         /* runs GStreamer pipelines (the plugin's elements, encoders) */
} Command;

#if MM_CLI_GST
#define GST_RUN(run) run
#else
/* A build without GStreamer (-Dplugin=disabled) still lists these commands,
 * so that a user learns why they do not run rather than that they do not
 * exist. */
static int
without_gst (G_GNUC_UNUSED int argc, char **argv)
{
  const char *command = strchr (argv[0], ' ');   /* argv[0] is "mmdigits COMMAND" */

  return mm_cli_fail ("%s: this mmdigits was built without GStreamer "
      "(meson setup -Dplugin=enabled builds the command)", command ? command + 1 : argv[0]);
}
#define GST_RUN(run) without_gst
#endif

MmModelSet *
mm_cli_open_model (const char *path, const char *command, const MmModel **model, GError **error)
{
  MmModelSet *set = mm_model_set_open (path, error);

  if (set && !(*model = mm_model_set_single (set))) {
    g_set_error (error, MM_ERROR, MM_ERROR_INVALID, "%s: %s takes one model file, not a "
        "directory of several", path, command);
    g_clear_pointer (&set, mm_model_set_free);
  }
  return set;
}

char *
mm_cli_recorded_protocol (const MmModelMeta *meta)
{
  JsonParser *parser;
  JsonNode *root;
  char *name = NULL;

  if (!meta->provenance_json)
    return NULL;
  parser = json_parser_new ();
  if (json_parser_load_from_data (parser, meta->provenance_json, -1, NULL)
      && (root = json_parser_get_root (parser)) && JSON_NODE_HOLDS_OBJECT (root)) {
    const char *p = json_object_get_string_member_with_default (
        json_node_get_object (root), "protocol", NULL);
    if (p && mm_protocol_check (p, NULL))
      name = g_strdup (p);
  }
  g_object_unref (parser);
  return name;
}

static const Command commands[] = {
  { "models", mm_cmd_models, "list the five networks with their parameter counts", FALSE },
  { "train", mm_cmd_train, "train a network (--arch, --data, --out)", FALSE },
  { "eval", mm_cmd_eval, "evaluate a model file on the split test and held-out test sets", FALSE },
  { "calibrate", mm_cmd_calibrate, "fit a model's calibration temperature on validation sets "
    "and write a new model file", FALSE },
  { "inspect", mm_cmd_inspect, "describe model files: arch, tensors, normalisation, provenance", FALSE },
  { "demo-media", GST_RUN (mm_cmd_demo), "make a demo video of drawn and spoken digits (--out DIR)",
    TRUE },
  { "mfcc", mm_cmd_mfcc, "the 39×13 MFCC block of an audio file (--out FILE.f32 or --json)", FALSE },
  { "words", mm_cmd_words, "where the word detector finds words in audio files", FALSE },
  { "predict", GST_RUN (mm_cmd_predict),
    "classify an image and/or a recording with the pipeline's elements", TRUE },
  { "batch", GST_RUN (mm_cmd_batch),
    "classify many media files in parallel into a JSON-lines file", TRUE },
  { "figures", mm_cmd_figures, "the study's figures, robustness curves, calibration (--out DIR)", FALSE },
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

void
mm_cli_print_json (JsonBuilder *b)
{
  char *text = mm_json_builder_to_text (b);

  printf ("%s\n", text);
  g_free (text);
  g_object_unref (b);
}

/* ---- numeric options ---------------------------------------------------
 * GOption alone takes any int for G_OPTION_ARG_INT ("--epochs -3") and any
 * double, including inf and nan, for G_OPTION_ARG_DOUBLE: each numeric
 * option is turned into a callback that parses and range-checks it, so
 * that no command sees a value outside its range and none needs its own
 * check. */

typedef struct {
  char *long_name;
  char short_name;
  GOptionArg arg;               /* G_OPTION_ARG_INT or G_OPTION_ARG_DOUBLE */
  gpointer value;               /* int * or double * */
  MmCliRange range;
} Numeric;

typedef struct {
  Numeric *items;
  int n;
} Numerics;

static void
numerics_free (gpointer p)
{
  Numerics *t = p;

  for (int i = 0; i < t->n; i++)
    g_free (t->items[i].long_name);
  g_free (t->items);
  g_free (t);
}

static const Numeric *
numeric_find (const Numerics *t, const char *option_name)
{
  for (int i = 0; i < t->n; i++) {
    const Numeric *o = &t->items[i];

    if ((g_str_has_prefix (option_name, "--") && !strcmp (option_name + 2, o->long_name))
        || (option_name[0] == '-' && option_name[1] == o->short_name && !option_name[2]))
      return o;
  }
  return NULL;
}

static gboolean
is_power_of_two (double v)
{
  int e;

  return v > 0 && frexp (v, &e) == 0.5;
}

static gboolean
parse_numeric (const char *option_name, const char *text, gpointer data, GError **error)
{
  const Numeric *o = numeric_find (data, option_name);
  const MmCliRange *r;
  char *end = NULL;
  double v;

  g_assert (o);
  r = &o->range;
  if (o->arg == G_OPTION_ARG_INT) {
    gint64 i;

    if (g_ascii_string_to_signed (text, 10, (gint64) r->min, (gint64) r->max, &i, NULL)
        && (!r->power_of_two || is_power_of_two ((double) i))) {
      *(int *) o->value = (int) i;
      return TRUE;
    }
  } else {
    v = g_ascii_strtod (text, &end);
    if (end != text && !*end && isfinite (v) && v >= r->min && v <= r->max) {
      *(double *) o->value = v;
      return TRUE;
    }
  }
  if (r->power_of_two)
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
        "--%s must be a power of two from %.15g to %.15g, not '%s'", o->long_name, r->min, r->max,
        text);
  else
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
        "--%s must be %s from %.15g to %.15g, not '%s'", o->long_name,
        o->arg == G_OPTION_ARG_INT ? "an integer" : "a number", r->min, r->max, text);
  return FALSE;
}

static const MmCliRange *
range_find (const MmCliRange *ranges, const char *name)
{
  for (; ranges && ranges->name; ranges++)
    if (!strcmp (ranges->name, name))
      return ranges;
  return NULL;
}

GOptionGroup *
mm_cli_option_group (const char *name, const char *description, const char *help_description,
    const GOptionEntry *entries, const MmCliRange *ranges)
{
  Numerics *t = g_new0 (Numerics, 1);
  GOptionGroup *group;
  GOptionEntry *copy;
  int n = 0;

  while (entries[n].long_name)
    n++;
  copy = g_new0 (GOptionEntry, n + 1);
  t->items = g_new0 (Numeric, n);
  for (int i = 0; i < n; i++) {
    const MmCliRange *r;
    Numeric *o;

    copy[i] = entries[i];
    if (entries[i].arg == G_OPTION_ARG_INT64)
      g_error ("option --%s: int64 options are not range-checked", entries[i].long_name);
    if (entries[i].arg != G_OPTION_ARG_INT && entries[i].arg != G_OPTION_ARG_DOUBLE)
      continue;
    if (!(r = range_find (ranges, entries[i].long_name)))
      g_error ("option --%s has no range", entries[i].long_name);
    o = &t->items[t->n++];
    o->long_name = g_strdup (entries[i].long_name);
    o->short_name = entries[i].short_name;
    o->arg = entries[i].arg;
    o->value = entries[i].arg_data;
    o->range = *r;
    copy[i].arg = G_OPTION_ARG_CALLBACK;
    copy[i].arg_data = (gpointer) parse_numeric;
  }
  group = g_option_group_new (name, description, help_description, t, numerics_free);
  g_option_group_add_entries (group, copy);
  g_free (copy);
  return group;
}

void
mm_cli_add_entries (GOptionContext *ctx, const GOptionEntry *entries, const MmCliRange *ranges)
{
  g_option_context_set_main_group (ctx, mm_cli_option_group (NULL, NULL, NULL, entries,
          ranges));
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
    fprintf (out, "  %-10s %s%s\n", commands[i].name, commands[i].summary,
        commands[i].needs_gst && !MM_CLI_GST ? " (not in this build: needs GStreamer)" : "");
  fprintf (out, "\n'mmdigits COMMAND --help' describes a command's options.\n"
      "Data sets are read from --data, $MMDIGITS_DATA or ../shared/data.\n");
  if (!MM_CLI_GST)
    fprintf (out, "Built without GStreamer: audio files are read only as 16-bit PCM mono WAV "
        "at 16000 Hz.\n");
}

int
main (int argc, char **argv)
{
  /* GOption prints help in the locale's charset: without this, "39×13" shows as "39?13".
   * Numbers stay C: what the CLI prints (words' and eval's TSV, decisions,
   * reports) is read by programs, and under de_DE "0.505" came out "0,505". */
  setlocale (LC_ALL, "");
  setlocale (LC_NUMERIC, "C");
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
      GError *error = NULL;
      int n;

      /* a thread count that is not one is refused, not silently replaced */
      if (!mm_threads_env (&n, &error)) {
        fprintf (stderr, "mmdigits: %s\n", error->message);
        g_error_free (error);
        return MM_EXIT_USAGE;
      }
      /* the sub-command sees "mmdigits COMMAND" as its program name */
      argv[1] = g_strdup_printf ("mmdigits %s", argv[1]);
      return commands[i].run (argc - 1, argv + 1);
    }
  fprintf (stderr, "mmdigits: unknown command '%s'\n", argv[1]);
  usage (stderr);
  return MM_EXIT_USAGE;
}
