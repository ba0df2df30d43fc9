#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image
# (Ubuntu 22.04): Python 3.11 in a virtual environment, CPU-only PyTorch (the
# default wheels pull gigabytes of CUDA libraries; Gradescope has no GPU), then
# the grader bundled beside this script.
set -euo pipefail

SOURCE=/autograder/source
VENV=/autograder/venv

apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3.11 python3.11-venv
python3.11 -m venv "$VENV"
"$VENV/bin/python" -m pip install --upgrade pip
"$VENV/bin/python" -m pip install torch torchvision --index-url https://download.pytorch.org/whl/cpu
# Editable: the grader stays in $SOURCE, with no second copy of the hidden tests in site-packages.
"$VENV/bin/python" -m pip install -e "$SOURCE"
# Gradescope's containers lack CAP_SYS_ADMIN, so the worker runs as a user of its own without a
# mount namespace: it must not be able to read the hidden tests (grading refuses while it can).
chmod -R go-rwx "$SOURCE/grader/hidden"
chmod +x "$SOURCE/run_autograder"
# Fail the image build, not every submission, where the worker could not run as a user of its own:
# the same check run_autograder makes before grading, without counting on namespaces.
"$VENV/bin/python" -c "
import sys
from grader.engine import sandbox
from grader.errors import IsolationRefused
try:
    sandbox.preflight(namespaces=False)
except IsolationRefused as refused:
    sys.exit(f'setup.sh: {refused}')
"
