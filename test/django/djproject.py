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
  schedule <json>           a PeriodicTask created with the ORM: {name, task, interval|crontab|solar|clocked: {...},
                            args, kwargs, one_off, start_time, expires, enabled} (args/kwargs as Python values)
  edit <name> <json>        PeriodicTask fields set and saved with the ORM (which bumps periodic_tasks.last_update)
  delete <name>             PeriodicTask deleted with the ORM
  periodic <name>           the PeriodicTask's fields, its schedule's, and periodic_tasks.last_update (null if none)
  adminlist [query]         Django's admin Task results list (/admin/django_celery_results/taskresult/?query) as a
                            superuser sees it: the rows' list columns, which ids the page shows, whether it filters on PENDING
  pybeat                    Python beat's view: DatabaseScheduler.all_as_schedule(), each entry's task, args, schedule
  periodic_results <name>   TaskResult rows with that periodic_task_name: their task ids
  chord <json>              chord(header, body).apply_async() with the django-db backend (apply_chord makes the
                            ChordCounter): {header: [{task, args, queue}], body: {task, queue}}; the ids
  chordcounter <group id>   the ChordCounter row: sub_tasks, count (null once the chord completed)
  worker <queue>            a Celery worker on <queue> running dj.* with results in Django's tables
"""
import json
import os
import sys
from datetime import datetime

import django
from django.conf import settings

settings.configure(
    SECRET_KEY='celeriac-django-tests',
    INSTALLED_APPS=['django.contrib.contenttypes', 'django.contrib.auth', 'django.contrib.sessions',
                    'django.contrib.messages', 'django.contrib.admin', 'django_celery_results', 'django_celery_beat'],
    MIDDLEWARE=['django.contrib.sessions.middleware.SessionMiddleware',
                'django.contrib.auth.middleware.AuthenticationMiddleware',
                'django.contrib.messages.middleware.MessageMiddleware'],
    TEMPLATES=[{'BACKEND': 'django.template.backends.django.DjangoTemplates', 'APP_DIRS': True,
                'OPTIONS': {'context_processors': ['django.template.context_processors.request',
                                                   'django.contrib.auth.context_processors.auth',
                                                   'django.contrib.messages.context_processors.messages']}}],
    ROOT_URLCONF=__name__,
    ALLOWED_HOSTS=['testserver'],
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
from django.contrib import admin  # noqa: E402
from django.urls import path  # noqa: E402

urlpatterns = [path('admin/', admin.site.urls)]

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


@app.task(name='dj.tsum')
def tsum(values):
    return sum(values)


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
    if cmd == 'schedule':
        from django_celery_beat import models as m
        spec = json.loads(args[0])
        fields = {'name': spec['name'], 'task': spec['task'], 'args': json.dumps(spec.get('args', [])),
                  'kwargs': json.dumps(spec.get('kwargs', {})), 'one_off': spec.get('one_off', False),
                  'enabled': spec.get('enabled', True)}
        for key in ('start_time', 'expires'):
            if spec.get(key):
                fields[key] = datetime.fromisoformat(spec[key].replace('Z', '+00:00'))
        if 'interval' in spec:
            fields['interval'], _ = m.IntervalSchedule.objects.get_or_create(**spec['interval'])
        if 'crontab' in spec:
            fields['crontab'], _ = m.CrontabSchedule.objects.get_or_create(**spec['crontab'])
        if 'solar' in spec:
            fields['solar'], _ = m.SolarSchedule.objects.get_or_create(**spec['solar'])
        if 'clocked' in spec:
            at = datetime.fromisoformat(spec['clocked']['clocked_time'].replace('Z', '+00:00'))
            fields['clocked'], _ = m.ClockedSchedule.objects.get_or_create(clocked_time=at)
        t = m.PeriodicTask.objects.create(**fields)
        return out({'id': t.id})
    if cmd == 'edit':
        from django_celery_beat.models import PeriodicTask
        t = PeriodicTask.objects.get(name=args[0])
        for key, value in json.loads(args[1]).items():
            setattr(t, key, json.dumps(value) if key in ('args', 'kwargs') else value)
        t.save()
        return out({'saved': t.id})
    if cmd == 'delete':
        from django_celery_beat.models import PeriodicTask
        PeriodicTask.objects.get(name=args[0]).delete()
        return out({'deleted': args[0]})
    if cmd == 'periodic':
        from django_celery_beat.models import PeriodicTask
        from django_celery_beat.models import PeriodicTasks
        t = PeriodicTask.objects.filter(name=args[0]).first()
        if t is None:
            return out(None)
        schedule = t.interval or t.crontab or t.solar or t.clocked
        fields = {f.name: getattr(schedule, f.name) for f in schedule._meta.fields if f.name != 'id'}
        return out({'id': t.id, 'enabled': t.enabled, 'last_run_at': t.last_run_at,
                    'total_run_count': t.total_run_count, 'date_changed': t.date_changed, 'task': t.task,
                    'args': json.loads(t.args), 'kwargs': json.loads(t.kwargs), 'headers': json.loads(t.headers),
                    'queue': t.queue, 'one_off': t.one_off, 'start_time': t.start_time, 'expires': t.expires,
                    'description': t.description, 'schedule': {'kind': type(schedule).__name__, **fields},
                    'last_update': PeriodicTasks.last_change()})
    if cmd == 'adminlist':
        from django.contrib.auth.models import User
        from django.test import Client
        from django.test.utils import setup_test_environment
        setup_test_environment()
        user = User.objects.filter(username='admin').first() or User.objects.create_superuser('admin', '', 'pw')
        client = Client()
        client.force_login(user)
        response = client.get('/admin/django_celery_results/taskresult/?' + (args[0] if args else ''))
        cl = response.context['cl']
        columns = cl.list_display[1:]  # after the action checkbox
        rows = [{c: str(getattr(r, c)) if getattr(r, c) is not None else None for c in columns} for r in cl.result_list]
        html = response.content.decode()
        return out({'status': response.status_code, 'columns': list(columns), 'rows': rows,
                    'rendered': [r.task_id for r in cl.result_list if r.task_id in html],
                    'status_filter': 'status__exact=PENDING' in html})
    if cmd == 'pybeat':
        from django_celery_beat.schedulers import DatabaseScheduler
        s = DatabaseScheduler(app=app, lazy=True)
        return out({name: {'task': e.task, 'args': list(e.args), 'kwargs': e.kwargs, 'schedule': repr(e.schedule)}
                    for name, e in s.all_as_schedule().items()})
    if cmd == 'periodic_results':
        from django_celery_results.models import TaskResult
        rows = TaskResult.objects.filter(periodic_task_name=args[0]).order_by('date_created')
        return out({'ids': [r.task_id for r in rows], 'statuses': [r.status for r in rows]})
    if cmd == 'chord':
        from celery import chord, signature
        spec = json.loads(args[0])
        header = [signature(h['task'], args=h.get('args', []), queue=h['queue'], app=app) for h in spec['header']]
        body = signature(spec['body']['task'], queue=spec['body']['queue'], app=app)
        r = chord(header)(body)
        return out({'id': r.id, 'group': r.parent.id, 'members': [m.id for m in r.parent.results]})
    if cmd == 'chordcounter':
        from django_celery_results.models import ChordCounter
        c = ChordCounter.objects.filter(group_id=args[0]).first()
        return out(c and {'sub_tasks': json.loads(c.sub_tasks), 'count': c.count})
    if cmd == 'worker':
        app.worker_main(['worker', '-Q', args[0], '-c', '1', '-P', 'solo', '-n', 'py-django@test', '--loglevel=INFO',
                         '--without-gossip', '--without-mingle', '--without-heartbeat'])
        return
    raise SystemExit(f'unknown command {cmd!r}')


if __name__ == '__main__':
    main(*sys.argv[1:])
