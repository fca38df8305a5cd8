"""A real Celery 5.2 app on RabbitMQ for test/interop/celery-amqp.test.ts.

Run only with /usr/bin/python3 (Debian's celery 5.2.6 / kombu 5.2.4 / py-amqp 5.1.1).

Environment:
  INTEROP_BROKER_URL   amqp://guest:guest@127.0.0.1:5672/<the test file's vhost>
  INTEROP_RECORD_URL   a Redis URL where interop.record RPUSHes one JSON line per run (a side
                       channel for the test to see what the Python worker did; not the broker)
  INTEROP_RECORD_KEY   the Redis list
"""
import json
import os
import time

import redis
from celery import Celery

app = Celery('celery_amqp_app', broker=os.environ['INTEROP_BROKER_URL'])
app.conf.update(
    task_serializer='json',
    accept_content=['json'],
    result_backend=None,
    task_ignore_result=True,
    # Both sides declare task queues with x-max-priority 10 (Celeriac: queueMaxPriority: 10);
    # RabbitMQ refuses a queue declared twice with different arguments.
    task_queue_max_priority=10,
    task_default_priority=0,
    worker_prefetch_multiplier=1,
    worker_hijack_root_logger=False,
    enable_utc=True,
    timezone='UTC',
    broker_connection_retry_on_startup=True,
)

_records = redis.Redis.from_url(os.environ.get('INTEROP_RECORD_URL', 'redis://127.0.0.1:6379/0'))
RECORD_KEY = os.environ.get('INTEROP_RECORD_KEY', 'interop:amqp:records')


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
