"""The project's settings for the load test, with STATIC_ROOT in the run's temporary directory
(settings.py fixes it to the repository's staticfiles/): run_load_test.sh collects the static
files there for the manifest storage, and leaves the working tree alone.

With LOAD_CPU_LOG set (run_load_test.sh sets it), cpu_timing.RequestCpuMiddleware logs the CPU
time of every request there, to give each page's Python cost."""

import os

from ita_portal.settings import *  # noqa: F403
from ita_portal.settings import MIDDLEWARE

STATIC_ROOT = os.environ["LOAD_STATIC_ROOT"]

if os.environ.get("LOAD_CPU_LOG"):
    MIDDLEWARE = ["cpu_timing.RequestCpuMiddleware", *MIDDLEWARE]
