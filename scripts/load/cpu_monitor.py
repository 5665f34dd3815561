"""Where the machine's CPU went while locust ran: the load test shares its cores with whatever
else runs on the machine, and a number measured on a busy machine must say so.

    python cpu_monitor.py LOCUST_PID GUNICORN_PID POSTMASTER_PID

Samples every second until LOCUST_PID exits, then prints core-seconds used by gunicorn (master
and workers), PostgreSQL (postmaster and backends), locust, and everything else on the machine,
against what the cores could give. Needs psutil (installed with locust)."""

import sys
import time

import psutil


def tree_times(root_pid, seen):
    """Record user+system CPU seconds of root_pid and its descendants in `seen` (pid → seconds);
    processes that have ended keep their last sample."""
    try:
        root = psutil.Process(root_pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for proc in procs:
        try:
            t = proc.cpu_times()
            seen[proc.pid] = t.user + t.system
        except psutil.NoSuchProcess:
            pass


def busy(times):
    return times.user + times.nice + times.system + getattr(times, "irq", 0) + getattr(times, "softirq", 0) + \
        getattr(times, "steal", 0)


def main():
    locust_pid, gunicorn_pid, postmaster_pid = (int(a) for a in sys.argv[1:4])
    groups = {"gunicorn": (gunicorn_pid, {}), "postgres": (postmaster_pid, {}), "locust": (locust_pid, {})}
    for root, seen in groups.values():
        tree_times(root, seen)
    start = {name: sum(seen.values()) for name, (_, seen) in groups.items()}
    start_busy, started = busy(psutil.cpu_times()), time.monotonic()
    load = []
    while psutil.pid_exists(locust_pid) and psutil.Process(locust_pid).status() != psutil.STATUS_ZOMBIE:
        for root, seen in groups.values():
            tree_times(root, seen)
        load.append(psutil.getloadavg()[0])
        time.sleep(1)
    elapsed = time.monotonic() - started
    total = busy(psutil.cpu_times()) - start_busy
    used = {name: sum(seen.values()) - start[name] for name, (_, seen) in groups.items()}
    others = max(0.0, total - sum(used.values()))
    cores = psutil.cpu_count()
    print(f"CPU while locust ran ({elapsed:.0f} s, {cores} cores = {cores * elapsed:.0f} core-seconds): "
          f"busy {total:.0f} ({100 * total / (cores * elapsed):.0f}%): "
          + ", ".join(f"{name} {seconds:.0f}" for name, seconds in used.items())
          + f", other processes on the machine {others:.0f} core-seconds; "
          f"load average {min(load, default=0):.1f}–{max(load, default=0):.1f}")


if __name__ == "__main__":
    main()
