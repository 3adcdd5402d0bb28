"""Sync SDK clients FastAPI apps call, catalogued under the LS1xx codes their I/O belongs to.

Every entry here is a call that does network or file I/O before it returns (no entry for
calls that only build a request or a local handle, such as ``storage.Client().bucket(name)``
or ``BlobServiceClient.get_blob_client``: those only type the value they return).

- Cloud SDKs as HTTP (LS102): google-cloud storage and bigquery clients, azure-storage-blob
  service/container/blob clients and azure-keyvault secrets, openai and anthropic sync clients
  (``client.chat.completions.create``, ``client.messages.create``, the 0.x module-level
  ``openai.ChatCompletion.create``); botocore's ``BaseClient`` joins boto3 clients (LS107).
- Sockets (LS103): paramiko SSH/SFTP, ldap3 connections, pika ``BlockingConnection`` and its
  channels, kafka-python producers/consumers, confluent-kafka ``flush``/``poll``, the docker
  SDK (``docker.from_env().containers.run``).
- Files (LS105): ``h5py.File``, ``netCDF4.Dataset``, PIL ``Image.open``/``save``, openpyxl
  ``load_workbook``/``Workbook.save``, pandas ``read_*`` and ``DataFrame.to_*`` with a path.
- Databases (LS106): elasticsearch/opensearch sync clients (and their ``.indices``),
  ``pandas.read_sql*``/``DataFrame.to_sql``.

bcrypt, passlib and argon2 are in the LS2xx family (CPU); pymongo, redis, SQLAlchemy, boto3
and smtplib in :mod:`loopsight.check.rules.blocking`.
"""

from __future__ import annotations

from typing import ClassVar

from loopsight.check.rules._registry import Methods, RuleFamily, each, instance, register

__all__ = ["SyncClients"]

_OPENAI_METHODS = "create list retrieve delete update parse stream upload content cancel"
_PANDAS_READ = "read_csv read_excel read_parquet read_json read_feather read_pickle read_table "
_PANDAS_READ += "read_orc read_stata read_sas read_spss read_hdf read_fwf read_xml"


@register
class SyncClients(RuleFamily):
    """Catalogue only: sync SDK clients whose methods do I/O (codes of the LS1xx family)."""

    calls: ClassVar[dict[str, str]] = {
        **each("openai.", "ChatCompletion.create Completion.create Embedding.create", "LS102"),
        **each(
            "openai.",
            "chat.completions.create completions.create embeddings.create images.generate "
            "moderations.create",
            "LS102",
        ),
        "paramiko.Transport": "LS103",
        "pika.BlockingConnection": "LS103",
        "kafka.KafkaProducer": "LS103",
        "kafka.KafkaConsumer": "LS103",
        "h5py.File": "LS105",
        "netCDF4.Dataset": "LS105",
        "PIL.Image.open": "LS105",
        "openpyxl.load_workbook": "LS105",
        **each("pandas.", _PANDAS_READ, "LS105"),
        **each("pandas.", "read_sql read_sql_query read_sql_table", "LS106"),
    }

    methods: ClassVar[dict[str, Methods]] = {
        "google.cloud.storage.Client()": instance(
            "LS102", "get_bucket list_blobs list_buckets create_bucket lookup_bucket"
        ),
        "google.cloud.storage.Bucket()": instance(
            "LS102",
            "get_blob list_blobs exists reload delete create patch update delete_blob "
            "delete_blobs copy_blob rename_blob",
        ),
        "google.cloud.storage.Blob()": instance(
            "LS102",
            "upload_from_filename upload_from_string upload_from_file download_as_bytes "
            "download_as_string download_as_text download_to_filename download_to_file "
            "exists reload delete patch update compose rewrite",
        ),
        "google.cloud.bigquery.Client()": instance(
            "LS102",
            "query_and_wait get_table get_dataset list_rows insert_rows insert_rows_json "
            "create_table create_dataset delete_table delete_dataset list_tables "
            "list_datasets load_table_from_dataframe load_table_from_file "
            "load_table_from_uri load_table_from_json update_table",
        ),
        "google.cloud.bigquery.QueryJob()": instance("LS102", "result to_dataframe"),
        "azure.storage.blob.BlobServiceClient()": instance(
            "LS102",
            "create_container delete_container list_containers get_service_properties "
            "get_account_information",
        ),
        "azure.storage.blob.ContainerClient()": instance(
            "LS102",
            "upload_blob download_blob delete_blob delete_blobs list_blobs list_blob_names "
            "create_container delete_container exists get_container_properties",
        ),
        "azure.storage.blob.BlobClient()": instance(
            "LS102",
            "upload_blob download_blob delete_blob exists get_blob_properties "
            "set_blob_metadata start_copy_from_url",
        ),
        "azure.storage.blob.StorageStreamDownloader()": instance(
            "LS102", "readall readinto content_as_bytes content_as_text chunks"
        ),
        "azure.keyvault.secrets.SecretClient()": instance(
            "LS102",
            "get_secret set_secret list_properties_of_secrets begin_delete_secret "
            "update_secret_properties",
        ),
        "openai.OpenAI()": instance("LS102", "get post put patch delete request"),
        "openai.Resource()": instance("LS102", _OPENAI_METHODS),
        "anthropic.Anthropic()": instance("LS102", "get post put patch delete request"),
        "anthropic.Resource()": instance("LS102", "create stream count_tokens list retrieve"),
        "paramiko.SSHClient()": instance("LS103", "connect exec_command open_sftp invoke_shell"),
        "paramiko.SFTPClient()": instance(
            "LS103",
            "get put open listdir listdir_attr stat lstat remove unlink rename mkdir rmdir "
            "chdir getfo putfo",
        ),
        "ldap3.Connection()": instance(
            "LS103", "bind rebind search add modify modify_dn delete compare start_tls unbind open"
        ),
        "pika.BlockingConnection()": instance("LS103", "channel close process_data_events sleep"),
        "pika.BlockingChannel()": instance(
            "LS103",
            "basic_publish basic_get basic_consume basic_ack basic_nack basic_qos "
            "queue_declare queue_bind queue_delete queue_purge exchange_declare "
            "exchange_delete start_consuming consume confirm_delivery",
        ),
        "kafka.KafkaProducer()": instance("LS103", "send flush close partitions_for"),
        "kafka.KafkaConsumer()": instance(
            "LS103", "poll commit committed seek_to_beginning seek_to_end topics close"
        ),
        "confluent_kafka.Producer()": instance("LS103", "flush poll list_topics"),
        "confluent_kafka.Consumer()": instance("LS103", "poll consume commit list_topics close"),
        "docker.DockerClient()": instance("LS103", "ping info version login df events close"),
        "docker.Collection()": instance(
            "LS103", "run create get list pull push prune build remove load"
        ),
        "docker.Container()": instance(
            "LS103",
            "start stop restart kill remove wait logs exec_run reload commit attach pause "
            "unpause put_archive get_archive stats top",
        ),
        "elasticsearch.Elasticsearch()": instance(
            "LS106",
            "search index get delete update bulk count exists ping info mget msearch scroll "
            "delete_by_query update_by_query create clear_scroll open_point_in_time",
        ),
        "elasticsearch.IndicesClient()": instance(
            "LS106",
            "create delete exists refresh put_mapping get_mapping get put_settings "
            "get_settings get_alias put_alias delete_alias",
        ),
        "PIL.Image.Image()": instance("LS105", "save"),
        "openpyxl.Workbook()": instance("LS105", "save"),
        "pandas.DataFrame()": instance(
            "LS105", "to_csv to_excel to_parquet to_feather to_pickle to_hdf to_orc"
        ),
    }

    returns: ClassVar[dict[str, str]] = {
        "google.cloud.storage.Client().bucket": "google.cloud.storage.Bucket()",
        "google.cloud.storage.Client().get_bucket": "google.cloud.storage.Bucket()",
        "google.cloud.storage.Client().lookup_bucket": "google.cloud.storage.Bucket()",
        "google.cloud.storage.Bucket().blob": "google.cloud.storage.Blob()",
        "google.cloud.storage.Bucket().get_blob": "google.cloud.storage.Blob()",
        "google.cloud.bigquery.Client().query": "google.cloud.bigquery.QueryJob()",
        "azure.storage.blob.BlobServiceClient.from_connection_string": (
            "azure.storage.blob.BlobServiceClient()"
        ),
        "azure.storage.blob.BlobServiceClient().get_container_client": (
            "azure.storage.blob.ContainerClient()"
        ),
        "azure.storage.blob.BlobServiceClient().get_blob_client": (
            "azure.storage.blob.BlobClient()"
        ),
        "azure.storage.blob.ContainerClient().get_blob_client": ("azure.storage.blob.BlobClient()"),
        "azure.storage.blob.ContainerClient.from_connection_string": (
            "azure.storage.blob.ContainerClient()"
        ),
        "azure.storage.blob.BlobClient.from_connection_string": "azure.storage.blob.BlobClient()",
        "azure.storage.blob.BlobClient().download_blob": (
            "azure.storage.blob.StorageStreamDownloader()"
        ),
        "azure.storage.blob.ContainerClient().download_blob": (
            "azure.storage.blob.StorageStreamDownloader()"
        ),
        "paramiko.SSHClient().open_sftp": "paramiko.SFTPClient()",
        "paramiko.SFTPClient.from_transport": "paramiko.SFTPClient()",
        "pika.BlockingConnection().channel": "pika.BlockingChannel()",
        "docker.from_env": "docker.DockerClient()",
        "docker.Collection().run": "docker.Container()",
        "docker.Collection().get": "docker.Container()",
        "docker.Collection().create": "docker.Container()",
        "PIL.Image.open": "PIL.Image.Image()",
        "PIL.Image.new": "PIL.Image.Image()",
        **each("PIL.Image.Image().", "convert resize crop rotate copy", "PIL.Image.Image()"),
        "openpyxl.load_workbook": "openpyxl.Workbook()",
        **each("pandas.", _PANDAS_READ, "pandas.DataFrame()"),
    }

    attr_types: ClassVar[dict[str, str]] = {
        "openai.OpenAI()": "openai.Resource()",
        "openai.Resource()": "openai.Resource()",
        "anthropic.Anthropic()": "anthropic.Resource()",
        "anthropic.Resource()": "anthropic.Resource()",
        "docker.DockerClient()": "docker.Collection()",
        "elasticsearch.Elasticsearch()": "elasticsearch.IndicesClient()",
    }

    aliases: ClassVar[dict[str, str]] = {
        "botocore.client.BaseClient": "boto3.Client",
        "google.cloud.storage.client.Client": "google.cloud.storage.Client",
        "google.cloud.bigquery.client.Client": "google.cloud.bigquery.Client",
        "openai.AzureOpenAI": "openai.OpenAI",
        "openai.Client": "openai.OpenAI",
        "anthropic.Client": "anthropic.Anthropic",
        "anthropic.AnthropicBedrock": "anthropic.Anthropic",
        "anthropic.AnthropicVertex": "anthropic.Anthropic",
        "opensearchpy.OpenSearch": "elasticsearch.Elasticsearch",
        "elasticsearch.client.Elasticsearch": "elasticsearch.Elasticsearch",
        "docker.client.DockerClient": "docker.DockerClient",
        "docker.client.from_env": "docker.from_env",
        "PIL.Image.Image.open": "PIL.Image.open",
        "ldap3.core.connection.Connection": "ldap3.Connection",
        "paramiko.client.SSHClient": "paramiko.SSHClient",
        "pika.adapters.blocking_connection.BlockingConnection": "pika.BlockingConnection",
    }
