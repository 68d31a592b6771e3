"""The uninstalled build and the data directory, as the bench scripts use them."""

import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def default_data():
    """$MMDIGITS_DATA, else ../shared/data beside the source tree (the CLI's own default)."""
    return os.environ.get("MMDIGITS_DATA", os.path.join(os.path.dirname(ROOT), "shared", "data"))


def cli(build):
    """The build's mmdigits; its pipelines then take the elements from BUILD/plugins."""
    plugins = os.path.abspath(os.path.join(build, "plugins"))
    os.environ["GST_PLUGIN_PATH"] = os.pathsep.join(
        p for p in (plugins, os.environ.get("GST_PLUGIN_PATH")) if p)
    return os.path.join(build, "tools", "mmdigits")
