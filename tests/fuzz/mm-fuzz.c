/* mmdigits — shared by the libFuzzer harnesses (see mm-fuzz.h). */
#define _GNU_SOURCE
#include "mm-fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

const char *
mm_fuzz_file (const uint8_t *data, size_t size)
{
  static int fd = -1;
  static char path[64];
  size_t done = 0;

  if (fd < 0) {
    fd = memfd_create ("mmdigits-fuzz", MFD_CLOEXEC);
    if (fd < 0)
      mm_fuzz_fail ("memfd_create failed");
    g_snprintf (path, sizeof path, "/proc/self/fd/%d", fd);
  }
  if (ftruncate (fd, 0) != 0)
    mm_fuzz_fail ("ftruncate failed");
  while (done < size) {
    ssize_t w = pwrite (fd, data + done, size - done, (off_t) done);
    if (w <= 0)
      mm_fuzz_fail ("pwrite failed");
    done += (size_t) w;
  }
  return path;
}

void
mm_fuzz_fail (const char *what)
{
  fprintf (stderr, "mmdigits fuzz check failed: %s\n", what);
  abort ();
}
