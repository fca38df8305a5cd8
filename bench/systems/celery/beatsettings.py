"""Django settings for W3's django-celery-beat (bench/workloads/w3.js): only its models, in the
benchmark's Postgres database and the Celery system's schema (bench_celery, through search_path),
so teardown's DROP SCHEMA removes them with everything else Celery made."""
import os
from urllib.parse import urlparse

_url = urlparse(os.environ.get('BENCH_DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/test'))
_schema = os.environ.get('BENCH_SCHEMA', 'bench_celery')

SECRET_KEY = 'bench-only'
USE_TZ = True
TIME_ZONE = 'UTC'
INSTALLED_APPS = ['django_celery_beat']
DEFAULT_AUTO_FIELD = 'django.db.models.AutoField'
DATABASES = {
    'default': {
        'ENGINE': 'django.db.backends.postgresql',
        'NAME': _url.path.lstrip('/'),
        'USER': _url.username or 'postgres',
        'PASSWORD': _url.password or '',
        'HOST': _url.hostname,
        'PORT': _url.port or 5432,
        'OPTIONS': {'options': '-c search_path=%s' % _schema},
    }
}
