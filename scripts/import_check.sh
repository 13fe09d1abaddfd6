#!/usr/bin/env bash
# Install the package WITHOUT extras into a fresh virtualenv and import every module of it
# (scripts/import_check.py), so a run-time import of a package declared only in an extra fails CI.
# The install is not editable and the check runs outside the checkout: the modules imported are the
# distribution's, as a user gets them. It builds from a copy of the checkout's files (tracked and
# untracked, not ignored) so that the build leaves nothing behind in the checkout.
set -euo pipefail
root_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
py=${PYTHON:-python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

mkdir "$tmp/src"
git -C "$root_dir" ls-files -z --cached --others --exclude-standard \
  | tar -C "$root_dir" --null --files-from=- --ignore-failed-read -cf - | tar -C "$tmp/src" -xf -
bash "$root_dir/scripts/venv.sh" "$py" "$tmp/venv" >/dev/null
"$tmp/venv/bin/python" -m pip install -q --disable-pip-version-check "$tmp/src"
cd "$tmp"
"$tmp/venv/bin/python" "$root_dir/scripts/import_check.py" "$tmp/src/pyproject.toml"
