/* mmdigits — runs a fuzz harness over files, without libFuzzer: each file
 * (or each file of each directory, in name order) goes once through
 * LLVMFuzzerTestOneInput. Built with any compiler, it makes the seed corpus
 * and the inputs of past findings a regression test of every build
 * (meson test --suite fuzz), the sanitizer build included.
 *   replay_NAME FILE|DIR...
 */
#include <stdio.h>

#include "mm-fuzz.h"

static int
run_file (const char *path)
{
  char *data;
  gsize len;
  GError *err = NULL;

  if (!g_file_get_contents (path, &data, &len, &err)) {
    fprintf (stderr, "replay: %s\n", err->message);
    g_error_free (err);
    return -1;
  }
  LLVMFuzzerTestOneInput ((const uint8_t *) data, len);
  g_free (data);
  return 1;
}

static gint
compare_strings (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

static int
run_dir (const char *dir)
{
  GError *err = NULL;
  GDir *d = g_dir_open (dir, 0, &err);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  int n = 0;

  if (!d) {
    fprintf (stderr, "replay: %s\n", err->message);
    g_error_free (err);
    g_ptr_array_unref (names);
    return -1;
  }
  while ((name = g_dir_read_name (d)))
    if (name[0] != '.')
      g_ptr_array_add (names, g_build_filename (dir, name, NULL));
  g_dir_close (d);
  g_ptr_array_sort (names, compare_strings);
  for (guint i = 0; i < names->len && n >= 0; i++) {
    int r = run_file (g_ptr_array_index (names, i));
    n = r < 0 ? -1 : n + r;
  }
  g_ptr_array_unref (names);
  return n;
}

int
main (int argc, char **argv)
{
  int total = 0;

  if (argc < 2) {
    fprintf (stderr, "usage: %s FILE|DIR...\n", argv[0]);
    return 2;
  }
  for (int i = 1; i < argc; i++) {
    int n = g_file_test (argv[i], G_FILE_TEST_IS_DIR) ? run_dir (argv[i]) : run_file (argv[i]);
    if (n < 0)
      return 1;
    total += n;
  }
  printf ("%d inputs ran through the harness\n", total);
  return total > 0 ? 0 : 1;
}
