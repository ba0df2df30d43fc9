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
"$VENV/bin/python" -m pip install "$SOURCE"
chmod +x "$SOURCE/run_autograder"
