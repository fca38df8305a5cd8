#!/usr/bin/env bash
# Makes sure what the tests need is running and installed: PostgreSQL (database `test`), Redis,
# RabbitMQ (the amqp:// transport's suites; rabbitmqctl makes a vhost per test file), redis-sentinel
# (the failover test runs private sentinels), Debian's
# python3-celery with python3-amqp (interop tests on Redis and RabbitMQ; with SQLAlchemy, psycopg2
# and django-celery-beat, the benchmark's Celery rows) and chromium (admin page tests). Idempotent and quick when everything
# is already there; run by `npm test` (pretest) and by .ci/run.
set -euo pipefail

# Several test runs may start at once (parallel checkouts on one machine): one at a time here, and
# apt waits for a dpkg lock another process holds instead of failing at once.
exec 9>"${TMPDIR:-/tmp}/celeriac-ensure-services.lock"
flock 9

PG_HOST=127.0.0.1
need=()
command -v pg_ctlcluster >/dev/null || need+=(postgresql)
command -v redis-server >/dev/null || need+=(redis-server)
command -v rabbitmq-server >/dev/null || need+=(rabbitmq-server)
# The Sentinel failover test starts its own sentinels (test/broker/private-sentinel.ts).
command -v redis-sentinel >/dev/null || need+=(redis-sentinel)
/usr/bin/python3 -c 'import celery, redis' 2>/dev/null || need+=(python3-celery python3-redis)
/usr/bin/python3 -c 'import amqp' 2>/dev/null || need+=(python3-amqp)
# Serializer interop (test/serial): Celery's msgpack serializer and auth serializer (X.509 signing).
/usr/bin/python3 -c 'import msgpack, cryptography' 2>/dev/null || need+=(python3-msgpack python3-cryptography)
# The benchmark's Celery rows (npm run bench): SQLAlchemy result backend on Postgres, and W3's django-celery-beat.
/usr/bin/python3 -c 'import sqlalchemy, psycopg2, django_celery_beat' 2>/dev/null || need+=(python3-sqlalchemy python3-psycopg2 python3-django-celery-beat)
# Django interop (test/django): a scratch Django 3.2 project with django-celery-results and -beat 2.4.
/usr/bin/python3 -c 'import django, django_celery_results, django_celery_beat' 2>/dev/null || need+=(python3-django python3-django-celery-results python3-django-celery-beat)
command -v chromium >/dev/null || need+=(chromium)
command -v openssl >/dev/null || need+=(openssl) # certificates for the auth serializer tests
if ((${#need[@]})); then
  echo "ensure-services: installing ${need[*]}"
  if [ "$(id -u)" != 0 ]; then echo "ensure-services: need root to apt-get install ${need[*]}" >&2; exit 1; fi
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${need[@]}" >/dev/null
fi

if ! pg_isready -h "$PG_HOST" -p 5432 -q 2>/dev/null; then
  echo "ensure-services: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
  for _ in $(seq 1 50); do pg_isready -h "$PG_HOST" -p 5432 -q && break; sleep 0.2; done
fi
psql_cmd() { if [ "$(id -u)" = 0 ]; then su postgres -c "psql -qtAc \"$1\""; else psql -h "$PG_HOST" -U postgres -qtAc "$1"; fi; }
if ! psql -h "$PG_HOST" -U postgres -d test -qtAc 'select 1' >/dev/null 2>&1; then
  echo "ensure-services: creating database test and allowing local TCP logins"
  psql_cmd "select 1 from pg_database where datname = 'test'" | grep -q 1 || psql_cmd "CREATE DATABASE test"
  hba=$(su postgres -c "psql -qtAc 'show hba_file'")
  sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+$/\1trust/' "$hba"
  su postgres -c "psql -qtAc 'select pg_reload_conf()'" >/dev/null
fi

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "ensure-services: starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no
  for _ in $(seq 1 50); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 0.2; done
fi

# RabbitMQ: Debian's package, started detached when nothing answers on 5672 (it takes a while to boot).
amqp_up() { (echo >/dev/tcp/127.0.0.1/5672) 2>/dev/null; }
if ! amqp_up; then
  echo "ensure-services: starting RabbitMQ"
  rabbitmq-server -detached
  for _ in $(seq 1 300); do amqp_up && break; sleep 0.5; done
  amqp_up || { echo "ensure-services: RabbitMQ did not start on 127.0.0.1:5672" >&2; exit 1; }
fi
