/* libFuzzer harness: the model loader (core/nets/modelfile.c, core/util/json.c).
 *
 * Each input is a whole model file. Besides "no crash, no leak, no UB"
 * (ASan/UBSan/LSan), it checks what the loader promises: a refusal is an
 * MM_ERROR whose message starts with the path; a model that loads has an
 * arch that mm_model_read_arch reads from the header alone, only finite
 * values and no negative variance.
 */
#include <math.h>
#include <string.h>

#include "mm-error.h"
#include "mm-fuzz.h"
#include "mm-modelfile.h"

static void
check_refusal (const char *path, GError *err)
{
  if (!err || err->domain != MM_ERROR || !g_str_has_prefix (err->message, path))
    mm_fuzz_fail ("a refusal without an MM_ERROR naming the file");
}

static void
check_loaded (const char *path, MmNet *net)
{
  MmArch arch;
  GError *err = NULL;

  if (!mm_model_read_arch (path, &arch, &err) || arch != mm_net_arch (net))
    mm_fuzz_fail ("loaded, but mm_model_read_arch disagrees");
  for (int i = 0; i < mm_net_n_tensors (net); i++) {
    const MmTensorInfo *t = mm_net_tensor (net, i);
    gboolean var = g_str_has_suffix (t->name, ".running_var");
    for (size_t j = 0; j < t->size; j++)
      if (!isfinite (t->data[j]) || (var && t->data[j] < 0))
        mm_fuzz_fail ("loaded a non-finite value or a negative variance");
  }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *path = mm_fuzz_file (data, size);
  MmModelMeta meta = { NULL, NULL };
  GError *err = NULL;
  MmArch arch;
  MmNet *net = mm_model_load (path, &meta, &err);

  if (net) {
    check_loaded (path, net);
    mm_model_meta_clear (&meta);
    mm_net_free (net);
  } else {
    check_refusal (path, err);
    g_clear_error (&err);
  }
  if (!mm_model_read_arch (path, &arch, &err)) {
    check_refusal (path, err);
    g_clear_error (&err);
  }
  return 0;
}
