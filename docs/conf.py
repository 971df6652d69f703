"""Sphinx configuration of the django-par documentation (built by `tox -e docs`)."""

from __future__ import annotations

import re
from pathlib import Path

# The version, from pyproject.toml (tomllib is not in Python 3.10).
_pyproject = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text(encoding="utf-8")
_version = re.search(r'^version = "([^"]+)"', _pyproject, flags=re.MULTILINE)

project = "django-par"
author = "the django-par authors"
copyright = "2026, the django-par authors"
release = _version.group(1) if _version else "unknown"
version = release

extensions = ["myst_parser"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]

# MyST: anchors for headings down to level 3, so pages can link to sections.
myst_heading_anchors = 3
myst_enable_extensions = ["deflist", "colon_fence"]

html_theme = "furo"
html_title = f"django-par {release}"
html_static_path: list[str] = []
