#!/bin/sh
# Print the path of the first Python >= 3.12 that really runs, or exit 1 silently.
#
#   tools/find_python.sh            # search
#   tools/find_python.sh PYTHON     # check only PYTHON (a name on PATH or a path)
#
# gaussmix needs Python 3.12+ because ArviZ 1.x requires it.  The search tries
# $GAUSSMIX_PYTHON, then python3.14 ... python3.12 and python3 on PATH, then pyenv's
# installed versions, newest first.  Each candidate is run, not just looked up: a pyenv
# shim can exist for a version and still fail.  Used by the Makefile, .ci/run and
# wheels/build_and_test.sh.

runs() {
    "$1" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1
}

found() {
    command -v "$1" 2>/dev/null || printf '%s\n' "$1"
    exit 0
}

if [ $# -gt 0 ]; then
    runs "$1" && found "$1"
    exit 1
fi

for cand in "${GAUSSMIX_PYTHON:-}" python3.14 python3.13 python3.12 python3; do
    [ -n "$cand" ] && runs "$cand" && found "$cand"
done
if command -v pyenv >/dev/null 2>&1; then
    root=$(pyenv root)
    for cand in $(ls -d "$root"/versions/3.* 2>/dev/null | sort -V -r); do
        runs "$cand/bin/python3" && found "$cand/bin/python3"
    done
fi
exit 1
