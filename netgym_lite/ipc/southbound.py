"""Southbound bookkeeping of a NetworkGym broker: which external env worker serves which client.

Pure Python (no sockets), used by :class:`netgym_lite.ipc.zmq_server.ZmqServer`. It follows NetworkGym's broker
(design.md §4) where that is sound and tightens it where NetworkGym could hang or misroute:

* a worker registers with ``{"type": "env-hello", "env_list": [...]}`` and is then *idle*; a worker of an account
  other than the admin account has its env list replaced by ``["<account>-custom"]``, and a client asking for env
  ``"custom"`` is routed to its own account's custom workers (NetworkGym's rule);
* an env-start is given to the first idle worker whose list has the env (registration order); the worker is then
  *busy* with that client until it sends env-end or env-error, or the broker aborts the session;
* after a session ends or is aborted the worker is in *limbo*: not assignable until its next env-hello, which it
  sends once it is idle again (so a worker that has not yet noticed the abort never gets a second client);
* an env-hello from a busy worker means it restarted: its client's session is lost (NetworkGym: "Worker
  Restarted, Try Again.");
* workers silent for ``idle_timeout_s`` (NetworkGym: 60 s) while not busy are forgotten; a busy worker has a
  reply deadline instead (see :meth:`WorkerRegistry.expired_replies`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Worker states.
IDLE, BUSY, LIMBO = "idle", "busy", "limbo"

#: NetworkGym's defaults: the account whose workers may serve named envs, and the custom env's name.
ADMIN_ACCOUNT = "admin"
CUSTOM_ENV = "custom"
#: NetworkGym drops idle workers that sent no env-hello for this long.
WORKER_IDLE_TIMEOUT_S = 60.0


def worker_account(address: bytes) -> str:
    """The account of a worker identity ``"<session_name>-<worker_id>-<hostname>"`` (text before the first '-')."""
    return address.decode("utf-8", "replace").split("-", 1)[0]


@dataclass
class WorkerInfo:
    """What the broker knows about one external worker.

    Attributes:
        address: the worker's ZMQ identity.
        env_list: the envs it is registered for (after the custom-env rule).
        netgym_lite: it said it is a netgym-lite worker (keeps one connection for its whole life, so a lost
            connection means the worker is gone).
        state: ``"idle"``, ``"busy"`` or ``"limbo"``.
        client: the client identity it is busy with (None unless busy).
        last_seen_s: when it last sent anything.
        reply_deadline_s: while busy and a request is unanswered, when the broker gives up on it.
    """

    address: bytes
    env_list: list[str]
    netgym_lite: bool = False
    state: str = IDLE
    client: bytes | None = None
    last_seen_s: float = 0.0
    reply_deadline_s: float | None = None
    sessions: int = field(default=0)


class WorkerRegistry:
    """External workers and the client → worker mapping of one broker.

    Args:
        admin_account: the account whose workers keep their env lists (NetworkGym's ``official_session_name``).
        idle_timeout_s: forget a worker that is not busy and sent nothing for this long.
    """

    def __init__(
        self, admin_account: str = ADMIN_ACCOUNT, idle_timeout_s: float = WORKER_IDLE_TIMEOUT_S
    ) -> None:
        self.admin_account = admin_account
        self.idle_timeout_s = idle_timeout_s
        self.workers: dict[bytes, WorkerInfo] = {}
        self.client_worker: dict[bytes, bytes] = {}

    # ------------------------------------------------------------------------------------------ queries
    def env_name(self, client_account: str, env: str) -> str:
        """The env name a client's env-start asks for (``"custom"`` becomes ``"<account>-custom"``)."""
        return f"{client_account}-{CUSTOM_ENV}" if env == CUSTOM_ENV else env

    def registered_env_list(self, address: bytes, env_list: list[str]) -> list[str]:
        """The env list a worker is registered with (NetworkGym's custom-env rule)."""
        account = worker_account(address)
        if account != self.admin_account:
            return [f"{account}-{CUSTOM_ENV}"]
        return [f"{account}-{CUSTOM_ENV}" if e == CUSTOM_ENV else e for e in env_list]

    def find_idle(self, env_name: str) -> bytes | None:
        """The first idle worker (registration order) whose env list has ``env_name``."""
        for addr, w in self.workers.items():
            if w.state == IDLE and env_name in w.env_list:
                return addr
        return None

    def serves(self, env_name: str) -> bool:
        """True when some registered worker (in any state) has ``env_name`` in its list."""
        return any(env_name in w.env_list for w in self.workers.values())

    def worker_of(self, client: bytes) -> WorkerInfo | None:
        """The worker busy with ``client`` (None when the client has no external session)."""
        addr = self.client_worker.get(client)
        return self.workers.get(addr) if addr is not None else None

    def env_lists(self) -> dict[str, list[str]]:
        """Idle workers and their env lists (for no-available-worker messages)."""
        return {a.decode("utf-8", "replace"): w.env_list for a, w in self.workers.items() if w.state == IDLE}

    # ------------------------------------------------------------------------------------------ changes
    def hello(
        self, address: bytes, env_list: list[str], now_s: float, *, netgym_lite: bool = False
    ) -> bytes | None:
        """Register an env-hello; returns the client whose session was lost if the worker was busy (restarted)."""
        lost = None
        w = self.workers.get(address)
        if w is not None and w.state == BUSY and w.client is not None:
            lost = w.client
            self.client_worker.pop(w.client, None)
        sessions = w.sessions if w is not None else 0
        self.workers[address] = WorkerInfo(
            address,
            self.registered_env_list(address, env_list),
            netgym_lite,
            IDLE,
            None,
            now_s,
            None,
            sessions,
        )
        return lost

    def assign(self, address: bytes, client: bytes, now_s: float, reply_timeout_s: float) -> None:
        """Make ``address`` busy with ``client`` (the env-start is being forwarded to it)."""
        w = self.workers[address]
        w.state, w.client, w.sessions = BUSY, client, w.sessions + 1
        w.reply_deadline_s = now_s + reply_timeout_s
        self.client_worker[client] = address

    def release(self, client: bytes) -> WorkerInfo | None:
        """End ``client``'s external session: its worker goes to limbo until its next env-hello."""
        addr = self.client_worker.pop(client, None)
        w = self.workers.get(addr) if addr is not None else None
        if w is not None and w.client == client:
            w.state, w.client, w.reply_deadline_s = LIMBO, None, None
        return w

    def remove(self, address: bytes) -> bytes | None:
        """Forget a worker; returns the client it was busy with (whose session is lost), if any."""
        w = self.workers.pop(address, None)
        if w is None or w.client is None:
            return None
        if self.client_worker.get(w.client) == address:
            del self.client_worker[w.client]
        return w.client

    def expired_idle(self, now_s: float) -> list[bytes]:
        """Forget workers that are not busy and were silent longer than ``idle_timeout_s``; returns them."""
        gone = [
            a
            for a, w in self.workers.items()
            if w.state != BUSY and now_s - w.last_seen_s > self.idle_timeout_s
        ]
        for a in gone:
            del self.workers[a]
        return gone

    def expired_replies(self, now_s: float) -> list[WorkerInfo]:
        """Busy workers whose reply deadline has passed (the caller ends their sessions)."""
        return [
            w
            for w in self.workers.values()
            if w.state == BUSY and w.reply_deadline_s is not None and now_s >= w.reply_deadline_s
        ]
