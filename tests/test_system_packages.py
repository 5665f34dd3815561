"""The one list of Debian packages (scripts/system_packages.sh) is what the Makefile, CI and the
README's Deploy section use, and it holds every package a fresh machine lacks."""

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "system_packages.sh"


def _listed(*args):
    out = subprocess.run(["bash", str(SCRIPT), "--list", *args], capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_it_lists_every_package_the_portal_and_its_tests_need():
    listed = set(_listed())
    # libharfbuzz-subset0 was the one a fresh clone lacked: WeasyPrint's DeprecationWarning
    # then failed 76 tests under filterwarnings=error.
    for pkg in ("libpango-1.0-0", "libpangoft2-1.0-0", "libharfbuzz-subset0", "libthai0",
                "poppler-utils", "chromium", "postgresql", "python3-venv", "make"):
        assert pkg in listed, pkg


def test_it_leaves_the_test_browser_out_of_a_production_install():
    runtime = set(_listed("--runtime"))
    assert "libharfbuzz-subset0" in runtime
    # The Word copies draw their charts with pdftoppm, so poppler-utils is needed in production too.
    assert "poppler-utils" in runtime
    assert "chromium" not in runtime


def test_it_is_used_by_the_makefile_ci_and_the_deploy_guide():
    assert "scripts/system_packages.sh" in (ROOT / "Makefile").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "scripts/system_packages.sh" in ci
    assert "E2E_REQUIRED=1" in ci
    assert "scripts/system_packages.sh" in (ROOT / "README.md").read_text()
