"""Task-queue workers run their own loops: Celery, Dramatiq, Taskiq (with a startup hook)."""

import time

import dramatiq
from celery import Celery
from taskiq import TaskiqEvents
from taskiq_redis import ListQueueBroker

celery_app = Celery("svc")
broker = ListQueueBroker("redis://")


@celery_app.task
async def celery_job():
    time.sleep(1)  # OK: a Celery worker


@dramatiq.actor
async def dramatiq_job():
    time.sleep(1)  # OK: a Dramatiq worker


@broker.task
async def taskiq_job():
    time.sleep(1)  # OK: a Taskiq worker


@broker.on_event(TaskiqEvents.WORKER_STARTUP)
async def startup(state):
    time.sleep(1)  # OK: a Taskiq worker's startup hook
