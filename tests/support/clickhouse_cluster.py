"""Two local ``clickhouse-server`` processes as a cluster of two shards (one replica each).

Each server gets its own loopback ports (native, HTTP, interserver), its own data, tmp, log
and user-files folders under one directory, and a config generated here naming the cluster
``segmentd`` of both. They run as plain processes (no systemd, no service), in their own
process group, and die with the test process even after a ``kill -9`` of it
(``PR_SET_PDEATHSIG``). ``docs/analytics-cluster.md`` says why and which version.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from clickhouse_driver import Client
from clickhouse_driver.errors import Error as ClickHouseError

CLUSTER = "segmentd"
# Debian installs the server into /usr/sbin, off a non-root PATH.
_CANDIDATES = ("clickhouse-server", "/usr/sbin/clickhouse-server")
_START_ATTEMPTS = 300  # 0.1 s apart: a cold start on a busy 2-core machine takes ~1-5 s
_STOP_WAIT_S = 20


def server_binary() -> str | None:
    """The ``clickhouse-server`` executable: ``SEGMENTD_TEST_CLICKHOUSE_SERVER`` when set (only
    it), else the one on PATH or Debian's."""
    given = os.environ.get("SEGMENTD_TEST_CLICKHOUSE_SERVER")
    for candidate in (given,) if given else _CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


@dataclass(frozen=True)
class ShardPorts:
    tcp: int
    http: int
    interserver: int


@dataclass
class ShardServer:
    number: int
    root: Path
    ports: ShardPorts
    process: subprocess.Popen[bytes] | None = None

    def client(self, **settings: object) -> Client:
        return Client("127.0.0.1", port=self.ports.tcp, settings=dict(settings))

    def log_tail(self, lines: int = 30) -> str:
        texts = []
        for name in ("stderr.log", "log/server.err.log"):
            path = self.root / name
            if path.exists():
                texts.append(f"--- {name}\n" + "\n".join(path.read_text().splitlines()[-lines:]))
        return "\n".join(texts)


def free_ports(count: int) -> list[int]:
    """Ports the kernel gives free now (a race with other processes is possible, rare)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _remote_servers(shards: Sequence[ShardServer]) -> str:
    listed = "".join(
        "<shard><internal_replication>true</internal_replication><replica>"
        f"<host>127.0.0.1</host><port>{shard.ports.tcp}</port>"
        "</replica></shard>"
        for shard in shards
    )
    return f"<remote_servers><{CLUSTER}>{listed}</{CLUSTER}></remote_servers>"


def _config_xml(shard: ShardServer, remote_servers: str) -> str:
    root = shard.root
    # Small caches: two servers share a 2-core machine with the rest of the suite.
    return f"""<?xml version="1.0"?>
<yandex>
  <logger>
    <level>warning</level>
    <log>{root}/log/server.log</log>
    <errorlog>{root}/log/server.err.log</errorlog>
    <size>10M</size>
    <count>1</count>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>{shard.ports.tcp}</tcp_port>
  <http_port>{shard.ports.http}</http_port>
  <interserver_http_port>{shard.ports.interserver}</interserver_http_port>
  <interserver_http_host>127.0.0.1</interserver_http_host>
  <path>{root}/data/</path>
  <tmp_path>{root}/tmp/</tmp_path>
  <user_files_path>{root}/user_files/</user_files_path>
  <format_schema_path>{root}/format_schemas/</format_schema_path>
  <mark_cache_size>67108864</mark_cache_size>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <max_concurrent_queries>50</max_concurrent_queries>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <macros><shard>{shard.number}</shard><replica>r1</replica></macros>
  {remote_servers}
</yandex>
"""


_USERS_XML = """<?xml version="1.0"?>
<yandex>
  <!-- Small read buffers: a FINAL read over the members table opens every column (two per
       custom field slot) of every part, 1 MiB each by default. -->
  <profiles><default>
    <max_memory_usage>1000000000</max_memory_usage>
    <max_read_buffer_size>131072</max_read_buffer_size>
  </default></profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas><default><interval>
    <duration>3600</duration><queries>0</queries><errors>0</errors>
    <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time>
  </interval></default></quotas>
</yandex>
"""


def _die_with_parent() -> None:
    # Runs in the child before exec: SIGKILL the server when the test process goes away.
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class ClickHouseCluster:
    """Start with ``start()``, stop with ``stop()`` (safe to call twice)."""

    def __init__(self, binary: str, root: Path, shard_count: int = 2) -> None:
        self.binary = binary
        ports = free_ports(3 * shard_count)
        self.shards = [
            ShardServer(number, root / f"shard{number}", ShardPorts(*ports[3 * i : 3 * i + 3]))
            for i, number in enumerate(range(1, shard_count + 1))
        ]

    def start(self) -> None:
        remote = _remote_servers(self.shards)
        for shard in self.shards:
            self._write_config(shard, remote)
            self.start_shard(shard)
        for shard in self.shards:
            self.wait_ready(shard)

    def _write_config(self, shard: ShardServer, remote: str) -> None:
        for folder in ("data", "tmp", "log", "user_files", "format_schemas"):
            (shard.root / folder).mkdir(parents=True, exist_ok=True)
        (shard.root / "config.xml").write_text(_config_xml(shard, remote))
        (shard.root / "users.xml").write_text(_USERS_XML)

    def start_shard(self, shard: ShardServer) -> None:
        stderr = (shard.root / "stderr.log").open("ab")
        shard.process = subprocess.Popen(
            [self.binary, f"--config-file={shard.root / 'config.xml'}"],
            cwd=shard.root,
            stdin=subprocess.DEVNULL,
            stdout=stderr,
            stderr=stderr,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        stderr.close()

    def wait_ready(self, shard: ShardServer) -> None:
        for _ in range(_START_ATTEMPTS):
            if shard.process is not None and shard.process.poll() is not None:
                raise RuntimeError(f"shard {shard.number} exited at start:\n{shard.log_tail()}")
            # A bare connect first: the driver logs a traceback for each refused attempt.
            try:
                socket.create_connection(("127.0.0.1", shard.ports.tcp), timeout=1).close()
                shard.client().execute("SELECT 1")
                return
            except (ClickHouseError, OSError, EOFError):
                time.sleep(0.1)
        raise RuntimeError(f"shard {shard.number} did not answer:\n{shard.log_tail()}")

    def stop_shard(self, shard: ShardServer, *, crash: bool = False) -> None:
        """Stop the server: a clean shutdown, or with ``crash`` a SIGKILL (as a lost machine)."""
        process, shard.process = shard.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGKILL if crash else signal.SIGTERM)
        try:
            process.wait(_STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def stop(self) -> None:
        for shard in self.shards:
            self.stop_shard(shard)

    def client(self, shard: int = 0, **settings: object) -> Client:
        return self.shards[shard].client(**settings)
