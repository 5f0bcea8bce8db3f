"""The course's website: README.md, docs/*.md, the twelve lessons (executed) and the API reference.

Build it with ``python -m sphinx -W -b html docs docs/_build/html`` (``pip install -e ".[docs]"``).
Everything the pages load is in the build folder: MathJax is vendored in ``_static/mathjax``,
MyST-NB's require.js and widget scripts are off (no lesson uses widgets), so the site works
from ``file://`` without a network.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))

# The lessons are executed as a student finds them: against the exercise skeletons, never the
# solutions, whatever MINIALEXNET_EXERCISES says in the shell that builds the site.
os.environ["MINIALEXNET_EXERCISES"] = str(DOCS.parent / "lessons" / "exercises")

project = "minialexnet"
author = "the minialexnet authors"
copyright = "2026, the minialexnet authors"

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "command_help",
]
exclude_patterns = ["_build", "screenshots", "lessons/exercises", "lessons/solutions", "**/.ipynb_checkpoints"]
suppress_warnings = ["myst.header"]  # README.md and the guides start at level 2 under their title

# Markdown (MyST) for the pages; the docstrings are reStructuredText, as autodoc reads them.
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3  # docs link to sections as file.md#heading

# The lessons: executed at build time, outputs cached by the code cells' content in
# docs/_build/.jupyter_cache, so a rebuild after a text change does not run them again.
nb_execution_mode = "cache"
nb_execution_timeout = 600
nb_execution_raise_on_error = True  # a lesson that fails fails the build
nb_execution_show_tb = True
nb_merge_streams = True
nb_ipywidgets_js = {}  # no lesson uses widgets: no require.js, no widget scripts from a CDN

# The API reference. The docstrings' literal blocks are notation, shapes and formulas, not Python.
highlight_language = "text"
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
python_use_unqualified_type_names = True
nitpicky = True  # a cross-reference that resolves nowhere is a warning, so an error
# names from other packages: no intersphinx, the build is offline
nitpick_ignore_regex = [
    (r"py:.*", r"(numpy|PIL|pathlib|collections\.abc|types)\..*"),
    # Sphinx splits a dataclass field's ``dict[str, Any] | None`` at the comma and looks up "dict[str"
    (r"py:class", r"(dict|list|tuple)\[.*"),
]

html_theme = "pydata_sphinx_theme"
html_title = "minialexnet"
html_static_path = ["_static"]
html_css_files = ["site.css"]
html_show_sourcelink = False
html_show_search_summary = False  # the summaries are fetched page by page, which file:// does not allow
html_context = {"default_mode": "auto"}  # light or dark as the reader's system says (unset, the theme logs an error)
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 4,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
    # the API pages give their width to the docstrings' notation blocks; the others list their sections
    "secondary_sidebar_items": {"*": ["page-toc"], "lessons/*": ["page-toc"], "reference/**": []},
}
# MathJax from the build folder, not a CDN: npm's mathjax@3.2.2, tex-chtml with its woff fonts.
mathjax_path = "mathjax/tex-chtml.js"
