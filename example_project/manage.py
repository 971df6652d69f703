#!/usr/bin/env python
"""Django's command-line utility for the example identity provider."""

import os
import sys
from pathlib import Path

if __name__ == "__main__":
    # The settings live in the example_project package at the repository root.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_project.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
