/* mm_json_parse: the limits that keep json-glib's recursion and memory
 * bounded on hostile text, exactly at their edges, and what the pre-scan
 * must not miscount (brackets in strings, escaped quotes). */
#include <string.h>

#include "mm-error.h"
#include "mm-json.h"
#include "mm-mfcc.h"
#include "mm-test-util.h"

static char *
nested (int depth)
{
  GString *s = g_string_new (NULL);
  for (int i = 0; i < depth; i++)
    g_string_append_c (s, '[');
  for (int i = 0; i < depth; i++)
    g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

static void
assert_refused (const char *text, const char *substr)
{
  GError *err = NULL;
  JsonNode *root = mm_json_parse (text, -1, &err);

  ck_assert_msg (root == NULL, "accepted: %.60s", text);
  ck_assert (g_error_matches (err, MM_ERROR, MM_ERROR_FORMAT));
  ck_assert_msg (strstr (err->message, substr) != NULL, "'%s' lacks '%s'", err->message,
      substr);
  g_error_free (err);
}

START_TEST (test_json_depth_limit_is_exact)
{
  char *ok = nested (MM_JSON_MAX_DEPTH), *deep = nested (MM_JSON_MAX_DEPTH + 1);
  JsonNode *root = mm_json_parse (ok, -1, NULL);

  ck_assert (root != NULL && JSON_NODE_HOLDS_ARRAY (root));
  json_node_unref (root);
  assert_refused (deep, "nests deeper than 64 levels");
  g_free (ok);
  g_free (deep);
}
END_TEST

START_TEST (test_json_value_limit_is_exact)
{
  /* [0,0,...] of n elements: the array and its n-1 commas count n values */
  GString *s = g_string_new ("[0");
  JsonNode *root;

  for (int i = 1; i < MM_JSON_MAX_VALUES; i++)
    g_string_append (s, ",0");
  g_string_append_c (s, ']');
  root = mm_json_parse (s->str, (gssize) s->len, NULL);
  ck_assert (root != NULL);
  ck_assert_uint_eq (json_array_get_length (json_node_get_array (root)),
      MM_JSON_MAX_VALUES);
  json_node_unref (root);
  g_string_insert (s, 1, "0,");
  assert_refused (s->str, "holds more than 65536 values");
  g_string_free (s, TRUE);
}
END_TEST

START_TEST (test_json_strings_do_not_count)
{
  /* 100 brackets and commas inside strings, an escaped quote before them */
  char *inner = g_strnfill (100, '[');
  char *text = g_strdup_printf ("{\"a\\\"%s\": \"%s,,,\\\\\", \"b\": [1]}", inner, inner);
  JsonNode *root = mm_json_parse (text, -1, NULL);

  ck_assert_msg (root != NULL, "%s", text);
  ck_assert (JSON_NODE_HOLDS_OBJECT (root));
  ck_assert_int_eq (json_object_get_size (json_node_get_object (root)), 2);
  json_node_unref (root);
  g_free (text);
  g_free (inner);
}
END_TEST

START_TEST (test_json_comments_and_single_quotes_are_refused)
{
  assert_refused ("[1, /* \" */ 2]", "is not JSON: a comment at byte 4");
  assert_refused ("[1] // x", "a comment");
  assert_refused ("{'a': 1}", "a single quote at byte 1");
  assert_refused ("", "is not JSON");
  assert_refused ("[1,", "is not JSON");
}
END_TEST

START_TEST (test_mfcc_params_from_deep_json_are_refused)
{
  char *deep = nested (100000);
  MmMfccParams q;
  GError *err = NULL;

  ck_assert (!mm_mfcc_params_from_json (deep, &q, &err));
  ck_assert_msg (strstr (err->message, "nests deeper") != NULL, "%s", err->message);
  g_error_free (err);
  g_free (deep);
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("json");
  TCase *tc = tcase_create ("limits");

  tcase_add_test (tc, test_json_depth_limit_is_exact);
  tcase_add_test (tc, test_json_value_limit_is_exact);
  tcase_add_test (tc, test_json_strings_do_not_count);
  tcase_add_test (tc, test_json_comments_and_single_quotes_are_refused);
  tcase_add_test (tc, test_mfcc_params_from_deep_json_are_refused);
  suite_add_tcase (s, tc);
  return mm_test_run_suite (s);
}
