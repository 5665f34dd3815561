"""Per-request Python cost for the load test: the CPU time the gunicorn worker spent on each
request (time.process_time before and after, so waiting for PostgreSQL or for a core does not
count), one line per request in the file named by LOAD_CPU_LOG:

    <cpu ms> TAB <status> TAB <method> TAB <page>

<page> is the X-Load-Page header the load test sends (its name for the page), else the path.
load_settings.py puts this middleware first, and only when LOAD_CPU_LOG is set; gunicorn's sync
workers serve one request at a time, so the process's CPU time is the request's."""

import os
import time


class RequestCpuMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        # Line-buffered and opened for appending: each worker writes whole lines at the end.
        self.log = open(os.environ["LOAD_CPU_LOG"], "a", buffering=1, encoding="utf-8")  # noqa: SIM115

    def __call__(self, request):
        started = time.process_time()
        response = self.get_response(request)
        spent = (time.process_time() - started) * 1000
        page = request.headers.get("X-Load-Page") or request.path
        self.log.write(f"{spent:.2f}\t{response.status_code}\t{request.method}\t{page}\n")
        return response
