#!/usr/bin/env bash
# Machine-level prerequisites of the test suite, made idempotent:
#   1. Debian packages: libmariadb-dev + pkg-config (to build mysqlclient),
#      chromium + chromium-driver (headless browser tests). Installed with
#      apt-get only when missing (needs root, or sudo).
#   2. Services on 127.0.0.1: PostgreSQL :5432 (user postgres, trust auth),
#      MariaDB :3306 (root, no password), Redis :6379. A service that does not
#      answer is started, then waited for (bounded by SERVICE_WAIT seconds).
#   3. The "django_par" database on PostgreSQL and MariaDB, so that commands
#      which look at the real database (makemigrations' history check) work.
#
# Usage: bash scripts/services.sh          (called by scripts/run-tests.sh)
# Env:   SERVICE_WAIT=60                   seconds to wait for each service
#        DJANGO_PAR_SKIP_APT=1             do not touch Debian packages
set -euo pipefail

SERVICE_WAIT="${SERVICE_WAIT:-60}"
APT_PACKAGES=(libmariadb-dev pkg-config chromium chromium-driver)

log() { printf '[services] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n "$@"
    else
        die "need root (or sudo) to run: $*"
    fi
}

# --- Debian packages ---------------------------------------------------------
is_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

ensure_packages() {
    if [ "${DJANGO_PAR_SKIP_APT:-}" = 1 ]; then
        log "DJANGO_PAR_SKIP_APT=1: not checking Debian packages"
        return
    fi
    command -v dpkg-query >/dev/null 2>&1 || { log "no dpkg here: install ${APT_PACKAGES[*]} yourself"; return; }
    local missing=() p
    for p in "${APT_PACKAGES[@]}"; do
        is_installed "$p" || missing+=("$p")
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        log "Debian packages present: ${APT_PACKAGES[*]}"
        return
    fi
    log "installing Debian packages: ${missing[*]}"
    # The lock timeout lets us queue behind another apt run instead of failing.
    as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 \
        install -y -qq "${missing[@]}" </dev/null
}

# --- services ----------------------------------------------------------------
postgresql_answers() {
    pg_isready -q -h 127.0.0.1 -p 5432 -U postgres -d postgres 2>/dev/null
}
mariadb_answers() {
    # mariadb-admin ping succeeds whenever the server answers on the socket.
    local admin
    admin="$(command -v mariadb-admin || command -v mysqladmin)" || return 1
    "$admin" --protocol=tcp -h 127.0.0.1 -P 3306 -u root --connect-timeout=2 ping >/dev/null 2>&1
}
redis_answers() {
    [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ]
}

start_postgresql() {
    [ -d /etc/postgresql ] || die "PostgreSQL is not installed (no /etc/postgresql)"
    [ -d /var/run/postgresql ] || as_root install -d -m 2775 -o postgres -g postgres /var/run/postgresql
    # shellcheck disable=SC2046
    as_root pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start
}
start_mariadb() {
    [ -x /usr/sbin/mariadbd ] || die "MariaDB is not installed (no /usr/sbin/mariadbd)"
    [ -d /run/mysqld ] || as_root install -d -m 755 -o mysql -g mysql /run/mysqld
    as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
}
start_redis() {
    command -v redis-server >/dev/null 2>&1 || die "Redis is not installed (no redis-server)"
    local dir
    for dir in /var/lib/redis /var/log/redis; do
        [ -d "$dir" ] || as_root install -d "$dir"
    done
    as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
        --dir /var/lib/redis --logfile /var/log/redis/ci.log
}

# ensure_service NAME: NAME_answers or start_NAME, then wait for NAME_answers.
ensure_service() {
    local name="$1" waited=0
    if "${name}_answers"; then
        log "$name is up"
        return
    fi
    log "$name does not answer: starting it"
    # A failing start command (e.g. "already starting") is not fatal by itself:
    # whether the service ends up answering is what counts.
    "start_${name}" || log "start command for $name exited $?"
    until "${name}_answers"; do
        if [ "$waited" -ge "$SERVICE_WAIT" ]; then
            die "$name did not answer within ${SERVICE_WAIT}s"
        fi
        sleep 1
        waited=$((waited + 1))
    done
    log "$name is up (after ${waited}s)"
}

ensure_databases() {
    psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -v ON_ERROR_STOP=1 -qtAc \
        "SELECT 1 FROM pg_database WHERE datname = 'django_par'" | grep -q 1 ||
        psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -v ON_ERROR_STOP=1 -qc 'CREATE DATABASE django_par' ||
        die "cannot log in to PostgreSQL as postgres over TCP (trust auth expected)"
    local client
    client="$(command -v mariadb || command -v mysql)" || die "no mariadb client"
    "$client" --protocol=tcp -h 127.0.0.1 -P 3306 -u root \
        -e 'CREATE DATABASE IF NOT EXISTS django_par CHARACTER SET utf8mb4' ||
        die "cannot log in to MariaDB as root without a password over TCP"
    # Django with USE_TZ converts datetimes in SQL (CONVERT_TZ: admin date
    # filters, __date lookups), which needs MariaDB's time zone tables.
    local zones
    zones="$("$client" --protocol=tcp -h 127.0.0.1 -P 3306 -u root -N -B \
        -e 'SELECT COUNT(*) FROM mysql.time_zone_name')"
    if [ "$zones" = 0 ]; then
        log "loading time zone tables into MariaDB"
        local tzsql
        tzsql="$(command -v mariadb-tzinfo-to-sql || command -v mysql_tzinfo_to_sql)" ||
            die "no mariadb-tzinfo-to-sql"
        [ -d /usr/share/zoneinfo ] || die "no /usr/share/zoneinfo (Debian package tzdata)"
        "$tzsql" /usr/share/zoneinfo 2>/dev/null |
            "$client" --protocol=tcp -h 127.0.0.1 -P 3306 -u root mysql ||
            die "loading MariaDB time zone tables failed"
    fi
}

ensure_packages
ensure_service postgresql
ensure_service mariadb
ensure_service redis
ensure_databases
log "ready"
