"""A real Celery 5.2 app for the interop tests (test/interop/celery-interop.test.ts).

Run only with /usr/bin/python3 (Debian's celery 5.2.6 / kombu 5.2.4 / redis-py 4.3.4).

Environment:
  INTEROP_BROKER_URL   redis://127.0.0.1:6379/0
  INTEROP_KEY_PREFIX   the Celeriac keyPrefix of the test app; given to kombu as global_keyprefix,
                       so both sides read and write the same queue keys and pub/sub channels
  INTEROP_RECORD_KEY   a Redis list (a full key: the prefix is NOT added) where interop.record
                       RPUSHes one JSON line per run, in the order the tasks ran
"""
import json
import os
import time

import redis
from celery import Celery

BROKER_URL = os.environ.get('INTEROP_BROKER_URL', 'redis://127.0.0.1:6379/0')
KEY_PREFIX = os.environ.get('INTEROP_KEY_PREFIX', '')
RECORD_KEY = os.environ.get('INTEROP_RECORD_KEY', 'interop:records')

app = Celery('celery_app', broker=BROKER_URL)
app.conf.update(
    broker_transport_options={'global_keyprefix': KEY_PREFIX},
    task_serializer='json',
    accept_content=['json'],
    # No result backend: Celeriac keeps results in Postgres, and what a Python worker did is
    # observed through RECORD_KEY instead.
    result_backend=None,
    task_ignore_result=True,
    # One message at a time, so the order the worker runs them in is the order kombu's BRPOP
    # serves the priority buckets (bucket 0 first).
    worker_prefetch_multiplier=1,
    worker_hijack_root_logger=False,
    enable_utc=True,
    timezone='UTC',
    broker_connection_retry_on_startup=True,
)

_records = redis.Redis.from_url(BROKER_URL)


@app.task(name='interop.record', bind=True)
def record(self, *args, **kwargs):
    req = self.request
    _records.rpush(RECORD_KEY, json.dumps({
        'args': list(args),
        'kwargs': kwargs,
        'task_id': req.id,
        'retries': req.retries,
        'eta': req.eta if req.eta is None or isinstance(req.eta, str) else req.eta.isoformat(),
        'priority': (req.delivery_info or {}).get('priority'),
        'routing_key': (req.delivery_info or {}).get('routing_key'),
        'ran_at_ms': int(time.time() * 1000),
    }))
    return None


@app.task(name='interop.double')
def double(x):
    """A step of a work-flow a Celeriac app sends: runs here, then hands its result on."""
    _records.rpush(RECORD_KEY, json.dumps({'args': [x], 'kwargs': {}, 'task_id': double.request.id,
                                           'retries': 0, 'eta': None, 'priority': None,
                                           'routing_key': 'double', 'ran_at_ms': int(time.time() * 1000)}))
    return x * 2
