/* The output checks of core/util/file.c: an output never replaces an input,
 * and a stream (FIFO, character device) is taken as it is only by an output
 * that opens its path itself. */
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

#include "mm-error.h"
#include "mm-file.h"
#include "mm-test-util.h"

START_TEST (test_stream_output_takes_fifos_and_devices_not_inputs)
{
  g_autofree char *dir = g_dir_make_tmp ("mm-file-XXXXXX", NULL);
  g_autofree char *fifo = g_build_filename (dir, "pipe", NULL);
  g_autofree char *file = g_build_filename (dir, "in.wav", NULL);
  g_autofree char *missing = g_build_filename (dir, "no", "out.jsonl", NULL);
  const char *inputs[] = { file, NULL }, *fifo_in[] = { fifo, NULL };
  GError *error = NULL;

  ck_assert (mkfifo (fifo, 0600) == 0);
  ck_assert (g_file_set_contents (file, "x", 1, NULL));
  /* a stream that is not an input: taken by the stream check, refused as a file */
  ck_assert (mm_file_check_stream_output ("--o", fifo, inputs, &error));
  ck_assert (mm_file_check_stream_output ("--o", "/dev/null", inputs, &error));
  ck_assert (!mm_file_check_output ("--o", fifo, inputs, &error));
  ck_assert (g_error_matches (error, MM_ERROR, MM_ERROR_IO));
  g_clear_error (&error);
  /* a stream that is an input is refused by both */
  ck_assert (!mm_file_check_stream_output ("--o", fifo, fifo_in, &error));
  ck_assert_msg (g_error_matches (error, MM_ERROR, MM_ERROR_INVALID)
      && strstr (error->message, "is the input"), "%s", error->message);
  g_clear_error (&error);
  /* a regular file: the file checks apply */
  ck_assert (!mm_file_check_stream_output ("--o", file, inputs, &error));
  ck_assert (g_error_matches (error, MM_ERROR, MM_ERROR_INVALID));
  g_clear_error (&error);
  ck_assert (!mm_file_check_stream_output ("--o", missing, inputs, &error));
  ck_assert (g_error_matches (error, MM_ERROR, MM_ERROR_IO));
  g_clear_error (&error);
  ck_assert (!mm_file_check_stream_output ("--o", "", inputs, &error));
  g_clear_error (&error);
  g_unlink (fifo);
  g_unlink (file);
  g_rmdir (dir);
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("file");
  TCase *tc = tcase_create ("outputs");
  tcase_add_test (tc, test_stream_output_takes_fifos_and_devices_not_inputs);
  suite_add_tcase (s, tc);
  return mm_test_run_suite (s);
}
