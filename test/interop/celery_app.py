"""A real Celery 5.2 app for the interop tests, on Redis or RabbitMQ (test/interop/*.test.ts).

Run only with /usr/bin/python3 (Debian's celery 5.2.6 / kombu 5.2.4 / redis-py 4.3.4 / py-amqp 5.1.1).

Environment:
  INTEROP_BROKER_URL   redis://127.0.0.1:6379/0, or amqp://guest:guest@127.0.0.1:5672/<the test file's vhost>
  INTEROP_KEY_PREFIX   Redis: the Celeriac keyPrefix of the test app; given to kombu as global_keyprefix,
                       so both sides read and write the same queue keys and pub/sub channels
  INTEROP_RECORD_URL   a Redis where interop.record RPUSHes what it ran (a side channel for the test,
                       not the broker); the broker itself when that is Redis
  INTEROP_RECORD_KEY   that Redis list (a full key: the prefix is NOT added), in the order the tasks ran
"""
import json
import os
import time

import redis
from celery import Celery

BROKER_URL = os.environ.get('INTEROP_BROKER_URL', 'redis://127.0.0.1:6379/0')
ON_AMQP = BROKER_URL.startswith(('amqp', 'pyamqp'))
KEY_PREFIX = os.environ.get('INTEROP_KEY_PREFIX', '')
RECORD_URL = os.environ.get('INTEROP_RECORD_URL', 'redis://127.0.0.1:6379/0' if ON_AMQP else BROKER_URL)
RECORD_KEY = os.environ.get('INTEROP_RECORD_KEY', 'interop:records')

app = Celery('celery_app', broker=BROKER_URL)
app.conf.update(
    task_serializer='json',
    accept_content=['json'],
    # No result backend: Celeriac keeps results in Postgres, and what a Python worker did is
    # observed through RECORD_KEY instead.
    result_backend=None,
    task_ignore_result=True,
    # One message at a time, so the order the worker runs them in is the order the broker serves
    # priorities in (kombu's Redis buckets: 0 first; RabbitMQ: highest first).
    worker_prefetch_multiplier=1,
    worker_hijack_root_logger=False,
    enable_utc=True,
    timezone='UTC',
    broker_connection_retry_on_startup=True,
)
if ON_AMQP:
    # Both sides declare task queues with x-max-priority 10 (Celeriac: queueMaxPriority: 10);
    # RabbitMQ refuses a queue declared twice with different arguments.
    app.conf.update(task_queue_max_priority=10, task_default_priority=0)
else:
    app.conf.update(broker_transport_options={'global_keyprefix': KEY_PREFIX})

_records = redis.Redis.from_url(RECORD_URL)


def _record(task_id, args, kwargs, retries=0, eta=None, priority=None, routing_key=None):
    _records.rpush(RECORD_KEY, json.dumps({
        'args': list(args),
        'kwargs': kwargs,
        'task_id': task_id,
        'retries': retries,
        'eta': eta if eta is None or isinstance(eta, str) else eta.isoformat(),
        'priority': priority,
        'routing_key': routing_key,
        'ran_at_ms': int(time.time() * 1000),
    }))


@app.task(name='interop.record', bind=True)
def record(self, *args, **kwargs):
    req = self.request
    info = req.delivery_info or {}
    _record(req.id, args, kwargs, req.retries, req.eta, info.get('priority'), info.get('routing_key'))
    return None


@app.task(name='interop.double')
def double(x):
    """A step of a work-flow a Celeriac app sends: runs here, then hands its result on."""
    _record(double.request.id, [x], {}, routing_key='double')
    return x * 2
