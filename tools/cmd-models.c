/* mmdigits models — the five networks and their parameter counts. */
#include <stdio.h>

#include "mm-cli.h"

int
mm_cmd_models (int argc, char **argv)
{
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print a JSON array", NULL },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new ("- list the networks");
  mm_cli_add_entries (ctx, entries, NULL);
  if (!mm_cli_parse (ctx, &argc, &argv)) {
    g_option_context_free (ctx);
    return MM_EXIT_USAGE;
  }
  g_option_context_free (ctx);

  if (json)
    printf ("[");
  for (int a = 0; a < MM_N_ARCH; a++) {
    MmNet *net = mm_net_new ((MmArch) a, 0);
    const char *inputs = mm_arch_uses_image (a) && mm_arch_uses_audio (a) ? "image+audio"
        : mm_arch_uses_image (a) ? "image" : "audio";
    if (json)
      printf ("%s{\"arch\":\"%s\",\"inputs\":\"%s\",\"parameters\":%zu}", a ? "," : "",
          mm_arch_name (a), inputs, mm_net_n_params (net));
    else
      printf ("%-20s %-12s %9zu parameters\n", mm_arch_name (a), inputs, mm_net_n_params (net));
    mm_net_free (net);
  }
  if (json)
    printf ("]\n");
  return MM_EXIT_OK;
}
