#!/usr/bin/env bash
# Makes sure the services the portal and its tests talk to are up on this machine:
#   PostgreSQL  127.0.0.1:5432  user postgres, trust auth   (+ the app database "privacy_portal")
#   Redis       127.0.0.1:6379
#   MariaDB     127.0.0.1:3306  user root, empty password   (the "company store" the connectors and tests use)
# and, with --chromium, /usr/bin/chromium for the end-to-end tests.
#
# For each service: reachable -> nothing to do; installed -> start it; missing and running as root -> apt-get
# install, configure the local dev login, start; otherwise print what to install and exit 1.
# Idempotent and silent when everything is already up. It never stops anything.
#
# Usage: bash scripts/services.sh [--chromium]     (npm run services, npm test, npm run demo)
# Env:   SERVICES_TIMEOUT  seconds to wait for each service to accept connections (default 60)
set -uo pipefail

WANT_CHROMIUM=0
for arg in "$@"; do
  case "$arg" in
    --chromium) WANT_CHROMIUM=1 ;;
    -h | --help)
      sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "services: unknown argument '$arg' (usage: services.sh [--chromium])" >&2
      exit 2
      ;;
  esac
done

TIMEOUT="${SERVICES_TIMEOUT:-60}"
APP_DB="privacy_portal"
IS_ROOT=0
[ "$(id -u)" = "0" ] && IS_ROOT=1
APT_UPDATED=0
MISSING=()   # install hints for the final message when we cannot install ourselves
FAILED=0

say() { echo "services: $*" >&2; }
fail() {
  say "ERROR: $*"
  FAILED=1
}

# --- probes ------------------------------------------------------------------------------------------------------
tcp_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

pg_ready() {
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -h 127.0.0.1 -p 5432 -t 2
  else
    tcp_open 5432
  fi
}

# A real PING over the wire (no redis-cli needed): ready means "+PONG", not "-LOADING".
redis_ready() {
  (
    exec 3<>/dev/tcp/127.0.0.1/6379 || exit 1
    printf 'PING\r\n' >&3
    IFS= read -r -t 2 reply <&3 || exit 1
    [ "${reply%$'\r'}" = "+PONG" ]
  ) 2>/dev/null
}

mariadb_admin() {
  if command -v mariadb-admin >/dev/null 2>&1; then echo mariadb-admin
  elif command -v mysqladmin >/dev/null 2>&1; then echo mysqladmin
  fi
}

mariadb_client() {
  if command -v mariadb >/dev/null 2>&1; then echo mariadb
  elif command -v mysql >/dev/null 2>&1; then echo mysql
  fi
}

# `mariadb-admin ping` exits 0 whenever the server answers, even with "access denied": exactly "ready".
mariadb_ready() {
  local admin
  admin="$(mariadb_admin)"
  if [ -n "$admin" ]; then
    "$admin" --protocol=tcp -h 127.0.0.1 -P 3306 -u root --connect-timeout=2 ping >/dev/null 2>&1
  else
    tcp_open 3306
  fi
}

# wait_until <name> <probe> : polls the probe every half second for up to $TIMEOUT seconds.
wait_until() {
  local name="$1" probe="$2" deadline=$((SECONDS + TIMEOUT))
  while ! "$probe"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      return 1
    fi
    sleep 0.5
  done
  say "$name is ready."
}

# wait_for_start <name> <probe> <log> <message> : waits for a service this script just started; when it does not
# come up in time, shows the end of its log and fails with the message.
wait_for_start() {
  wait_until "$1" "$2" && return 0
  tail -n 15 "$3" >&2 2>/dev/null
  fail "$4"
  return 1
}

# --- apt ---------------------------------------------------------------------------------------------------------
apt_install() {
  local log
  log="$(mktemp /tmp/services-apt.XXXXXX)"
  export DEBIAN_FRONTEND=noninteractive
  if [ "$APT_UPDATED" = 0 ]; then
    say "apt-get update ..."
    if ! apt-get update -q >"$log" 2>&1; then
      tail -n 20 "$log" >&2
      fail "apt-get update failed (full log: $log)"
      return 1
    fi
    APT_UPDATED=1
  fi
  say "apt-get install $* ..."
  if ! apt-get install -y -q --no-install-recommends "$@" >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    fail "apt-get install $* failed (full log: $log)"
    return 1
  fi
  rm -f "$log"
}

# --- PostgreSQL --------------------------------------------------------------------------------------------------
pg_version() { ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1; }
pg_installed() { command -v pg_ctlcluster >/dev/null 2>&1 && [ -n "$(ls /usr/lib/postgresql 2>/dev/null)" ]; }

# Local development login: trust for user postgres over TCP loopback, ahead of every other rule (first match wins).
pg_trust_loopback() {
  local hba="/etc/postgresql/$1/main/pg_hba.conf" marker="# privacy-portal: local dev/test login (scripts/services.sh)"
  [ -f "$hba" ] || return 0
  grep -qF "$marker" "$hba" && return 0
  local tmp
  tmp="$(mktemp)"
  {
    echo "$marker"
    echo "host    all    postgres    127.0.0.1/32    trust"
    echo "host    all    postgres    ::1/128         trust"
    cat "$hba"
  } >"$tmp" && cat "$tmp" >"$hba"
  rm -f "$tmp"
  say "configured trust login for postgres@127.0.0.1 in $hba"
}

pg_start() {
  local v
  v="$(pg_version)"
  if [ -z "$v" ] || [ ! -d "/etc/postgresql/$v/main" ]; then
    # Packages present but no cluster (e.g. removed): create the default one.
    v="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
    if [ "$IS_ROOT" = 1 ]; then
      say "creating PostgreSQL $v cluster 'main' ..."
      pg_createcluster "$v" main >/dev/null || { fail "pg_createcluster $v main failed"; return 1; }
      pg_trust_loopback "$v"
    else
      fail "PostgreSQL $v has no cluster; as root run: pg_createcluster $v main"
      return 1
    fi
  fi
  # Already running (e.g. still starting up) -> just wait below.
  if ! pg_ctlcluster "$v" main status >/dev/null 2>&1; then
    say "starting PostgreSQL $v ..."
    pg_ctlcluster --skip-systemctl-redirect "$v" main start || true
  fi
  wait_for_start "PostgreSQL" pg_ready "/var/log/postgresql/postgresql-$v-main.log" \
    "PostgreSQL did not accept connections on 127.0.0.1:5432 within ${TIMEOUT}s (check port/listen_addresses in /etc/postgresql/$v/main/postgresql.conf)"
}

ensure_postgres() {
  pg_ready && return 0
  if pg_installed; then
    pg_start
  elif [ "$IS_ROOT" = 1 ]; then
    apt_install postgresql || return 1
    local v
    v="$(pg_version)"
    pg_trust_loopback "$v"
    # The package may have started the cluster already (it did so before we edited pg_hba.conf).
    if pg_ctlcluster "$v" main status >/dev/null 2>&1; then
      pg_ctlcluster --skip-systemctl-redirect "$v" main reload >/dev/null 2>&1 || true
    fi
    pg_start
  else
    MISSING+=("postgresql")
    fail "PostgreSQL is not running on 127.0.0.1:5432 and not installed"
    return 1
  fi
}

ensure_app_database() {
  if ! command -v psql >/dev/null 2>&1; then
    say "psql not found; skipping the check for database $APP_DB (npm run db:migrate creates it)"
    return 0
  fi
  local psql=(psql -X -w -q -h 127.0.0.1 -p 5432 -U postgres -d postgres -v ON_ERROR_STOP=1)
  local exists
  if ! exists="$("${psql[@]}" -Atc "select 1 from pg_database where datname = '$APP_DB'" 2>&1)"; then
    echo "$exists" >&2
    fail "cannot log in to PostgreSQL as postgres@127.0.0.1 without a password; add
    host all postgres 127.0.0.1/32 trust
  at the top of pg_hba.conf and reload PostgreSQL"
    return 1
  fi
  if [ "$exists" != "1" ]; then
    "${psql[@]}" -c "create database $APP_DB" || { fail "could not create database $APP_DB"; return 1; }
    say "created database $APP_DB"
  fi
}

# --- Redis -------------------------------------------------------------------------------------------------------
redis_start() {
  local dir=/var/lib/redis logdir=/var/log/redis
  if [ "$IS_ROOT" != 1 ] && { ! mkdir -p "$dir" "$logdir" 2>/dev/null || [ ! -w "$dir" ] || [ ! -w "$logdir" ]; }; then
    # Without root the system directories are usually not ours; a private runtime directory works as well.
    dir="${TMPDIR:-/tmp}/privacy-portal-redis-$(id -u)"
    logdir="$dir"
  fi
  mkdir -p "$dir" "$logdir" || { fail "cannot create $dir / $logdir"; return 1; }
  say "starting Redis ..."
  if ! redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir "$dir" --logfile "$logdir/ci.log"; then
    fail "redis-server did not start (log: $logdir/ci.log)"
    return 1
  fi
  wait_for_start "Redis" redis_ready "$logdir/ci.log" "Redis did not answer PING on 127.0.0.1:6379 within ${TIMEOUT}s (log: $logdir/ci.log)"
}

ensure_redis() {
  redis_ready && return 0
  if tcp_open 6379; then
    # Something listens but does not answer PING yet (e.g. loading its dataset): give it time.
    wait_until "Redis" redis_ready && return 0
    fail "port 6379 is open but does not answer Redis PING"
    return 1
  fi
  if command -v redis-server >/dev/null 2>&1; then
    redis_start
  elif [ "$IS_ROOT" = 1 ]; then
    apt_install redis-server || return 1
    # The package may have started its own instance.
    redis_ready && { say "Redis is ready."; return 0; }
    redis_start
  else
    MISSING+=("redis-server")
    fail "Redis is not running on 127.0.0.1:6379 and not installed"
    return 1
  fi
}

# --- MariaDB -----------------------------------------------------------------------------------------------------
MARIADBD=/usr/sbin/mariadbd

mariadb_start() {
  local datadir=/var/lib/mysql out=/var/log/mysql/services-start.log
  if [ "$IS_ROOT" = 1 ]; then
    install -d -o mysql -g mysql /run/mysqld /var/log/mysql 2>/dev/null || mkdir -p /run/mysqld /var/log/mysql
    if [ ! -d "$datadir/mysql" ]; then
      say "initializing the MariaDB data directory $datadir ..."
      mariadb-install-db --user=mysql --datadir="$datadir" >/dev/null 2>&1 ||
        { fail "mariadb-install-db failed"; return 1; }
    fi
  else
    out="${TMPDIR:-/tmp}/privacy-portal-mariadb-$(id -u).log"
  fi
  say "starting MariaDB ..."
  local args=()
  [ "$IS_ROOT" = 1 ] && args=(--user=mysql) # mariadbd refuses to run as root
  if ! start-stop-daemon --start --oknodo --background --output "$out" --exec "$MARIADBD" -- "${args[@]}"; then
    fail "start-stop-daemon could not start $MARIADBD (output: $out)"
    return 1
  fi
  wait_for_start "MariaDB" mariadb_ready "$out" \
    "MariaDB did not accept connections on 127.0.0.1:3306 within ${TIMEOUT}s (see $out and the error log in /etc/mysql/my.cnf)"
}

# Fresh package install: root@localhost authenticates by unix socket only. Allow root with an empty password over
# TCP loopback as well (a development/CI machine; the tests' "company store" connects that way).
mariadb_open_root_login() {
  local client
  client="$(mariadb_client)"
  [ -n "$client" ] || return 0
  "$client" --protocol=tcp -h 127.0.0.1 -P 3306 -u root -e "select 1" >/dev/null 2>&1 && return 0
  if "$client" -u root -e "
      CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';
      GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
      CREATE USER IF NOT EXISTS 'root'@'::1' IDENTIFIED BY '';
      GRANT ALL PRIVILEGES ON *.* TO 'root'@'::1' WITH GRANT OPTION;
      ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('');
      FLUSH PRIVILEGES;" >/dev/null 2>&1; then
    say "configured MariaDB root login with an empty password on 127.0.0.1"
  else
    fail "could not configure the MariaDB root login for 127.0.0.1"
    return 1
  fi
}

check_mariadb_login() {
  local client
  client="$(mariadb_client)"
  [ -n "$client" ] || return 0
  if ! "$client" --protocol=tcp -h 127.0.0.1 -P 3306 -u root --connect-timeout=5 -e "select 1" >/dev/null 2>&1; then
    fail "MariaDB is up but 'root' with an empty password cannot log in over 127.0.0.1:3306; as root run:
    mariadb -u root -e \"CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY ''; GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;\""
    return 1
  fi
}

ensure_mariadb() {
  if mariadb_ready; then
    check_mariadb_login
    return
  fi
  if [ -x "$MARIADBD" ]; then
    mariadb_start && check_mariadb_login
  elif [ "$IS_ROOT" = 1 ]; then
    apt_install mariadb-server || return 1
    if ! mariadb_ready; then mariadb_start || return 1; fi
    mariadb_open_root_login && check_mariadb_login
  else
    MISSING+=("mariadb-server")
    fail "MariaDB is not running on 127.0.0.1:3306 and not installed"
    return 1
  fi
}

# --- Chromium ----------------------------------------------------------------------------------------------------
ensure_chromium() {
  [ -x /usr/bin/chromium ] && return 0
  if [ "$IS_ROOT" = 1 ]; then
    apt_install chromium || return 1
    [ -x /usr/bin/chromium ] || { fail "the chromium package did not provide /usr/bin/chromium"; return 1; }
    say "installed /usr/bin/chromium"
  else
    MISSING+=("chromium")
    fail "/usr/bin/chromium is missing (needed by the end-to-end tests)"
    return 1
  fi
}

# --- main --------------------------------------------------------------------------------------------------------
ensure_postgres && ensure_app_database
ensure_redis
ensure_mariadb
[ "$WANT_CHROMIUM" = 1 ] && ensure_chromium

if [ "$FAILED" != 0 ]; then
  if [ "${#MISSING[@]}" -gt 0 ]; then
    say "install the missing packages as root, then run this again:"
    say "  apt-get update && apt-get install -y ${MISSING[*]}"
  fi
  exit 1
fi
exit 0
