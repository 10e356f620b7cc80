# Sourced by .ci/run and wheels/build_and_test.sh (not run on its own).
#
# find_python: print the first Python >= 3.12 that really runs, or return 1.
# Tries $GAUSSMIX_PYTHON, then python3.14 ... python3 on PATH, then pyenv's installed
# versions, newest first (pyenv shims can exist for a version and still fail, so each
# candidate is run, not just looked up).  gaussmix needs 3.12+: ArviZ 1.x requires it.
find_python() {
    local cand
    local candidates=("${GAUSSMIX_PYTHON:-}" python3.14 python3.13 python3.12 python3)
    if command -v pyenv >/dev/null 2>&1; then
        local root
        root=$(pyenv root)
        for cand in $(ls -d "$root"/versions/3.* 2>/dev/null | sort -V -r); do
            candidates+=("$cand/bin/python3")
        done
    fi
    for cand in "${candidates[@]}"; do
        [ -n "$cand" ] || continue
        if "$cand" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; then
            echo "$cand"
            return 0
        fi
    done
    return 1
}
