# Image for web, worker and beat (docker-compose.yml). Debian 12 like the development machines.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_SETTINGS_MODULE=anshun.settings.production
RUN apt-get update \
 && apt-get install -y --no-install-recommends gdal-bin libgdal32 libgeos-c1v5 libproj25 gettext nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.lock pyproject.toml ./
RUN pip install --no-cache-dir -r requirements.lock
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY . .
RUN pip install --no-cache-dir --no-deps -e . \
 && DJANGO_SECRET_KEY=build-only DJANGO_ALLOWED_HOSTS=localhost REDIS_URL=redis://localhost \
    DATABASE_URL=postgis://build@localhost/build python manage.py compilemessages -v0 --ignore=.venv \
 && DJANGO_SECRET_KEY=build-only DJANGO_ALLOWED_HOSTS=localhost REDIS_URL=redis://localhost \
    DATABASE_URL=postgis://build@localhost/build python manage.py collectstatic --no-input -v0
RUN useradd --system --home /app anshun && mkdir -p /app/media && chown anshun /app/media
USER anshun
EXPOSE 8000
CMD ["gunicorn", "anshun.wsgi:application", "--config", "gunicorn.conf.py"]
