"""A real Celery 5.2 app for the serializer interop tests (test/serial/celery-serial.test.ts).

Run only with /usr/bin/python3 (Debian's celery 5.2.6 / kombu 5.2.4 / msgpack 1.0.3).
Environment as test/interop/celery_app.py: INTEROP_BROKER_URL (redis:// or amqp://), INTEROP_KEY_PREFIX
(kombu's global_keyprefix on Redis), INTEROP_RECORD_URL, INTEROP_RECORD_KEY (a full key where serial.record RPUSHes one JSON line per run).
With SERIAL_AUTH_KEY, SERIAL_AUTH_CERT and SERIAL_AUTH_STORE (PEM files, a glob of trusted
certificates) the app signs and verifies with Celery's auth serializer (app.setup_security()).
"""
import json
import os

import redis
from celery import Celery

BROKER_URL = os.environ.get('INTEROP_BROKER_URL', 'redis://127.0.0.1:6379/0')
ON_AMQP = BROKER_URL.startswith(('amqp', 'pyamqp'))
KEY_PREFIX = os.environ.get('INTEROP_KEY_PREFIX', '')
RECORD_URL = os.environ.get('INTEROP_RECORD_URL', 'redis://127.0.0.1:6379/0' if ON_AMQP else BROKER_URL)
RECORD_KEY = os.environ.get('INTEROP_RECORD_KEY', 'serial:records')

app = Celery('celery_app', broker=BROKER_URL)
app.conf.update(
    broker_transport_options={} if ON_AMQP else {'global_keyprefix': KEY_PREFIX},
    task_serializer='json',
    accept_content=['json', 'msgpack'],
    result_backend=None,
    task_ignore_result=True,
    worker_hijack_root_logger=False,
    enable_utc=True,
    timezone='UTC',
    broker_connection_retry_on_startup=True,
)

if os.environ.get('SERIAL_AUTH_KEY'):
    app.conf.update(
        security_key=os.environ['SERIAL_AUTH_KEY'],
        security_certificate=os.environ['SERIAL_AUTH_CERT'],
        security_cert_store=os.environ['SERIAL_AUTH_STORE'],
        task_serializer='auth',
        accept_content=['auth'],
    )
    app.setup_security()

_records = redis.Redis.from_url(RECORD_URL)


@app.task(name='serial.record', bind=True)
def record(self, *args, **kwargs):
    _records.rpush(RECORD_KEY, json.dumps({'id': self.request.id, 'args': list(args), 'kwargs': kwargs}))
