"""The life cycle the ZeroMQ server and worker share: serve in the caller's thread or a daemon thread, stop from
any thread, SIGINT/SIGTERM as a graceful stop, ``with`` blocks."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from netgym_lite.errors import NetgymError

log = logging.getLogger(__name__)


class LoopService:
    """Mixin: a subclass sets ``_stop_event``, ``ready`` (threading.Event) and ``_thread`` (None), and implements
    ``_start_if_needed``, ``_loop`` and ``_shutdown``; ``_what`` names it in messages and its thread."""

    _what = "service"
    _stop_event: threading.Event
    ready: threading.Event
    _thread: threading.Thread | None

    def _start_if_needed(self) -> None:
        raise NotImplementedError

    def _loop(self) -> None:
        raise NotImplementedError

    def _shutdown(self) -> None:
        raise NotImplementedError

    def _thread_name(self) -> str:
        return f"netgym-lite-{self._what}"

    def _stopped_before_start(self) -> None:
        """Called by :meth:`stop` when no thread runs the loop (release what ``start`` may have bound)."""

    def serve_forever(self) -> None:
        """Start (if needed) and run the loop until :meth:`stop`; then shut down gracefully."""
        self._start_if_needed()
        self.ready.set()
        try:
            self._loop()
        finally:
            self._shutdown()

    def start_thread(self, timeout_s: float = 900.0) -> threading.Thread:
        """Run :meth:`serve_forever` in a daemon thread and return once it is serving."""
        error: list[BaseException] = []

        def target() -> None:
            try:
                self.serve_forever()
            except BaseException as e:  # reported to the caller below
                error.append(e)
                self.ready.set()

        self._thread = threading.Thread(target=target, name=self._thread_name(), daemon=True)
        self._thread.start()
        if not self.ready.wait(timeout_s):
            raise NetgymError(f"{self._what} did not start within {timeout_s} s")
        if error:
            raise error[0]
        return self._thread

    def stop(self, timeout_s: float = 5.0) -> None:
        """Ask the loop to stop (thread-safe); waits for a thread started by :meth:`start_thread`."""
        self._stop_event.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)
        else:
            self._stopped_before_start()

    def install_signal_handlers(self) -> None:
        """Make SIGINT and SIGTERM stop the loop gracefully (call from the main thread)."""

        def handler(signum: int, _frame: Any) -> None:
            log.info("received %s: shutting down", signal.Signals(signum).name)
            self._stop_event.set()

        signal.signal(signal.SIGINT, handler)
        signal.signal(signal.SIGTERM, handler)

    def __enter__(self) -> Any:
        self.start_thread()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
