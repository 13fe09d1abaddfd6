#!/usr/bin/env bash
# Create the project's virtualenv. Debian's python3 lacks the venv module until python3.X-venv is
# installed, so install that first when it is missing.
set -euo pipefail
py=${1:-python3}
dir=${2:-.venv}

if [ -x "$dir/bin/python" ] && "$dir/bin/python" -m pip --version >/dev/null 2>&1; then
  exit 0
fi
if ! "$py" -m venv --clear "$dir" >/dev/null 2>&1; then
  ver=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  echo "venv: $py has no working venv module; installing Debian's python$ver-venv"
  sudo=; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "python$ver-venv" >/dev/null
  "$py" -m venv --clear "$dir"
fi
echo "venv: created $dir with $("$dir/bin/python" --version)"
