#!/usr/bin/env bash
# Make the services Bailiwick needs available on a Debian machine: PostgreSQL with PostGIS, Redis and
# Mosquitto, at the addresses in BAILIWICK_DATABASE_URL / BAILIWICK_REDIS_URL / BAILIWICK_MQTT_URL.
#
# For each service: if something already answers at the configured address, use it; otherwise, if the
# address is on this machine, install the Debian packages and start the service. Then create the
# application and test databases with the postgis extension. Idempotent: run it as often as you like.
# It says what it did, and stops with a clear message when something cannot be made to work.
set -euo pipefail

root_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=${PYTHON:-$root_dir/.venv/bin/python}
[ -x "$PY" ] || PY=$(command -v python3)

DATABASE_URL=${BAILIWICK_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/bailiwick}
TEST_DATABASE_URL=${BAILIWICK_TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/bailiwick_test}
REDIS_URL=${BAILIWICK_REDIS_URL:-redis://127.0.0.1:6379/0}
MQTT_URL=${BAILIWICK_MQTT_URL:-mqtt://127.0.0.1:1883}

say() { printf 'stack: %s\n' "$*"; }
die() { printf 'stack: ERROR: %s\n' "$*" >&2; exit 1; }

# host and port of a URL, with a default port: `url_part URL host|port DEFAULT_PORT`
url_part() {
  "$PY" - "$1" "$2" "$3" <<'EOF'
import sys
from urllib.parse import urlsplit
u = urlsplit(sys.argv[1])
print(u.hostname or "127.0.0.1" if sys.argv[2] == "host" else u.port or int(sys.argv[3]))
EOF
}

is_local() { case "$1" in 127.*|localhost|::1|"$(hostname)") return 0 ;; *) return 1 ;; esac; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "need root (or sudo) to run: $*"
  fi
}

apt_updated=
apt_install() {
  command -v apt-get >/dev/null || die "cannot install $* here: this is not a Debian machine (no apt-get)"
  if [ -z "$apt_updated" ]; then
    say "apt-get update"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq || die "apt-get update failed"
    apt_updated=1
  fi
  say "installing Debian packages: $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null \
    || die "apt-get install $* failed"
}

# Probes use only the Python standard library, so they work before anything else is installed.
probe() {  # probe postgres|redis|mqtt HOST PORT -> exit 0 if the service answers
  "$PY" - "$@" <<'EOF'
import socket, sys
kind, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
try:
    with socket.create_connection((host, port), timeout=2) as s:
        s.settimeout(2)
        if kind == "redis":
            s.sendall(b"PING\r\n")
            ok = s.recv(64).startswith((b"+PONG", b"-NOAUTH"))
        elif kind == "mqtt":
            # MQTT 3.1.1 CONNECT with an empty client id; any CONNACK (even "not authorised") means a broker.
            s.sendall(bytes([0x10, 12, 0, 4]) + b"MQTT" + bytes([4, 2, 0, 10, 0, 0]))
            ok = s.recv(4)[:1] == b"\x20"
        else:
            # An SSLRequest: a PostgreSQL server answers with a single 'S' or 'N'.
            s.sendall(bytes([0, 0, 0, 8, 4, 210, 22, 47]))
            ok = s.recv(1) in (b"S", b"N")
except OSError:
    ok = False
sys.exit(0 if ok else 1)
EOF
}

wait_for() {  # wait_for KIND HOST PORT
  for _ in $(seq 1 30); do probe "$@" && return 0; sleep 1; done
  return 1
}

# --- PostgreSQL + PostGIS ---------------------------------------------------------------------------
pg_host=$(url_part "$DATABASE_URL" host 5432)
pg_port=$(url_part "$DATABASE_URL" port 5432)

pg_major_installed() { ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -n 1; }

if probe postgres "$pg_host" "$pg_port"; then
  say "PostgreSQL answers at $pg_host:$pg_port; using it"
else
  is_local "$pg_host" || die "no PostgreSQL at $pg_host:$pg_port, and that host is not this machine"
  [ -n "$(pg_major_installed)" ] || apt_install postgresql postgresql-contrib
  major=$(pg_major_installed)
  [ -n "$major" ] || die "PostgreSQL did not install"
  # The cluster serving the configured port; a new one if none does ("main" on a bare machine).
  cluster=$(pg_lsclusters -h 2>/dev/null | awk -v v="$major" -v p="$pg_port" '$1 == v && $3 == p {print $2; exit}')
  if [ -z "$cluster" ]; then
    cluster=main
    pg_lsclusters -h 2>/dev/null | awk '{print $1, $2}' | grep -qx "$major main" && cluster=bailiwick
    say "creating PostgreSQL $major cluster '$cluster' on port $pg_port"
    as_root pg_createcluster "$major" "$cluster" --port "$pg_port" >/dev/null || die "pg_createcluster failed"
  fi
  hba=/etc/postgresql/$major/$cluster/pg_hba.conf
  if ! as_root grep -q '# bailiwick local' "$hba"; then
    # A local development cluster: loopback connections are trusted, as the default URLs expect.
    say "trusting loopback connections in $hba (local development cluster)"
    as_root sed -i "1i host all all 127.0.0.1/32 trust # bailiwick local\nhost all all ::1/128 trust # bailiwick local" "$hba"
  fi
  say "starting PostgreSQL $major cluster '$cluster'"
  as_root pg_ctlcluster --skip-systemctl-redirect "$major" "$cluster" start 2>/dev/null \
    || as_root pg_ctlcluster --skip-systemctl-redirect "$major" "$cluster" reload
  wait_for postgres "$pg_host" "$pg_port" || die "PostgreSQL did not come up at $pg_host:$pg_port"
fi

"$PY" -c "import psycopg" 2>/dev/null \
  || die "$PY cannot import psycopg: install the project first (pip install -e '.[dev]'), or set PYTHON"

# Everything below talks SQL through psycopg, with the URL's own credentials.
pg() {  # pg ACTION [ARGS...]: small, idempotent database chores
  "$PY" - "$DATABASE_URL" "$@" <<'EOF'
import sys
import psycopg
from urllib.parse import urlsplit, unquote

url, action, args = sys.argv[1], sys.argv[2], sys.argv[3:]
u = urlsplit(url.replace("+psycopg", ""))
def connect(dbname):
    return psycopg.connect(host=u.hostname, port=u.port or 5432, user=unquote(u.username or "postgres"),
                           password=unquote(u.password) if u.password else None, dbname=dbname, autocommit=True)
try:
    if action == "server-major":
        with connect("postgres") as c:
            print(int(c.execute("SHOW server_version_num").fetchone()[0]) // 10000)
    elif action == "has-postgis":
        with connect("postgres") as c:
            sys.exit(0 if c.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'").fetchone() else 1)
    elif action == "database":
        name = args[0]
        with connect("postgres") as c:
            if not c.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                c.execute(f'CREATE DATABASE "{name}"')
                print(f"created database {name}")
        with connect(name) as c:
            c.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            print(f"database {name}: PostGIS {c.execute('SELECT postgis_lib_version()').fetchone()[0]}")
except psycopg.OperationalError as exc:
    sys.exit(f"stack: ERROR: cannot connect to PostgreSQL as in BAILIWICK_DATABASE_URL: {exc}".strip())
EOF
}

if ! pg has-postgis; then
  is_local "$pg_host" || die "PostgreSQL at $pg_host:$pg_port has no PostGIS; install it there (it is not this machine)"
  major=$(pg server-major)
  apt_install "postgresql-$major-postgis-3"
  pg has-postgis || die "postgresql-$major-postgis-3 installed, but PostgreSQL still offers no postgis extension"
fi

for url in "$DATABASE_URL" "$TEST_DATABASE_URL"; do
  db=$("$PY" -c "import sys; from urllib.parse import urlsplit; print(urlsplit(sys.argv[1]).path.lstrip('/'))" "$url")
  [ -n "$db" ] || die "no database name in $url"
  pg database "$db" | sed 's/^/stack: /'
done

# --- Redis ------------------------------------------------------------------------------------------
redis_host=$(url_part "$REDIS_URL" host 6379)
redis_port=$(url_part "$REDIS_URL" port 6379)
if probe redis "$redis_host" "$redis_port"; then
  say "Redis answers at $redis_host:$redis_port; using it"
else
  is_local "$redis_host" || die "no Redis at $redis_host:$redis_port, and that host is not this machine"
  command -v redis-server >/dev/null || apt_install redis-server
  say "starting Redis on $redis_host:$redis_port"
  as_root mkdir -p /var/lib/redis /var/log/redis
  # Redis holds live positions and the hotlist, both rebuilt from PostGIS: no need to persist them.
  as_root redis-server --daemonize yes --bind "$redis_host" --port "$redis_port" --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/bailiwick.log
  wait_for redis "$redis_host" "$redis_port" || die "Redis did not come up at $redis_host:$redis_port"
fi

# --- Mosquitto --------------------------------------------------------------------------------------
mqtt_host=$(url_part "$MQTT_URL" host 1883)
mqtt_port=$(url_part "$MQTT_URL" port 1883)
if probe mqtt "$mqtt_host" "$mqtt_port"; then
  say "an MQTT broker answers at $mqtt_host:$mqtt_port; using it"
else
  is_local "$mqtt_host" || die "no MQTT broker at $mqtt_host:$mqtt_port, and that host is not this machine"
  command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || apt_install mosquitto
  conf=/etc/mosquitto/bailiwick-$mqtt_port.conf
  say "starting Mosquitto on $mqtt_host:$mqtt_port with $conf"
  sed -e "s/@HOST@/$mqtt_host/" -e "s/@PORT@/$mqtt_port/" "$root_dir/scripts/mosquitto.conf" | as_root tee "$conf" >/dev/null
  as_root mkdir -p /var/lib/mosquitto /var/log/mosquitto
  as_root chown mosquitto: /var/lib/mosquitto /var/log/mosquitto 2>/dev/null || true
  as_root "$(command -v mosquitto || echo /usr/sbin/mosquitto)" -d -c "$conf"
  wait_for mqtt "$mqtt_host" "$mqtt_port" || die "Mosquitto did not come up at $mqtt_host:$mqtt_port"
fi

say "ready: PostGIS at $pg_host:$pg_port, Redis at $redis_host:$redis_port, MQTT at $mqtt_host:$mqtt_port"
