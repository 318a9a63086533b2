#!/usr/bin/env bash
# Builds dist/route-override: a shiv zipapp of ro (standard library only, no
# third-party package), byte-for-byte reproducible from the same commit and
# build tools.
#
#   build/shiv.sh [OUTPUT]        (default dist/route-override)
#   PYTHON=...                    the interpreter with shiv (default .venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-.venv/bin/python}
output=${1:-dist/route-override}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Timestamps in the zip come from the commit, not the clock.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 315532800)}
export PYTHONHASHSEED=0 PIP_DISABLE_PIP_VERSION_CHECK=1

# 1. site-packages: ro, installed from a copy, so nothing is written into
#    the source tree.
mkdir -p "$work/source"
cp -r pyproject.toml README.md src "$work/source/"
"$python" -m pip install -qq --disable-pip-version-check --no-compile --no-deps --target "$work/site" "$work/source"
# What differs between build directories or is never used at run time
# (installer records name the temporary paths; scripts carry its python).
rm -rf "$work/site/bin"
find "$work/site" \( -name __pycache__ -o -path '*.dist-info/*' \( -name RECORD -o -name direct_url.json \
    -o -name INSTALLER -o -name REQUESTED \) \) -prune -exec rm -rf {} +

# 2. shiv lays out the zipapp (site-packages, its bootstrap, environment.json).
"$python" -m shiv --reproducible --site-packages "$work/site" \
    --entry-point ro.__main__:main --output-file "$work/shiv.pyz" >/dev/null

# 3. Our launcher as __main__ and the isolated /bin/sh prefix; the launcher
#    also compiled for this machine's bundled runtime where setup built it
#    (.cache/runtime/<arch>: build/setup.sh), which may be another Python.
mkdir -p "$(dirname "$output")"
native=$(awk -v machine="$(uname -m)" '!/^#/ && $3 == machine { sub("linux/", "", $1); print $1 }' build/platforms)
set -- .cache/runtime/"$native"/.route-override-*/python3
bundled=""
[ -x "$1" ] && bundled="${1%/python3}/ld.so $1"
RO_BUNDLED_PYTHON=$bundled "$python" build/finish_pyz.py "$work/shiv.pyz" "$output"
# What the installer logs: versions and the checksum it installs.
version=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' src/ro/__init__.py)
echo "route-override $version sha256 $(sha256sum "$output" | cut -d' ' -f1)" >"$output.version"
echo "built $output ($(stat -c %s "$output") bytes, sha256 $(sha256sum "$output" | cut -c1-16))"
