#!/usr/bin/env bash
# Every Debian 12 package the portal and its tests need, in one place. Used by the Makefile
# (`make system`, which `run`, `demo` and `test` depend on), by .ci/run and by the README's
# Deploy section.
#
#   scripts/system_packages.sh            install whatever is missing (portal + tests)
#   scripts/system_packages.sh --runtime  only what a production server needs (no test browser)
#   scripts/system_packages.sh --check    install nothing; exit 1 and say what is missing
#   scripts/system_packages.sh --list     print the package names, one a line
#
# When everything is present it only asks dpkg-query (well under a second). As root it runs
# apt-get; otherwise it uses `sudo -n` if that works without a password; otherwise it prints
# the exact command to run and exits 1.
set -euo pipefail

# What the portal itself needs to run.
RUNTIME_PACKAGES=(
    python3           # Debian's Python 3.11
    python3-venv      # make creates .venv with it
    make
    libpango-1.0-0    # WeasyPrint renders the PDFs with Pango...
    libpangoft2-1.0-0
    libharfbuzz0b     # ...shapes Thai with HarfBuzz...
    libharfbuzz-subset0  # ...and embeds font subsets (without it WeasyPrint warns, and tests fail)
    libthai0          # Thai line breaking in Pango
    libthai-data
    fontconfig
    postgresql        # PostgreSQL 15: production database, and CI's second test run
    poppler-utils     # pdftoppm draws the charts of the Word copies; the tests read PDFs back with it
)
# Only the tests need these (the fonts are in static/fonts, no font package is needed).
TEST_PACKAGES=(
    chromium          # the real-browser tests in tests/e2e (Playwright drives Debian's Chromium)
)

mode=install
packages=("${RUNTIME_PACKAGES[@]}" "${TEST_PACKAGES[@]}")
for arg in "$@"; do
    case $arg in
        --runtime) packages=("${RUNTIME_PACKAGES[@]}") ;;
        --check) mode=check ;;
        --list) mode=list ;;
        -h | --help)
            sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "system_packages.sh: unknown option $arg (try --help)" >&2
            exit 2
            ;;
    esac
done

if [[ $mode == list ]]; then
    printf '%s\n' "${packages[@]}"
    exit 0
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "system_packages.sh: dpkg-query not found; this script is for Debian 12. Install by hand: ${packages[*]}" >&2
    exit 1
fi

# One dpkg-query call for all of them; a package dpkg has never heard of prints nothing.
missing=()
status=$(dpkg-query -W -f='${Package} ${Status}\n' "${packages[@]}" 2>/dev/null || true)
for pkg in "${packages[@]}"; do
    if ! grep -qx "$pkg install ok installed" <<<"$status"; then
        missing+=("$pkg")
    fi
done

if ((${#missing[@]} == 0)); then
    echo "system packages: all present (${#packages[@]})"
    exit 0
fi

command_line="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
echo "system packages missing: ${missing[*]}"
if [[ $mode == check ]]; then
    echo "install them with:  sudo sh -c '$command_line'" >&2
    exit 1
fi

if [[ $EUID -eq 0 ]]; then
    SUDO=(env DEBIAN_FRONTEND=noninteractive)
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n env DEBIAN_FRONTEND=noninteractive)
else
    echo "not root and no password-less sudo: run this once, then try again:" >&2
    echo "    sudo sh -c '$command_line'" >&2
    exit 1
fi

"${SUDO[@]}" apt-get update
"${SUDO[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
echo "system packages: installed ${missing[*]}"
