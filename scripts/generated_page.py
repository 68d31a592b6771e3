"""A generated page written whole or not at all, or only checked.

The page generators (elements-doc.py, model-cards.py) end here, so a page is
always written the same way (a temporary file renamed over it: an
interrupted run leaves the old page) and --check means the same for each
(nothing written; exit status 1 when the page differs).
"""
import os
import sys


def write_or_check(path, text, check, says, remake):
    """Writes TEXT to PATH; with CHECK only compares, and exits naming what
    the page should follow (SAYS, e.g. "the code says") and the command that
    writes it (REMAKE) when PATH differs."""
    if check:
        with open(path, encoding="utf-8") as fh:
            if fh.read() != text:
                sys.exit(f"{os.path.basename(sys.argv[0])}: {path} is not what {says}: "
                         f"run {remake}")
        return
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)
