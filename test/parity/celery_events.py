"""Celery's side of test/parity/celery-events.test.ts, for Debian's /usr/bin/python3 (celery 5.2.6).

  python3 celery_events.py capture   an EventReceiver printing one JSON line per event it receives
  python3 -m celery -A celery_events worker -E ...   a Celery worker running the same tasks as
                                     test/fixtures/parity (parity.add, parity.boom), sending events

Environment: PARITY_BROKER_URL (redis://127.0.0.1:6379/0) and PARITY_KEY_PREFIX, the Celeriac app's
keyPrefix, given to kombu as global_keyprefix so both sides use the same queues and event channels.
"""
import json
import os
import sys

from celery import Celery

app = Celery('celery_events', broker=os.environ.get('PARITY_BROKER_URL', 'redis://127.0.0.1:6379/0'))
app.conf.update(
    broker_transport_options={'global_keyprefix': os.environ.get('PARITY_KEY_PREFIX', '')},
    task_serializer='json',
    accept_content=['json'],
    result_backend=None,
    task_ignore_result=True,
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
)


class BoomError(Exception):
    pass


@app.task(name='parity.add')
def add(a, b):
    return a + b


@app.task(name='parity.boom')
def boom(message):
    raise BoomError(message)


FIELDS = ('type', 'uuid', 'name', 'hostname', 'result', 'exception', 'args', 'retries', 'queue', 'root_id')


def capture():
    def on_event(event):
        print(json.dumps({k: event.get(k) for k in FIELDS}, default=str), flush=True)

    with app.connection() as conn:
        receiver = app.events.Receiver(conn, handlers={'*': on_event})
        print(json.dumps({'type': 'capture-started'}), flush=True)
        receiver.capture(limit=None, timeout=None, wakeup=True)


if __name__ == '__main__' and sys.argv[1:] == ['capture']:
    capture()
