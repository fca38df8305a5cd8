"""The benchmark's Celery 5 app (Debian's python3-celery), for `celery -A benchapp worker` and sender.py.

Settings beyond Celery's defaults, each for a stated reason:
- result backend on Postgres (SQLAlchemy `db+postgresql://`) with result_extended, so results are
  recorded as Celeriac records them; tables in their own schema (database_table_schemas);
- task_acks_late, the at-least-once guarantee Celeriac gives by default; with the threads pool,
  the celery/celery#6941 workaround (BENCH_THREADS_WAKE), without which its late acks stall;
- visibility_timeout 60 s (default 3600 s), so W4 sees redelivery within minutes, not an hour;
- global_keyprefix and Redis DB 3, to keep its keys apart from every other system's.
"""
import os
import sys
import time

import redis
from celery import Celery, signals

env = os.environ
app = Celery('bench')
app.conf.update(
    broker_url=env['BENCH_BROKER_URL'],
    broker_transport_options={'global_keyprefix': env['BENCH_KEYPREFIX'], 'visibility_timeout': 60},
    result_backend=env['BENCH_RESULT_URL'],
    result_extended=True,
    database_table_schemas={'task': env['BENCH_SCHEMA'], 'group': env['BENCH_SCHEMA']},
    task_default_queue='bench',
    task_acks_late=env.get('BENCH_ACKS_LATE', '1') == '1',
    worker_redirect_stdouts=False,
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
)

_exec = None


@app.task(name='bench.noop')
def noop():
    return None


@app.task(name='bench.collect')
def collect(results):
    """W5: the chord callback; gets every member's result, returns how many it got."""
    return len(results)


@app.task(name='bench.sleep')
def sleep_record(bench_id, ms):
    global _exec
    if _exec is None:
        _exec = redis.Redis.from_url(env['BENCH_EXEC_URL'])
    key = env['BENCH_EXEC_KEY']
    _exec.rpush(key + 'start', bench_id)
    time.sleep(ms / 1000)
    _exec.rpush(key + 'end', bench_id)
    return None


def _say(line):
    sys.__stdout__.write(line + '\n')
    sys.__stdout__.flush()


@signals.worker_init.connect
def _t0(**_):
    _say('BENCH_T0 %d' % int(time.time() * 1000))


@signals.worker_ready.connect
def _ready(sender=None, **_):
    wake = float(env.get('BENCH_THREADS_WAKE', '0'))
    if wake > 0:
        # celery/celery#6941: with -P threads the consumer sends acks (and fetches more) only when
        # its event loop wakes for network I/O, which can take seconds; a repeating no-op timer
        # bounds that. The workaround given in that issue, applied to the threads pool only.
        sender.timer.call_repeatedly(wake, lambda *a, **k: None)
    _say('BENCH_READY')
