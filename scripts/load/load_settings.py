"""The project's settings for the load test, with STATIC_ROOT in the run's temporary directory
(settings.py fixes it to the repository's staticfiles/): run_load_test.sh collects the static
files there for the manifest storage, and leaves the working tree alone."""

import os

from ita_portal.settings import *  # noqa: F403

STATIC_ROOT = os.environ["LOAD_STATIC_ROOT"]
