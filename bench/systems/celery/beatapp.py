"""W3 (bench/workloads/w3.js): benchapp plus django-celery-beat's DatabaseScheduler, for
`celery -A beatapp beat -S django_celery_beat.schedulers:DatabaseScheduler` and the worker that
runs what it sends. Schedules live in Postgres (beatsettings.py), never in a local file.

Records, to Redis DB 4 (the harness reads them): the worker each run's start as
`<schedule>||<start ms>|<task id>` (django-celery-beat does not say which slot a run is for: the
harness assigns a schedule's runs to its slots in order), and the beat each send, after the
publish, as `<schedule>||<sent ms>|<task id>`, buffered and pushed every 200 ms from a thread so
the records cost the beat's loop almost nothing.
"""
import os
import threading
import time

os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'beatsettings')
import django  # noqa: E402

django.setup()

import redis  # noqa: E402
from celery import signals  # noqa: E402

from benchapp import app, env, _say  # noqa: E402,F401

app.conf.update(timezone='UTC', enable_utc=True, beat_scheduler='django_celery_beat.schedulers:DatabaseScheduler')

_exec = None


def _redis():
    global _exec
    if _exec is None:
        _exec = redis.Redis.from_url(env['BENCH_EXEC_URL'])
    return _exec


@app.task(name='bench.beat', bind=True)
def beat_record(self, i):
    _redis().rpush(env['BENCH_EXEC_KEY'] + 'w3:start', '%s||%d|%s' % (i, int(time.time() * 1000), self.request.id))
    return None


if env.get('BENCH_ROLE') == 'beat':
    _sent = []

    def _flush_forever():
        while True:
            time.sleep(0.2)
            if _sent:
                batch = _sent[:]
                del _sent[: len(batch)]
                _redis().rpush(env['BENCH_EXEC_KEY'] + 'w3:sent', *batch)

    threading.Thread(target=_flush_forever, daemon=True).start()

    @signals.after_task_publish.connect
    def _sent_one(sender=None, headers=None, body=None, **_):
        if sender == 'bench.beat':
            _sent.append('%s||%d|%s' % (body[0][0], int(time.time() * 1000), headers['id']))

    @signals.beat_init.connect
    def _ready(**_):
        _say('BENCH_READY')
