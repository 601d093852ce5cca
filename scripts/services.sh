#!/usr/bin/env bash
# Make sure the services the test suite talks to are there (idempotent): PostgreSQL running on
# 127.0.0.1:5432 with the 'postgres' role reachable without a password, and the Mosquitto
# binary (the MQTT tests start their own brokers on free ports with the shipped config), and
# Debian's Chromium for the browser tests (Playwright drives it; it never downloads its own),
# Festival with two voices for the offline speech tests, and Redis on 127.0.0.1:6379 (Rasa's
# lock store in the scale-out test).
# On Debian/Ubuntu as root it installs what is missing; otherwise it says what to do.
set -euo pipefail

have() { command -v "$1" >/dev/null 2>&1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif have sudo; then sudo "$@"; else return 1; fi; }
apt_install() {
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null 2>&1 || {
    as_root apt-get update -q >/dev/null && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null
  }
}
pg_up() { have pg_isready && pg_isready -q -h 127.0.0.1 -p 5432; }
pg_login() { PGCONNECT_TIMEOUT=3 psql -h 127.0.0.1 -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1; }

postgres() {
  if [ -n "${DASH_TEST_POSTGRES_URL:-}" ] || [ "${DASH_TEST_POSTGRES:-}" = skip ]; then return; fi
  if ! pg_up; then
    if ! have pg_ctlcluster; then
      echo "services: installing PostgreSQL (Debian package postgresql)"
      apt_install postgresql postgresql-client || {
        echo "services: cannot install PostgreSQL here; install it, or set DASH_TEST_POSTGRES_URL" >&2; exit 1; }
    fi
    version=$(ls /etc/postgresql | sort -V | tail -n1)
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 1 30); do pg_up && break; sleep 1; done
    pg_up || { echo "services: PostgreSQL did not start" >&2; exit 1; }
  fi
  if ! pg_login; then
    # A fresh Debian cluster asks for passwords over TCP: let the test role in from loopback.
    hba=$(as_root runuser -u postgres -- psql -Atc 'show hba_file')
    if ! as_root grep -q '^host all postgres 127.0.0.1/32 trust' "$hba"; then
      as_root sed -i '1i host all postgres 127.0.0.1/32 trust\nhost all postgres ::1/128 trust' "$hba"
      as_root runuser -u postgres -- psql -Atc 'select pg_reload_conf()' >/dev/null
    fi
    pg_login || { echo "services: cannot log in to PostgreSQL as postgres@127.0.0.1" >&2; exit 1; }
  fi
  echo "services: PostgreSQL ready on 127.0.0.1:5432"
}

mosquitto_binary() {
  if have mosquitto; then return; fi
  echo "services: installing Mosquitto (Debian package mosquitto)"
  apt_install mosquitto mosquitto-clients || {
    echo "services: cannot install Mosquitto here; install it (the MQTT tests need it)" >&2; exit 1; }
}

chromium_browser() {
  if [ "${DASH_TEST_BROWSER:-}" = skip ] || [ -x "${DASH_CHROMIUM:-/usr/bin/chromium}" ]; then return; fi
  echo "services: installing Chromium (Debian package chromium)"
  apt_install chromium || {
    echo "services: cannot install Chromium here; install it, or set DASH_TEST_BROWSER=skip" >&2; exit 1; }
}

festival_voices() {
  if [ "${DASH_TEST_SPEECH:-}" = skip ]; then return; fi
  if have text2wave && [ -d /usr/share/festival/voices/english/kal_diphone ] \
     && [ -d /usr/share/festival/voices/us/cmu_us_slt_arctic_hts ]; then return; fi
  echo "services: installing Festival and its voices (festival, festvox-kallpc16k, festvox-us-slt-hts)"
  apt_install festival festvox-kallpc16k festvox-us-slt-hts || {
    echo "services: cannot install Festival here; install it, or set DASH_TEST_SPEECH=skip" >&2; exit 1; }
}

redis() {
  if [ "${DASH_TEST_POSTGRES:-}" = skip ]; then return; fi  # the scale-out test needs both
  if (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then echo "services: Redis ready on 127.0.0.1:6379"; return; fi
  if ! have redis-server; then
    echo "services: installing Redis (Debian package redis-server)"
    apt_install redis-server || {
      echo "services: cannot install Redis here; install it, or set DASH_TEST_POSTGRES=skip" >&2; exit 1; }
  fi
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no >/dev/null
  for _ in $(seq 1 20); do (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null && break; sleep 0.5; done
  (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null || { echo "services: Redis did not start" >&2; exit 1; }
  echo "services: Redis ready on 127.0.0.1:6379"
}

postgres
mosquitto_binary
chromium_browser
festival_voices
redis
