/* mmdigits — where an installed mmdigits finds its own files. */
#include "mm-paths.h"

#include "mm-config.h"

#include <string.h>

char *
mm_path_relocate (const char *configured_anchor, const char *actual_anchor,
                  const char *configured_target)
{
  g_auto (GStrv) from = g_strsplit (configured_anchor, G_DIR_SEPARATOR_S, -1);
  g_auto (GStrv) to = g_strsplit (configured_target, G_DIR_SEPARATOR_S, -1);
  GString *path = g_string_new (actual_anchor);
  guint common = 0;

  while (from[common] && to[common] && strcmp (from[common], to[common]) == 0)
    common++;
  for (guint i = common; from[i]; i++)
    if (*from[i])
      g_string_append (path, G_DIR_SEPARATOR_S "..");
  for (guint i = common; to[i]; i++)
    if (*to[i])
      g_string_append_printf (path, G_DIR_SEPARATOR_S "%s", to[i]);
  return g_string_free (path, FALSE);
}

char *
mm_models_dir (const char *configured_anchor, const char *actual_anchor)
{
  const char *env = g_getenv ("MMDIGITS_MODELS");

  if (env && *env)
    return g_strdup (env);
  if (configured_anchor && actual_anchor) {
    char *moved = mm_path_relocate (configured_anchor, actual_anchor, MM_MODELDIR);
    char *canon = g_canonicalize_filename (moved, NULL);
    g_free (moved);
    if (g_file_test (canon, G_FILE_TEST_IS_DIR))
      return canon;
    g_free (canon);
  }
  return g_strdup (MM_MODELDIR);
}
