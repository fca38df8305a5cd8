"""The tiny Celery 5.2 app of test/interop/celery-inspect.test.ts: `celery -A celery_inspect_app
inspect ping` and friends against Celeriac workers, and a Python worker Celeriac inspects.

Run only with /usr/bin/python3 (Debian's celery 5.2.6 / kombu 5.2.4).

Environment:
  INSPECT_BROKER_URL   redis://127.0.0.1:6379/0
  INSPECT_KEY_PREFIX   the Celeriac keyPrefix of the test app, given to kombu as global_keyprefix:
                       the pidbox channel, the reply queues and their binding set carry it on both sides
"""
import os

from celery import Celery

app = Celery('celery_inspect_app', broker=os.environ.get('INSPECT_BROKER_URL', 'redis://127.0.0.1:6379/0'))
app.conf.update(
    broker_transport_options={'global_keyprefix': os.environ.get('INSPECT_KEY_PREFIX', '')},
    result_backend=None,
    task_ignore_result=True,
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
)


@app.task(name='pyrc.add')
def add(a, b):
    return a + b
