# Ping'an Anshun: `make run` starts the platform, `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help

.PHONY: help setup run test lint format bench load backup restore messages scale

help:
	@echo "make run    install what is missing, start Postgres/PostGIS + Redis, migrate, load Anshun, serve"
	@echo "make test   the same set-up against throwaway services, run every test, stop them"
	@echo "make lint   ruff check + format check"
	@echo "make bench  benchmarks (ratios against a same-run baseline)"
	@echo "make load   Locust: 100 users for 5 minutes against gunicorn + a worker (USERS=, DURATION=)"
	@echo "make scale  five years of data in throwaway services, every issue-#14 page timed (SCALE=0.05, REPEAT=)"
	@echo "make backup / make restore BACKUP=backups/<timestamp>  database + uploaded files"

setup:
	@scripts/setup.sh

run: setup
	@scripts/run.sh

test: setup
	@scripts/test.sh $(PYTEST_ARGS)

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

format: setup
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

bench: setup
	@scripts/bench.sh $(TOPICS)

load: setup
	@scripts/load.sh

scale: setup
	@scripts/scale.sh

backup: setup
	@scripts/backup.sh

restore: setup
	@scripts/restore.sh

messages: setup
	.venv/bin/python manage.py makemessages -l zh_Hans -l en --ignore=.venv --ignore=.local
	.venv/bin/python manage.py makemessages -d djangojs -l zh_Hans -l en --ignore=.venv --ignore=.local
