"""A storage interface whose implementation is chosen from settings at run time."""

import abc
import time

import boto3


class Storage(abc.ABC):
    @abc.abstractmethod
    def save(self, key, data): ...

    def load(self, key):
        raise NotImplementedError


class S3Storage(Storage):
    def save(self, key, data):
        boto3.client("s3").put_object(Bucket="b", Key=key, Body=data)

    def load(self, key):
        return boto3.client("s3").get_object(Bucket="b", Key=key)


class LocalStorage(Storage):
    def save(self, key, data):
        with open(key, "wb") as handle:
            handle.write(data)


class SlowLocal(LocalStorage):
    def save(self, key, data):
        time.sleep(1)


class MemoryStorage(Storage):
    def save(self, key, data):
        return None
