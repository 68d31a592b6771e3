/* mmdigits predict — classifies single files through the elements of the
 * pipelines (digitimage, mfccextract, mmclassify), so that a file gives
 * here exactly the decision a pipeline would give. The pipeline is the one
 * batch builds (mm_cli_classifier_description, tools/classify-pipeline.c). */
#include "mm-config.h"

#include <gst/gst.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>

#include "mm-cli.h"
#include "mm-error.h"
#include "mm-file.h"
#include "mm-media.h"
#include "mm-modelset.h"

/* predict pairs an image with a word anywhere in a recording: the image's
 * PTS is 0 (imagefreeze) and the word's centre is wherever it was said, so
 * the window is mmclassify's maximum, 60 s. A recording longer than that
 * may still pair with a later word that way only if it starts in time. */
#define PREDICT_PAIR_WINDOW 60000       /* ms */

/* ---- predict ------------------------------------------------------------ */

typedef struct {
  const char *model;
  MmModelSet *models;           /* opened once: its plans say what an input needs */
  gboolean json;
  int failures;
  gboolean fatal;               /* a model error: no use going on */
} Predict;

/* Element names: the prefix tells which input an error came from. */
#define IMAGE_SRC "filesrc name=img-src ! decodebin name=img-dec"
#define AUDIO_SRC "filesrc name=aud-src ! decodebin name=aud-dec"

/* --media: one file's video and sound from one decodebin */
#define MEDIA_SRC "filesrc name=med-src ! decodebin name=med-dec"
#define MEDIA_BRANCH "med-dec. ! queue"

/* Buffers that reached each branch's converter: zero at EOS means the
 * decoder gave nothing for that file. */
typedef struct {
  gint image, audio;
} Decoded;

/* Points the branch named @prefix ("img", "aud") at @path and counts what
 * its decoder gives into *@decoded. The name is set as a property, never
 * pasted into the description, so that any file name (spaces, '!',
 * quotes) is taken literally. */
static void
set_source (GstElement *pipeline, const char *prefix, const char *path, gint *decoded)
{
  char *name = g_strconcat (prefix, "-src", NULL);
  GstElement *e = gst_bin_get_by_name (GST_BIN (pipeline), name);

  g_object_set (e, "location", path, NULL);
  gst_object_unref (e);
  g_free (name);
  name = g_strconcat (prefix, "-conv", NULL);
  e = gst_bin_get_by_name (GST_BIN (pipeline), name);
  mm_media_count_buffers (e, decoded);
  gst_object_unref (e);
  g_free (name);
}

static GstElement *
build_predict (const Predict *p, const char *image, const char *audio, MmCliLines *lines,
    Decoded *decoded, GError **error)
{
  /* an image (or a video's first frame) as a still */
  char *desc = mm_cli_classifier_description (image ? IMAGE_SRC : NULL, TRUE,
      audio ? AUDIO_SRC : NULL, NULL);
  GError *err = NULL;
  GstElement *pipeline = gst_parse_launch (desc, &err), *e;

  g_free (desc);
  if (!pipeline) {
    g_set_error (error, MM_ERROR, MM_ERROR_IO, "could not build the pipeline: %s",
        err ? err->message : "?");
    g_clear_error (&err);
    return NULL;
  }
  g_clear_error (&err);
  mm_media_strict_decoders (pipeline);
  if (image)
    set_source (pipeline, "img", image, &decoded->image);
  if (audio)
    set_source (pipeline, "aud", audio, &decoded->audio);
  e = gst_bin_get_by_name (GST_BIN (pipeline), "mm");
  g_object_set (e, "model", p->model, NULL);
  if (image && audio)
    g_object_set (e, "pair-window", PREDICT_PAIR_WINDOW, NULL);
  gst_object_unref (e);
  e = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  mm_cli_lines_attach (lines, e, 0);
  gst_object_unref (e);
  return pipeline;
}

/* ---- --print-pipeline ---------------------------------------------------- */

/* Appends the words of @desc to @args and, after each word naming an
 * element in @names, the value @values gives it (NULL: none). */
static void
add_words (GPtrArray *args, const char *desc, const char *const *names,
    const char *const *values)
{
  char **words = g_strsplit (desc, " ", -1);

  for (char **w = words; *w; w++) {
    if (!**w)
      continue;
    g_ptr_array_add (args, g_strdup (*w));
    for (int i = 0; names[i]; i++)
      if (values[i] && !strcmp (*w, names[i]))
        g_ptr_array_add (args, g_strdup (values[i]));
  }
  g_strfreev (words);
}

/* --print-pipeline's FILE.jsonl: gst-launch-1.0's filesink opens it for
 * writing when the pipeline starts, truncating whatever is there, so it
 * must not be a file the pipeline reads (the model set's, the media)
 * (mm_file_check_stream_output: a FIFO or /dev/stdout takes the stream). */
static gboolean
check_lines (const char *lines, const char *model, const char *const *media, GError **error)
{
  char **models = mm_cli_model_files (model);
  GStrvBuilder *b = g_strv_builder_new ();
  char **inputs;
  gboolean ok;

  g_strv_builder_addv (b, (const char **) models);
  for (int i = 0; i < 3; i++)
    if (media[i])
      g_strv_builder_add (b, media[i]);
  inputs = g_strv_builder_end (b);
  ok = mm_file_check_stream_output ("--print-pipeline", lines, (const char *const *) inputs, error);
  g_strfreev (inputs);
  g_strfreev (models);
  g_strv_builder_unref (b);
  return ok;
}

/* The pipeline for the inputs as gst-launch-1.0's arguments, one a line on
 * stdout, mmclassify's JSON lines going to @lines (a filesink): for --image
 * and --audio the one predict runs; for @media one decodebin feeding the
 * branches the model set serves (the video if it has an image or hybrid
 * network, the sound if it has an audio or hybrid one), every frame and
 * word classified as a live pipeline would. A file name is one argument
 * (gst-launch-1.0 takes its spaces and '!' literally); one holding a
 * newline or a double quote is refused. */
static int
print_pipeline (const Predict *p, const char *image, const char *audio, const char *media,
    const char *lines)
{
  const char *files[] = { p->model, image, audio, media, lines };
  gboolean img = image != NULL, aud = audio != NULL;
  /* each value goes after the word naming its element */
  const char *names[] = { "name=mm", "name=mm", "name=sink", "name=img-src", "name=aud-src",
    "name=med-src", NULL };
  char *values[G_N_ELEMENTS (names)] = { NULL };
  GPtrArray *args = g_ptr_array_new_with_free_func (g_free);
  MmModelPlan plan;
  GError *err = NULL;
  char *desc;
  int rc = MM_EXIT_OK;

  for (guint i = 0; i < G_N_ELEMENTS (files); i++) {
    /* a newline ends an argument; gst-launch-1.0 reads a double quote as quoting */
    if (files[i] && strpbrk (files[i], "\n\"")) {
      rc = mm_cli_fail ("%s: a file name with a newline or a double quote cannot be "
          "printed as a gst-launch-1.0 argument", files[i]);
      goto out;
    }
  }
  if (!check_lines (lines, p->model, (const char *const[]) { image, audio, media }, &err)) {
    rc = mm_cli_fail ("%s", err->message);
    g_error_free (err);
    goto out;
  }
  if (media) {
    MmCliNets nets;

    mm_cli_model_nets (p->models, &nets);
    img = nets.image || nets.hybrid;
    aud = nets.audio || nets.hybrid;
  }
  if (!mm_model_set_plan (p->models, img, aud, TRUE, &plan, &err)) {
    rc = mm_cli_fail ("%s", err->message);
    g_error_free (err);
    goto out;
  }
  values[0] = g_strconcat ("model=", p->model, NULL);
  /* predict's still image pairs with a word anywhere in the recording */
  values[1] = image && audio ? g_strdup_printf ("pair-window=%d", PREDICT_PAIR_WINDOW) : NULL;
  values[2] = g_strconcat ("location=", lines, NULL);
  values[3] = image ? g_strconcat ("location=", image, NULL) : NULL;
  values[4] = audio ? g_strconcat ("location=", audio, NULL) : NULL;
  values[5] = media ? g_strconcat ("location=", media, NULL) : NULL;
  if (media)
    add_words (args, MEDIA_SRC, names, (const char *const *) values);
  desc = mm_cli_classifier_description (img ? (media ? MEDIA_BRANCH : IMAGE_SRC) : NULL,
      !media, aud ? (media ? MEDIA_BRANCH : AUDIO_SRC) : NULL, "filesink name=sink");
  add_words (args, desc, names, (const char *const *) values);
  g_free (desc);
  for (guint i = 0; i < args->len; i++)
    printf ("%s\n", (char *) g_ptr_array_index (args, i));
out:
  for (guint i = 0; i < G_N_ELEMENTS (values); i++)
    g_free (values[i]);
  g_ptr_array_unref (args);
  return rc;
}

/* Which input an element belongs to, by its path: 'i', 'a' or 0 (the
 * classifier, ...). */
static char
branch_of (const char *path)
{
  if (path && strstr (path, ":img-"))
    return 'i';
  if (path && strstr (path, ":aud-"))
    return 'a';
  return 0;
}

static void
emit_json_head (GString *s, const char *image, const char *audio)
{
  g_string_append (s, "{\"image\":");
  if (image)
    mm_cli_json_string (s, image);
  else
    g_string_append (s, "null");
  g_string_append (s, ",\"audio\":");
  if (audio)
    mm_cli_json_string (s, audio);
  else
    g_string_append (s, "null");
}

static char *
label_of (const char *image, const char *audio)
{
  if (image && audio)
    return g_strdup_printf ("%s + %s", image, audio);
  return g_strdup (image ? image : audio);
}

/* A result without a decision: a JSON object with "error", or a text line. */
static void
emit_error (const Predict *p, const char *image, const char *audio, const char *what)
{
  if (p->json) {
    GString *s = g_string_new (NULL);

    emit_json_head (s, image, audio);
    g_string_append (s, ",\"error\":");
    mm_cli_json_string (s, what);
    g_string_append (s, "}\n");
    fputs (s->str, stdout);
    g_string_free (s, TRUE);
  } else {
    char *label = label_of (image, audio);

    printf ("%s: %s\n", label, what);
    g_free (label);
  }
}

static void
emit_decision (const Predict *p, const char *image, const char *audio, const char *line,
    gboolean with_time)
{
  JsonParser *parser;
  JsonObject *o;
  char *label;

  if (p->json) {
    GString *s = g_string_new (NULL);

    /* the element's object, with the file names first */
    emit_json_head (s, image, audio);
    if (line[0] == '{' && line[1] != '}')
      g_string_append_c (s, ',');
    g_string_append (s, line + 1);
    g_string_append_c (s, '\n');
    fputs (s->str, stdout);
    g_string_free (s, TRUE);
    return;
  }
  parser = json_parser_new ();
  label = label_of (image, audio);
  if (json_parser_load_from_data (parser, line, -1, NULL)
      && JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser))) {
    o = json_node_get_object (json_parser_get_root (parser));
    printf ("%s: digit %d (%.2f, %s, %s", label,
        (int) json_object_get_int_member_with_default (o, "digit", -1),
        json_object_get_double_member_with_default (o, "confidence", 0),
        json_object_get_string_member_with_default (o, "modality", "?"),
        json_object_get_string_member_with_default (o, "arch", "?"));
    if (json_object_has_member (o, "averaged_with"))
      printf (" + %s", json_object_get_string_member_with_default (o, "averaged_with", "?"));
    if (json_object_has_member (o, "deferred_from"))
      printf (", %s unsure", json_object_get_string_member_with_default (o, "deferred_from", "?"));
    putchar (')');
    if (with_time)
      printf (" at %s", json_object_get_string_member_with_default (o, "time", "?"));
    putchar ('\n');
  } else {
    printf ("%s: %s\n", label, line);
  }
  g_free (label);
  g_object_unref (parser);
}

static const char *
nothing_found (const char *image, const char *audio)
{
  if (image && audio)
    return "no digit or word found";
  return image ? "no digit found" : "no word found";
}

/* A file that cannot be classified: one line on stderr, one result.
 * @file: the file @why is about, NULL when @why names it. */
static void
input_failed (Predict *p, const char *image, const char *audio, const char *file,
    const char *why)
{
  char *msg = file ? g_strdup_printf ("%s: %s", file, why) : g_strdup (why);

  mm_cli_fail ("%s", msg);
  /* in text the line on stderr says it all; JSON keeps one result per input */
  if (p->json)
    emit_error (p, image, audio, msg);
  p->failures++;
  g_free (msg);
}

static void
predict_one (Predict *p, const char *image, const char *audio)
{
  MmCliLines *lines;
  MmModelPlan plan;
  GstElement *pipeline;
  Decoded decoded = { 0 };
  char *src = NULL;
  GError *err = NULL;
  GPtrArray *out;

  if ((image && !mm_media_check_file (image, &err))
      || (audio && !mm_media_check_file (audio, &err))) {
    input_failed (p, image, audio, NULL, err->message);     /* it names the file */
    g_error_free (err);
    return;
  }
  /* what the classifier would refuse at start, said before any decoding */
  if (!mm_model_set_plan (p->models, image != NULL, audio != NULL, TRUE, &plan, &err)) {
    mm_cli_fail ("%s", err->message);
    g_error_free (err);
    p->failures++;
    p->fatal = TRUE;
    return;
  }
  lines = mm_cli_lines_new ();
  if (!(pipeline = build_predict (p, image, audio, lines, &decoded, &err))) {
    mm_cli_fail ("%s", err->message);
    p->failures++;
    p->fatal = TRUE;
  } else if (!mm_cli_pipeline_run (pipeline, &src, &err)) {
    char branch = branch_of (src);

    if (branch) {
      /* decodebin found no stream of the kind the branch takes */
      char *why = strstr (err->message, "reason not-linked") ?
          g_strdup (branch == 'i' ? "not an image: no video stream" : "no audio stream") :
          g_strdup_printf ("could not decode: %s", err->message);

      input_failed (p, image, audio, branch == 'i' ? image : audio, why);
      g_free (why);
    } else {
      /* the classifier's models: the same for every input */
      mm_cli_fail ("%s", err->message);
      p->failures++;
      p->fatal = TRUE;
    }
  } else if (image && !g_atomic_int_get (&decoded.image)) {
    input_failed (p, image, audio, image, "could not decode: no picture came out of the "
        "decoder (a truncated or corrupt file?)");
  } else if (audio && !g_atomic_int_get (&decoded.audio)) {
    input_failed (p, image, audio, audio, "could not decode: no audio came out of the "
        "decoder (an empty, truncated or corrupt file?)");
  } else {
    out = mm_cli_lines_sorted (lines);
    if (out->len == 0)
      emit_error (p, image, audio, nothing_found (image, audio));
    for (guint i = 0; i < out->len; i++)
      emit_decision (p, image, audio, g_ptr_array_index (out, i), out->len > 1);
  }
  fflush (stdout);
  g_clear_error (&err);
  g_free (src);
  if (pipeline)
    gst_object_unref (pipeline);
  mm_cli_lines_free (lines);
}

static const char *
list_field (char *s)
{
  g_strstrip (s);
  return (!*s || !strcmp (s, "-")) ? NULL : s;
}

/* --list: "image<TAB>audio" per line, '-' for none; blank lines and lines
 * starting with '#' are skipped. */
static int
predict_list (Predict *p, const char *list)
{
  char *text = NULL, **rows;
  GError *err = NULL;

  if (!mm_file_check_readable (list, &err)) {
    mm_cli_fail ("--list %s", err->message);
    g_error_free (err);
    return MM_EXIT_FAILURE;
  }
  if (!g_file_get_contents (list, &text, NULL, &err)) {
    mm_cli_fail ("%s: %s", list, err->message);
    g_error_free (err);
    return MM_EXIT_FAILURE;
  }
  rows = g_strsplit (text, "\n", -1);
  g_free (text);
  for (guint i = 0; rows[i] && !p->fatal; i++) {
    char **cols;
    const char *image, *audio;

    if (!*g_strstrip (rows[i]) || rows[i][0] == '#')
      continue;
    cols = g_strsplit (rows[i], "\t", 3);
    if (g_strv_length (cols) != 2) {
      mm_cli_fail ("%s:%u: expected 'image<TAB>audio' ('-' for none)", list, i + 1);
      p->failures++;
    } else {
      image = list_field (cols[0]);
      audio = list_field (cols[1]);
      if (!image && !audio) {
        mm_cli_fail ("%s:%u: neither an image nor a recording", list, i + 1);
        p->failures++;
      } else {
        predict_one (p, image, audio);
      }
    }
    g_strfreev (cols);
  }
  g_strfreev (rows);
  return p->failures ? MM_EXIT_FAILURE : MM_EXIT_OK;
}

int
mm_cmd_predict (int argc, char **argv)
{
  char *model = NULL, *image = NULL, *audio = NULL, *list = NULL, *media = NULL, *print = NULL;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model,
      "model file or directory (default: the installed models, else the source tree's models/)",
      "M" },
    { "image", 'i', 0, G_OPTION_ARG_FILENAME, &image, "an image (or a video: its first frame)",
      "FILE" },
    { "audio", 'a', 0, G_OPTION_ARG_FILENAME, &audio, "a recording of spoken digits", "FILE" },
    { "list", 'l', 0, G_OPTION_ARG_FILENAME, &list,
      "classify each line 'image<TAB>audio' of FILE.tsv ('-' for none)", "FILE.tsv" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "one JSON object per decision", NULL },
    { "print-pipeline", 0, 0, G_OPTION_ARG_FILENAME, &print,
      "print the pipeline as gst-launch-1.0 arguments (one a line), its JSON lines going "
      "to FILE.jsonl, instead of running it", "FILE.jsonl" },
    { "media", 0, 0, G_OPTION_ARG_FILENAME, &media,
      "with --print-pipeline: a video with its sound, every frame and word classified", "FILE" },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new ("- classify files with the pipeline's elements");
  Predict p = { 0 };
  GError *err = NULL;
  int rc;

  mm_cli_add_entries (ctx, entries, NULL);
  g_option_context_set_description (ctx,
      "An image goes through decodebin ! videoconvert ! imagefreeze num-buffers=1 !\n"
      "digitimage stable-frames=1, a recording through decodebin ! audioconvert !\n"
      "audioresample ! mfccextract, both into one mmclassify (pair-window 60 s, so\n"
      "that the still image pairs with a word anywhere in the recording; without\n"
      "a hybrid network each is classified alone).\n"
      "Output: 'FILE: digit 7 (0.98, image, ImageNet_CNN)' per decision, or with\n"
      "--json the element's JSON object plus \"image\" and \"audio\". A recording\n"
      "without a word (an image without a digit) gives a result with \"error\".\n"
      "Exit status 1 if any input could not be read or decoded.\n"
      "--print-pipeline prints the pipeline for gst-launch-1.0 instead (e.g.\n"
      "mapfile -t args < <(mmdigits predict ... --print-pipeline out.jsonl);\n"
      "gst-launch-1.0 \"${args[@]}\"); with --media one decodebin feeds the\n"
      "branches the model set serves, as pipelines/demo.sh plays its video.");
  if (!mm_cli_parse (ctx, &argc, &argv)) {
    rc = MM_EXIT_USAGE;
    goto out;
  }
  if (argc > 1 || (!list && !image && !audio && !media) || (list && (image || audio || media))
      || (media && (image || audio))) {
    fprintf (stderr, "mmdigits: predict takes --image and/or --audio, or --list, or --media "
        "(see --help)\n");
    rc = MM_EXIT_USAGE;
    goto out;
  }
  if ((media && !print) || (print && (list || json))) {
    fprintf (stderr, "mmdigits: predict: %s (see --help)\n", print ?
        "--print-pipeline prints one pipeline: not with --list or --json" :
        "--media goes with --print-pipeline");
    rc = MM_EXIT_USAGE;
    goto out;
  }
  p.model = mm_cli_model_path (model);
  p.json = json;
  /* printing needs no plugin */
  if ((!print && !mm_cli_gst_ready (&err)) || !(p.models = mm_model_set_open (p.model, &err))) {
    rc = mm_cli_fail ("%s", err->message);
    g_error_free (err);
    goto out;
  }
  if (print) {
    rc = print_pipeline (&p, image, audio, media, print);
  } else if (list) {
    rc = predict_list (&p, list);
  } else {
    predict_one (&p, image, audio);
    rc = p.failures ? MM_EXIT_FAILURE : MM_EXIT_OK;
  }
out:
  if (p.models)
    mm_model_set_free (p.models);
  g_free ((char *) p.model);
  g_free (model);
  g_free (image);
  g_free (audio);
  g_free (list);
  g_free (media);
  g_free (print);
  g_option_context_free (ctx);
  return rc;
}
