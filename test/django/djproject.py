"""A scratch Django 3.2 project for the django-mode tests (test/django/*.test.ts): Django's settings,
a Celery 5.2 app with the django-db result backend (django-celery-results 2.4) and beat's
DatabaseScheduler tables (django-celery-beat 2.4), and a few commands the tests run.

Run only with /usr/bin/python3 (Debian's Django 3.2, celery 5.2.6, django-celery-* 2.4).

Environment:
  DJ_SCHEMA       the Postgres schema Django's tables live in (search_path), the test's own
  DJ_DATABASE     the database (default test); DJ_HOST, DJ_PORT, DJ_USER as the test's Postgres
  DJ_BROKER_URL   the broker (Redis); DJ_KEY_PREFIX its kombu global_keyprefix (= the Celeriac keyPrefix)

Commands (one JSON line on stdout each):
  migrate                   manage.py migrate for contenttypes, auth, django_celery_results, django_celery_beat
  taskresult <id>           TaskResult.objects.get(task_id=id), every field
  asyncresult <id>          Celery's AsyncResult(id) through the django-db backend: state, result, args
  group <id>                GroupResult.restore(id): the member ids
  worker <queue>            a Celery worker on <queue> running dj.* with results in Django's tables
"""
import json
import os
import sys

import django
from django.conf import settings

settings.configure(
    SECRET_KEY='celeriac-django-tests',
    INSTALLED_APPS=['django.contrib.contenttypes', 'django.contrib.auth', 'django_celery_results', 'django_celery_beat'],
    DATABASES={'default': {
        'ENGINE': 'django.db.backends.postgresql',
        'NAME': os.environ.get('DJ_DATABASE', 'test'),
        'HOST': os.environ.get('DJ_HOST', '127.0.0.1'),
        'PORT': os.environ.get('DJ_PORT', '5432'),
        'USER': os.environ.get('DJ_USER', 'postgres'),
        'OPTIONS': {'options': '-c search_path=' + os.environ['DJ_SCHEMA']},
    }},
    USE_TZ=True,
    TIME_ZONE='UTC',
    DEFAULT_AUTO_FIELD='django.db.models.AutoField',
)
django.setup()

from celery import Celery  # noqa: E402

app = Celery('djproject', broker=os.environ.get('DJ_BROKER_URL', 'redis://127.0.0.1:6379/0'))
app.conf.update(
    result_backend='django-db',
    result_extended=True,
    task_serializer='json',
    accept_content=['json'],
    broker_transport_options={'global_keyprefix': os.environ.get('DJ_KEY_PREFIX', '')},
    worker_hijack_root_logger=False,
    enable_utc=True,
    timezone='UTC',
    broker_connection_retry_on_startup=True,
)


@app.task(name='dj.add')
def add(a, b):
    return a + b


@app.task(name='dj.fail')
def fail(message):
    raise ValueError(message)


def out(value):
    print(json.dumps(value, default=str), flush=True)


def main(cmd, *args):
    if cmd == 'migrate':
        from django.core.management import call_command
        call_command('migrate', verbosity=0)
        return out({'migrated': True})
    if cmd == 'taskresult':
        from django_celery_results.models import TaskResult
        r = TaskResult.objects.get(task_id=args[0])
        return out({f.name: getattr(r, f.name) for f in TaskResult._meta.fields})
    if cmd == 'asyncresult':
        from celery.result import AsyncResult
        r = AsyncResult(args[0], app=app)
        result = r.result
        if isinstance(result, Exception):
            result = {'exc_type': type(result).__name__, 'exc_message': str(result)}
        return out({'state': r.state, 'result': result, 'args': r.args, 'kwargs': r.kwargs, 'name': r.name,
                    'worker': r.worker, 'traceback': r.traceback})
    if cmd == 'group':
        from celery.result import GroupResult
        g = GroupResult.restore(args[0], app=app)
        return out({'ids': [r.id for r in g.results] if g else None})
    if cmd == 'worker':
        app.worker_main(['worker', '-Q', args[0], '-c', '1', '-P', 'solo', '-n', 'py-django@test', '--loglevel=INFO',
                         '--without-gossip', '--without-mingle', '--without-heartbeat'])
        return
    raise SystemExit(f'unknown command {cmd!r}')


if __name__ == '__main__':
    main(*sys.argv[1:])
