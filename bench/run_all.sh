#!/usr/bin/env bash
# Run every bench, one after another (they share the scratch database), each ending with its
# `RESULT key=value …` line; stop at the first that fails. `make bench` calls it with the project's
# interpreter, after installing the bench extra.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
py=${1:-.venv/bin/python}

# geodata_load first: it force-reloads the reference geography that the others read.
BENCHES=(geodata_load seed bulk_cases day capacity solomon api_fuzz ingest evidence hotlist anpr)

# A bench is a script (it has a __main__ block); common.py is the helper they share. A new script must
# be listed above, so that `make bench` keeps running every bench.
for script in bench/*.py; do
  grep -q '^if __name__ == "__main__":' "$script" || continue
  name=$(basename "$script" .py)
  if [[ " ${BENCHES[*]} " != *" $name "* ]]; then
    echo "bench: $script is a bench but not in BENCHES of bench/run_all.sh" >&2
    exit 1
  fi
done

for name in "${BENCHES[@]}"; do
  [ -f "bench/$name.py" ] || { echo "bench: bench/$name.py is listed in bench/run_all.sh but missing" >&2; exit 1; }
done

for name in "${BENCHES[@]}"; do
  echo "== bench/$name.py"
  "$py" "bench/$name.py"
done
