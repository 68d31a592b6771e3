/* Output-path and input-file checks (see mm-file.h). */
#include "mm-file.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mm-error.h"

gboolean
mm_file_same (const char *a, const char *b)
{
  GStatBuf sa, sb;

  return a && b && g_stat (a, &sa) == 0 && g_stat (b, &sb) == 0
      && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* @path is none of @inputs. */
static gboolean
check_not_input (const char *what, const char *path, const char *const *inputs, GError **error)
{
  for (int i = 0; inputs && inputs[i]; i++)
    if (mm_file_same (path, inputs[i])) {
      g_set_error (error, MM_ERROR, MM_ERROR_INVALID,
          "%s %s: is the input %s; writing it would destroy it", what, path, inputs[i]);
      return FALSE;
    }
  return TRUE;
}

gboolean
mm_file_check_output (const char *what, const char *path, const char *const *inputs,
    GError **error)
{
  g_autofree char *dir = NULL;
  GStatBuf st;

  if (!path || !*path) {
    g_set_error (error, MM_ERROR, MM_ERROR_IO, "%s: empty file name", what);
    return FALSE;
  }
  if (!check_not_input (what, path, inputs, error))
    return FALSE;
  if (g_stat (path, &st) == 0 && !S_ISREG (st.st_mode)) {
    g_set_error (error, MM_ERROR, MM_ERROR_IO, "%s %s: %s; want a file name", what, path,
        S_ISDIR (st.st_mode) ? "is a directory" : "exists and is not a regular file");
    return FALSE;
  }
  if (g_str_has_suffix (path, G_DIR_SEPARATOR_S)) {
    g_set_error (error, MM_ERROR, MM_ERROR_IO, "%s %s: names a directory; want a file name",
        what, path);
    return FALSE;
  }
  /* the temporary file is created beside the target */
  dir = g_path_get_dirname (path);
  if (access (dir, W_OK | X_OK) != 0) {
    int saved = errno;

    g_set_error (error, MM_ERROR, MM_ERROR_IO, "%s %s: cannot write in %s: %s", what, path,
        dir, g_strerror (saved));
    return FALSE;
  }
  return TRUE;
}

gboolean
mm_file_check_stream_output (const char *what, const char *path, const char *const *inputs,
    GError **error)
{
  GStatBuf st;

  if (path && *path && g_stat (path, &st) == 0 && (S_ISFIFO (st.st_mode) || S_ISCHR (st.st_mode)))
    return check_not_input (what, path, inputs, error);
  return mm_file_check_output (what, path, inputs, error);
}

gboolean
mm_file_check_readable (const char *path, GError **error)
{
  GStatBuf st;

  if (g_stat (path, &st) != 0) {
    int saved = errno;

    g_set_error (error, MM_ERROR, MM_ERROR_IO, "%s: %s", path, g_strerror (saved));
    return FALSE;
  }
  if (S_ISREG (st.st_mode) || S_ISFIFO (st.st_mode))
    return TRUE;
  g_set_error (error, MM_ERROR, MM_ERROR_IO, "%s: is %s, not a file to read", path,
      S_ISDIR (st.st_mode) ? "a directory" : S_ISCHR (st.st_mode) ? "a character device" :
      S_ISBLK (st.st_mode) ? "a block device" : "a socket or other special file");
  return FALSE;
}
