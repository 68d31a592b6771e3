/* parity_helper — the C side of the PyTorch parity test.
 *
 *   parity_helper MODEL.safetensors INPUTS_DIR OUT_DIR
 *
 * Loads MODEL, reads INPUTS_DIR/{image.f32,audio.f32,labels.i32} (raw
 * little-endian; the batch size comes from labels.i32) and writes into
 * OUT_DIR:
 *   logits_eval.f32   evaluation-mode forward [B][10]
 *   logits_train.f32  training-mode forward with dropout off [B][10]
 *   loss.f32          mean cross-entropy of that forward (1 float)
 *   grads.f32         the flat gradient block, in mm_net_tensor order
 *   tensors.txt       "name size" per parameter tensor, in that order
 *   after.safetensors the model after one Adam step (lr 1e-3, wd 1e-5),
 *                     with the running statistics the training forward updated
 * parity_pytorch.py computes the same in PyTorch and compares. On error: one
 * line on stderr, exit 1.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "mm-adam.h"
#include "mm-modelfile.h"
#include "mm-net.h"

static void G_GNUC_NORETURN G_GNUC_PRINTF (1, 2)
die (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  fputs ("parity_helper: ", stderr);
  vfprintf (stderr, fmt, ap);
  fputc ('\n', stderr);
  va_end (ap);
  exit (1);
}

/* Reads INPUTS_DIR/@name and checks it holds @count items of @item bytes. */
static gpointer
read_input (const char *dir, const char *name, gsize item, gsize count)
{
  char *path = g_build_filename (dir, name, NULL);
  GError *error = NULL;
  gchar *data;
  gsize len;

  if (!g_file_get_contents (path, &data, &len, &error))
    die ("%s", error->message);
  if (len != item * count)
    die ("%s: %" G_GSIZE_FORMAT " bytes, expected %" G_GSIZE_FORMAT, path, len, item * count);
  g_free (path);
  return data;
}

static void
write_output (const char *dir, const char *name, gconstpointer data, gsize len)
{
  char *path = g_build_filename (dir, name, NULL);
  GError *error = NULL;

  if (!g_file_set_contents (path, data, (gssize) len, &error))
    die ("%s", error->message);
  g_free (path);
}

static void
write_tensor_list (MmNet *net, const char *dir)
{
  GString *s = g_string_new (NULL);

  for (int i = 0; i < mm_net_n_tensors (net); i++) {
    const MmTensorInfo *t = mm_net_tensor (net, i);
    if (t->grad)
      g_string_append_printf (s, "%s %" G_GSIZE_FORMAT "\n", t->name, t->size);
  }
  write_output (dir, "tensors.txt", s->str, s->len);
  g_string_free (s, TRUE);
}

int
main (int argc, char **argv)
{
  GError *error = NULL;
  MmNet *net;
  MmArch arch;
  MmAdam *adam;
  float *image = NULL, *audio = NULL, *logits, loss;
  int *labels, batch;
  char *path;
  gchar *buf;
  gsize len;
  size_t n;

  if (argc != 4)
    die ("usage: parity_helper MODEL.safetensors INPUTS_DIR OUT_DIR");
  net = mm_model_load (argv[1], NULL, &error);
  if (!net)
    die ("%s", error->message);
  arch = mm_net_arch (net);

  path = g_build_filename (argv[2], "labels.i32", NULL);
  if (!g_file_get_contents (path, &buf, &len, &error))
    die ("%s", error->message);
  if (len == 0 || len % sizeof (int) != 0)
    die ("%s: size %" G_GSIZE_FORMAT " is not a positive multiple of 4", path, len);
  g_free (path);
  labels = (int *) buf;
  batch = (int) (len / sizeof (int));
  if (mm_arch_uses_image (arch))
    image = read_input (argv[2], "image.f32", sizeof (float), (gsize) batch * MM_IMAGE_PIXELS);
  if (mm_arch_uses_audio (arch))
    audio = read_input (argv[2], "audio.f32", sizeof (float), (gsize) batch * MM_AUDIO_VALUES);
  logits = g_new (float, (gsize) batch * MM_N_CLASSES);

  mm_net_set_training (net, FALSE);
  mm_net_forward (net, batch, image, audio, logits);
  write_output (argv[3], "logits_eval.f32", logits, sizeof (float) * batch * MM_N_CLASSES);

  /* training-mode batch norm, but deterministic: no dropout */
  mm_net_set_training (net, TRUE);
  mm_net_set_dropout (net, FALSE);
  mm_net_forward (net, batch, image, audio, logits);
  loss = mm_net_backward (net, labels, NULL);
  n = mm_net_n_params (net);
  write_output (argv[3], "logits_train.f32", logits, sizeof (float) * batch * MM_N_CLASSES);
  write_output (argv[3], "loss.f32", &loss, sizeof loss);
  write_output (argv[3], "grads.f32", mm_net_grads (net), sizeof (float) * n);
  write_tensor_list (net, argv[3]);

  adam = mm_adam_new (n, 1e-3f, 1e-5f);
  mm_adam_step (adam, mm_net_params (net), mm_net_grads (net));
  path = g_build_filename (argv[3], "after.safetensors", NULL);
  if (!mm_model_save (net, NULL, path, &error))
    die ("%s", error->message);

  g_free (path);
  mm_adam_free (adam);
  g_free (logits);
  g_free (image);
  g_free (audio);
  g_free (labels);
  mm_net_free (net);
  return 0;
}
