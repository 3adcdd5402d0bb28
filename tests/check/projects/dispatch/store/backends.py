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
        boto3.client("s3").put_object(Bucket="b", Key=key, Body=data)  # LS107 [route: PUT /{key}]

    def load(self, key):
        return boto3.client("s3").get_object(Bucket="b", Key=key)  # LS107


class LocalStorage(Storage):
    def save(self, key, data):
        with open(key, "wb") as handle:  # LS105 [route: PUT /{key}]
            handle.write(data)


class SlowLocal(LocalStorage):
    def save(self, key, data):
        time.sleep(1)  # LS101 [route: PUT /{key}]


class MemoryStorage(Storage):
    def save(self, key, data):
        return None
