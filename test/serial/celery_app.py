"""A real Celery 5.2 app for the serializer interop tests (test/serial/celery-serial.test.ts).

Run only with /usr/bin/python3 (Debian's celery 5.2.6 / kombu 5.2.4 / msgpack 1.0.3).
Environment as test/interop/celery_app.py: INTEROP_BROKER_URL, INTEROP_KEY_PREFIX (kombu's
global_keyprefix), INTEROP_RECORD_KEY (a full key where serial.record RPUSHes one JSON line per run).
"""
import json
import os

import redis
from celery import Celery

BROKER_URL = os.environ.get('INTEROP_BROKER_URL', 'redis://127.0.0.1:6379/0')
KEY_PREFIX = os.environ.get('INTEROP_KEY_PREFIX', '')
RECORD_KEY = os.environ.get('INTEROP_RECORD_KEY', 'serial:records')

app = Celery('celery_app', broker=BROKER_URL)
app.conf.update(
    broker_transport_options={'global_keyprefix': KEY_PREFIX},
    task_serializer='json',
    accept_content=['json', 'msgpack'],
    result_backend=None,
    task_ignore_result=True,
    worker_hijack_root_logger=False,
    enable_utc=True,
    timezone='UTC',
    broker_connection_retry_on_startup=True,
)

_records = redis.Redis.from_url(BROKER_URL)


@app.task(name='serial.record', bind=True)
def record(self, *args, **kwargs):
    _records.rpush(RECORD_KEY, json.dumps({'id': self.request.id, 'args': list(args), 'kwargs': kwargs}))
