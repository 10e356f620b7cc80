# gaussmix from a checkout:  make demo | make test | make dev | make clean
#
# Each target works in a virtual environment, .venv, made with a Python >= 3.12
# (gaussmix needs 3.12+ because ArviZ 1.x does).  That Python is found by
# tools/find_python.sh, which also looks past a plain "python3" that is too old and at
# pyenv's installed versions; name one with "make PYTHON=/path/to/python3.13 test".
# A .venv made with an older Python is replaced.
#
#   demo   pip install .            then run "gaussmix demo"
#   test   pip install ".[test]"    then run the test suite against the installed package
#   dev    pip install -e ".[test]" (editable: the compiled core is rebuilt on reinstall)
#   clean  remove .venv and build outputs

VENV ?= .venv
BIN := $(VENV)/bin

# Every target but clean and help needs the Python (no goal means demo).
ifneq ($(filter-out clean help,$(or $(MAKECMDGOALS),demo)),)
  FOUND := $(shell tools/find_python.sh $(PYTHON))
  ifeq ($(FOUND),)
    $(error gaussmix needs Python >= 3.12 (ArviZ 1.x requires it), and $(if $(PYTHON),PYTHON=$(PYTHON) is not one,none was found): install one, or name it with make PYTHON=/path/to/python3.12)
  endif
endif

.PHONY: demo test dev venv clean help

demo: venv
	$(BIN)/python -m pip install .
	$(BIN)/gaussmix demo

test: venv
	$(BIN)/python -m pip install ".[test]"
	$(BIN)/python -m pytest

dev: venv
	$(BIN)/python -m pip install -e ".[test]"

# (Re)create .venv unless it already runs a Python >= 3.12.
venv:
	@tools/find_python.sh $(BIN)/python >/dev/null || { \
	    echo "make: creating $(VENV) with $(FOUND)"; \
	    rm -rf $(VENV) && $(FOUND) -m venv $(VENV) && \
	    $(BIN)/python -m pip install --quiet --upgrade pip; }

clean:
	rm -rf $(VENV) build dist *.egg-info src/*.egg-info gmmcore/*.c gmmcore/_config.pxi \
	    src/gaussmix/*.so src/gaussmix/*.pyd

help:
	@sed -n '1,13p' Makefile
