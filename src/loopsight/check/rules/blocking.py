"""LS1xx: calls that block the event loop (sleep, network, files, processes, databases, waits)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from loopsight.check._hooks import CallSeen
from loopsight.check.rules._registry import Methods, Rule, RuleFamily, each, instance, register

if TYPE_CHECKING:
    from loopsight.check._config import CheckConfig

__all__ = ["BlockingCalls"]

_HTTP_VERBS = "get post put patch delete head options request"
_AFTER = " (or move the call into `await run_in_threadpool(fn, ...)`)"
#: One metadata syscall each (microseconds on a local disk): LS120, not LS105.
_METADATA = frozenset(
    [
        "os.path.exists",
        "os.path.lexists",
        "os.path.isfile",
        "os.path.isdir",
        "os.path.islink",
        "os.path.ismount",
        "os.path.getsize",
        "os.path.getmtime",
        "os.path.getatime",
        "os.path.getctime",
        "os.path.samefile",
        "os.path.realpath",
        "os.stat",
        "os.lstat",
        "os.readlink",
        "os.mkdir",
        "os.makedirs",
        "os.chmod",
        "os.utime",
        # one directory-entry change each: no data is read or written
        "os.remove",
        "os.unlink",
        "os.rename",
        "os.replace",
        "os.symlink",
        "os.link",
        "os.rmdir",
        "os.chown",
        "shutil.chown",
        "shutil.which",  # a stat per PATH entry
    ]
)
_PATH_METADATA = frozenset(
    [
        "exists",
        "is_file",
        "is_dir",
        "is_symlink",
        "stat",
        "lstat",
        "mkdir",
        "touch",
        "unlink",
        "resolve",
        "samefile",
        "owner",
        "group",
        "readlink",
        "chmod",
        "rename",
        "replace",
        "symlink_to",
        "hardlink_to",
        "rmdir",
    ]
)


@register
class BlockingCalls(RuleFamily):
    """Blocking I/O and waits, matched on canonical callees and on methods of known types."""

    rules: ClassVar[tuple[Rule, ...]] = (
        Rule(
            "LS100",
            "configured-blocking-call",
            "Blocking call (configured)",
            "await an async equivalent, or `await run_in_threadpool(fn, ...)`",
        ),
        Rule("LS101", "blocking-sleep", "Blocking sleep", "use `await asyncio.sleep(...)`"),
        Rule(
            "LS102",
            "blocking-http-call",
            "Blocking HTTP call",
            "use `httpx.AsyncClient` and `await client.get(...)`" + _AFTER,
        ),
        Rule(
            "LS103",
            "blocking-socket-call",
            "Blocking socket call",
            "use `asyncio.open_connection` or `loop.sock_*`" + _AFTER,
        ),
        Rule(
            "LS104",
            "blocking-subprocess",
            "Blocking subprocess call",
            "use `await asyncio.create_subprocess_exec(...)`" + _AFTER,
        ),
        Rule(
            "LS105",
            "blocking-file-io",
            "Blocking file I/O",
            "use `anyio.open_file` / `anyio.Path`, or `await run_in_threadpool(fn, ...)`",
        ),
        Rule(
            "LS106",
            "blocking-database-call",
            "Blocking database call",
            "use an async driver (`AsyncSession`, asyncpg, aiosqlite, redis.asyncio, motor), "
            "or declare the route with `def`",
        ),
        Rule(
            "LS107",
            "blocking-aws-call",
            "Blocking AWS SDK call",
            "use aioboto3/aiobotocore, or `await run_in_threadpool(client.method, ...)`",
        ),
        Rule(
            "LS108",
            "blocking-smtp-call",
            "Blocking SMTP call",
            "use `aiosmtplib`, or send mail from a sync background task",
        ),
        Rule(
            "LS109",
            "blocking-input",
            "Blocking read from stdin `{callee}()`",
            "never read stdin in a server; take the value from the request or configuration",
        ),
        Rule(
            "LS110",
            "blocking-wait",
            "Blocking wait on a thread primitive",
            "use `asyncio.Lock` / `asyncio.Event` / `asyncio.Queue`, or "
            "`await run_in_threadpool(...)` for the wait",
        ),
        Rule(
            "LS111",
            "sync-twin-of-async-method",
            "Sync method with an async twin",
            "await the async twin instead (`arun` for `run`, `async_get` for `get`)",
            # A twin says the method may wait, not that it does: 1 real stall in 37 judged on
            # the field corpus (in-memory caches with async variants), so it is opt-in.
            severity="possible",
        ),
        Rule(
            "LS120",
            "file-metadata-call",
            "File metadata call",
            "usually fine on a local disk; on a network file system use `anyio.Path` or "
            "`await run_in_threadpool(fn, ...)`",
            severity="possible",
        ),
        Rule(
            "LS121",
            "blocking-call-first-call-only",
            "Blocking call on a first call only (lazy init or cached)",
            "do the work at startup (lifespan), or `await run_in_threadpool(fn, ...)` on first use",
            severity="possible",
        ),
        Rule(
            "LS122",
            "blocking-call-guarded",
            "Blocking call behind a debug/test flag, a Windows-only branch or a running-loop check",
            "nothing, if the guard holds in production; else see the call's own rule",
            severity="possible",
        ),
    )

    def on_call(self, call: CallSeen) -> str | None:
        """Cheap, once-only and guarded calls get the ``possible`` codes; a lock around
        in-memory state only, an awaited method (the object is async, whatever its annotation
        says: ``await db.execute(...)`` on an ``AsyncSession`` typed ``Session``), a call told
        not to wait and file calls on memory or kernel files are not reported. An awaited
        function (``await time.sleep(1)``) still blocks before the ``await`` fails."""
        code = call.code
        awaited_method = call.awaited and "()." in call.callee
        if awaited_method or call.no_wait or (code == "LS105" and call.no_disk):
            return None
        if code == "LS110" and call.lock_body == "memory":
            return None
        if code == "LS105" and (call.opened_only or _is_metadata(call.callee)):
            return "LS120"
        if call.guard:
            return "LS122"
        if call.once or (code == "LS110" and call.lock_body == "lazy"):
            return "LS121"
        return code

    def configured_calls(self, config: CheckConfig) -> dict[str, str]:
        """LS100: the project's own blocking calls (``extra-blocking-calls``)."""
        return dict.fromkeys(config.extra_blocking_calls, "LS100")

    calls: ClassVar[dict[str, str]] = {
        "time.sleep": "LS101",
        **each("requests.", _HTTP_VERBS, "LS102"),
        **each("requests.api.", _HTTP_VERBS, "LS102"),
        **each("httpx.", _HTTP_VERBS + " stream", "LS102"),
        "urllib.request.urlopen": "LS102",
        "urllib.request.urlretrieve": "LS102",
        "urllib3.request": "LS102",
        **each(
            "socket.",
            "create_connection getaddrinfo gethostbyname gethostbyname_ex gethostbyaddr getfqdn",
            "LS103",
        ),
        **each(
            "subprocess.",
            "run call check_call check_output getoutput getstatusoutput Popen",
            "LS104",
        ),
        **each(
            "os.",
            "system popen wait waitpid wait3 wait4 waitid spawnl spawnle spawnlp "
            "spawnlpe spawnv spawnve spawnvp spawnvpe posix_spawn posix_spawnp",
            "LS104",
        ),
        "builtins.open": "LS105",
        "io.open": "LS105",
        "io.open_code": "LS105",
        "codecs.open": "LS105",
        "gzip.open": "LS105",
        "bz2.open": "LS105",
        "lzma.open": "LS105",
        **each(
            "os.",
            "listdir scandir walk remove unlink rename renames replace makedirs mkdir "
            "rmdir removedirs stat lstat fsync truncate chmod chown link symlink readlink "
            "utime open read write sendfile",
            "LS105",
        ),
        **each(
            "os.path.",
            "exists lexists isfile isdir islink ismount getsize getmtime getatime "
            "getctime samefile realpath",
            "LS105",
        ),
        **each(
            "shutil.",
            "copy copy2 copyfile copyfileobj copytree rmtree move make_archive "
            "unpack_archive disk_usage chown which",
            "LS105",
        ),
        **each("sqlite3.", "connect", "LS106"),
        **each("psycopg2.", "connect", "LS106"),
        **each("psycopg.", "connect", "LS106"),
        "psycopg.Connection.connect": "LS106",
        **each("pymysql.", "connect", "LS106"),
        **each("MySQLdb.", "connect", "LS106"),
        "mysql.connector.connect": "LS106",
        "smtplib.SMTP": "LS108",
        "smtplib.SMTP_SSL": "LS108",
        "smtplib.LMTP": "LS108",
        "builtins.input": "LS109",
        **each("concurrent.futures.", "wait as_completed", "LS110"),
    }

    methods: ClassVar[dict[str, Methods]] = {
        "requests.Session()": instance("LS102", _HTTP_VERBS + " send"),
        "httpx.Client()": instance("LS102", _HTTP_VERBS + " send stream"),
        "urllib.request.OpenerDirector()": instance("LS102", "open"),
        "urllib3.PoolManager()": instance(
            "LS102", "request urlopen request_encode_url request_encode_body"
        ),
        "urllib3.HTTPConnectionPool()": instance("LS102", "request urlopen"),
        "http.client.HTTPConnection()": instance(
            "LS102", "request getresponse connect send endheaders"
        ),
        "socket.socket()": instance(
            "LS103",
            "connect accept recv recv_into recvfrom recvfrom_into send sendall sendto sendfile",
        ),
        "subprocess.Popen()": instance("LS104", "wait communicate"),
        "pathlib.Path()": instance(
            "LS105",
            "read_text read_bytes write_text write_bytes open exists is_file is_dir "
            "is_symlink stat lstat mkdir unlink rmdir rename replace iterdir glob rglob touch "
            "resolve samefile chmod owner group symlink_to hardlink_to readlink",
        ),
        "sqlite3.Connection()": instance(
            "LS106", "execute executemany executescript commit rollback backup"
        ),
        "sqlite3.Cursor()": instance(
            "LS106", "execute executemany executescript fetchone fetchmany fetchall"
        ),
        "psycopg2.connection()": instance("LS106", "commit rollback"),
        "psycopg2.cursor()": instance(
            "LS106",
            "execute executemany fetchone fetchmany fetchall callproc copy_expert "
            "copy_from copy_to",
        ),
        "psycopg.Connection()": instance("LS106", "execute commit rollback"),
        "psycopg.Cursor()": instance(
            "LS106", "execute executemany fetchone fetchmany fetchall copy"
        ),
        "pymysql.Connection()": instance("LS106", "commit rollback ping query select_db"),
        "pymysql.Cursor()": instance(
            "LS106", "execute executemany fetchone fetchmany fetchall callproc"
        ),
        "pymongo.MongoClient()": instance(
            "LS106", "server_info list_database_names list_databases drop_database"
        ),
        "pymongo.Database()": instance(
            "LS106", None, exclude="get_collection with_options get_database"
        ),
        "pymongo.Collection()": instance(
            "LS106", None, exclude="with_options get_collection name full_name database"
        ),
        "pymongo.Cursor()": instance("LS106", "next to_list"),
        "redis.Redis()": instance(
            "LS106", None, exclude="pipeline pubsub lock register_script get_connection_kwargs"
        ),
        "redis.Pipeline()": instance("LS106", "execute"),
        "sqlalchemy.Engine()": instance("LS106", "connect begin execute raw_connection"),
        "sqlalchemy.Connection()": instance(
            "LS106", "execute exec_driver_sql commit rollback scalar scalars"
        ),
        "sqlalchemy.orm.Session()": instance(
            "LS106", "execute exec scalar scalars get get_one commit flush refresh merge connection"
        ),
        "sqlalchemy.orm.Query()": instance(
            "LS106", "all first one one_or_none scalar count get delete update"
        ),
        "boto3.Client()": instance(
            "LS107",
            None,
            exclude="get_paginator get_waiter can_paginate generate_presigned_url "
            "generate_presigned_post meta exceptions close",
        ),
        "boto3.Paginator()": instance("LS107", "paginate"),
        "boto3.Resource()": instance("LS107", None, exclude="meta"),
        "smtplib.SMTP()": instance(
            "LS108", "connect login sendmail send_message starttls ehlo helo quit noop verify"
        ),
        "threading.Lock()": instance("LS110", "acquire"),
        "threading.Condition()": instance("LS110", "acquire wait wait_for"),
        "threading.Semaphore()": instance("LS110", "acquire"),
        "threading.Event()": instance("LS110", "wait"),
        "threading.Thread()": instance("LS110", "join"),
        "threading.Barrier()": instance("LS110", "wait"),
        "queue.Queue()": instance("LS110", "get put join"),
        "multiprocessing.Queue()": instance("LS110", "get put join"),
    }

    returns: ClassVar[dict[str, str]] = {
        "requests.session": "requests.Session()",
        "urllib.request.build_opener": "urllib.request.OpenerDirector()",
        "socket.create_connection": "socket.socket()",
        "socket.socket().accept": "socket.socket()",
        "pathlib.Path.home": "pathlib.Path()",
        "pathlib.Path.cwd": "pathlib.Path()",
        **each(
            "pathlib.Path().",
            "joinpath with_name with_suffix with_stem resolve absolute expanduser relative_to",
            "pathlib.Path()",
        ),
        "sqlite3.connect": "sqlite3.Connection()",
        "sqlite3.Connection().cursor": "sqlite3.Cursor()",
        "sqlite3.Connection().execute": "sqlite3.Cursor()",
        "psycopg2.connect": "psycopg2.connection()",
        "psycopg2.connection().cursor": "psycopg2.cursor()",
        "psycopg.connect": "psycopg.Connection()",
        "psycopg.Connection.connect": "psycopg.Connection()",
        "psycopg.Connection().cursor": "psycopg.Cursor()",
        "psycopg.Connection().execute": "psycopg.Cursor()",
        "pymysql.connect": "pymysql.Connection()",
        "pymysql.Connection().cursor": "pymysql.Cursor()",
        "MySQLdb.connect": "pymysql.Connection()",
        "mysql.connector.connect": "pymysql.Connection()",
        "pymongo.MongoClient().get_database": "pymongo.Database()",
        "pymongo.Database().get_collection": "pymongo.Collection()",
        "pymongo.Collection().find": "pymongo.Cursor()",
        "redis.from_url": "redis.Redis()",
        "redis.Redis.from_url": "redis.Redis()",
        "redis.Redis().pipeline": "redis.Pipeline()",
        "sqlalchemy.create_engine": "sqlalchemy.Engine()",
        "sqlalchemy.engine_from_config": "sqlalchemy.Engine()",
        "sqlalchemy.Engine().connect": "sqlalchemy.Connection()",
        "sqlalchemy.Engine().begin": "sqlalchemy.Connection()",
        "sqlalchemy.orm.sessionmaker()": "sqlalchemy.orm.Session()",
        "sqlalchemy.orm.scoped_session()": "sqlalchemy.orm.Session()",
        "sqlalchemy.orm.Session().query": "sqlalchemy.orm.Query()",
        **each(
            "sqlalchemy.orm.Query().",
            "filter filter_by order_by join outerjoin limit offset "
            "options where group_by having distinct",
            "sqlalchemy.orm.Query()",
        ),
        "boto3.client": "boto3.Client()",
        "boto3.resource": "boto3.Resource()",
        "boto3.Session().client": "boto3.Client()",
        "boto3.Session().resource": "boto3.Resource()",
        "botocore.session.Session().create_client": "boto3.Client()",
        "boto3.Client().get_paginator": "boto3.Paginator()",
        "smtplib.SMTP_SSL": "smtplib.SMTP()",
        "smtplib.LMTP": "smtplib.SMTP()",
    }

    attr_types: ClassVar[dict[str, str]] = {
        "pymongo.MongoClient()": "pymongo.Database()",
        "pymongo.Database()": "pymongo.Collection()",
        "pathlib.Path()": "pathlib.Path()",
    }

    aliases: ClassVar[dict[str, str]] = {
        "requests.sessions.Session": "requests.Session",
        "requests.sessions.session": "requests.session",
        "httpx._client.Client": "httpx.Client",
        "urllib3.poolmanager.PoolManager": "urllib3.PoolManager",
        "urllib3.connectionpool.HTTPConnectionPool": "urllib3.HTTPConnectionPool",
        "urllib3.HTTPSConnectionPool": "urllib3.HTTPConnectionPool",
        "http.client.HTTPSConnection": "http.client.HTTPConnection",
        "pathlib.PosixPath": "pathlib.Path",
        "pathlib.WindowsPath": "pathlib.Path",
        "psycopg.connection.Connection": "psycopg.Connection",
        "pymongo.mongo_client.MongoClient": "pymongo.MongoClient",
        "pymongo.database.Database": "pymongo.Database",
        "pymongo.collection.Collection": "pymongo.Collection",
        "redis.StrictRedis": "redis.Redis",
        "redis.client.Redis": "redis.Redis",
        "redis.client.StrictRedis": "redis.Redis",
        "sqlalchemy.engine.create_engine": "sqlalchemy.create_engine",
        "sqlalchemy.engine.Engine": "sqlalchemy.Engine",
        "sqlalchemy.engine.base.Engine": "sqlalchemy.Engine",
        "sqlalchemy.engine.Connection": "sqlalchemy.Connection",
        "sqlalchemy.engine.base.Connection": "sqlalchemy.Connection",
        "sqlalchemy.orm.session.Session": "sqlalchemy.orm.Session",
        "sqlalchemy.orm.session.sessionmaker": "sqlalchemy.orm.sessionmaker",
        "sqlalchemy.orm.Query": "sqlalchemy.orm.Query",
        "sqlalchemy.orm.query.Query": "sqlalchemy.orm.Query",
        "sqlmodel.Session": "sqlalchemy.orm.Session",
        "sqlmodel.orm.session.Session": "sqlalchemy.orm.Session",
        "sqlmodel.create_engine": "sqlalchemy.create_engine",
        "boto3.session.Session": "boto3.Session",
        "botocore.session.get_session()": "botocore.session.Session()",
        "smtplib.SMTP_SSL()": "smtplib.SMTP()",
        "threading.RLock": "threading.Lock",
        "threading.BoundedSemaphore": "threading.Semaphore",
        "queue.LifoQueue": "queue.Queue",
        "queue.PriorityQueue": "queue.Queue",
        "queue.SimpleQueue": "queue.Queue",
        "multiprocessing.queues.Queue": "multiprocessing.Queue",
    }


def _is_metadata(callee: str) -> bool:
    receiver, _, method = callee.rpartition(".")
    return callee in _METADATA or (receiver.startswith("pathlib.Path") and method in _PATH_METADATA)
