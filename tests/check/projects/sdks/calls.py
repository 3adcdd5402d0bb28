"""Sync SDK clients in async routes (catalogue: loopsight.check.rules.sdks)."""

import docker
import h5py
import ldap3
import pandas as pd
import paramiko
import pika
from anthropic import Anthropic
from azure.storage.blob import BlobServiceClient
from elasticsearch import Elasticsearch
from fastapi import FastAPI
from google.cloud import bigquery, storage
from kafka import KafkaProducer
from openai import OpenAI
from openpyxl import load_workbook
from opensearchpy import OpenSearch
from PIL import Image

app = FastAPI()
llm = OpenAI()
claude = Anthropic()
es = Elasticsearch("http://localhost:9200")


@app.get("/cloud")
async def cloud():
    bucket = storage.Client().bucket("b")  # OK
    blob = bucket.blob("k")  # OK
    blob.upload_from_string("x")  # LS102
    bigquery.Client().query("select 1").result()  # LS102
    service = BlobServiceClient.from_connection_string("c")
    service.get_blob_client("c", "b").download_blob().readall()  # LS102
    llm.chat.completions.create(model="m", messages=[])  # LS102
    llm.embeddings.create(model="m", input="x")  # LS102
    return claude.messages.create(model="m", messages=[], max_tokens=1)  # LS102


@app.get("/sockets")
async def sockets():
    ssh = paramiko.SSHClient()  # OK
    ssh.connect("host")  # LS103
    ssh.open_sftp().get("a", "b")  # LS103
    ldap3.Connection("server").bind()  # LS103
    pika.BlockingConnection().channel().basic_publish("", "q", b"x")  # LS103
    KafkaProducer().flush()  # LS103
    return docker.from_env().containers.run("image")  # LS103


@app.get("/files")
async def files():
    h5py.File("data.h5")  # LS105
    image = Image.open("in.png")  # LS105
    image.resize((1, 1)).save("out.png")  # LS105
    load_workbook("book.xlsx").save("copy.xlsx")  # LS105
    frame = pd.read_csv("data.csv")  # LS105
    frame.to_parquet("data.parquet")  # LS105
    return pd.read_sql("select 1", "sqlite://")  # LS106


@app.get("/search")
async def search():
    es.indices.refresh(index="i")  # LS106
    OpenSearch().search(index="i")  # LS106
    return es.search(index="i")  # LS106
