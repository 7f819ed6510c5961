"""Fault points for the fault suite, loaded into every Python process the harness starts.

The harness puts this directory first on PYTHONPATH and names a directory of "armed" faults in
PRICEHOUND_FAULT_DIR. Each armed fault is a file named after a point below; the first process to
reach that point claims the file (an atomic rename, so exactly one process fires per arming) and
SIGKILLs the whole Celery worker it belongs to: its own process group and, from a spider, its
parent's group too. Nothing happens when PRICEHOUND_FAULT_DIR is unset or no file is armed, so
the processes otherwise run the production code unchanged.

Points (module.function: when the kill happens):

    dispatch_enqueue    workers.schedule.enqueue: dispatch committed its runs, nothing enqueued
    handoff_publish     pipelines.handoff.publish_events: a flush committed, the evaluate task not sent
    evaluate_statement  alerts.evaluate.evaluate_batch: the outbox rows written, not committed
    evaluate_enqueue    alerts.outbox.enqueue_send: evaluation committed, the send task not sent
    ses_accepted        alerts.ses.send_raw: SES accepted the message, the row not yet marked sent
    webhook_accepted    alerts.targets.post_webhook: the endpoint answered 2xx, the row not yet marked sent
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import os
import signal
import sys
import time

_DIR = os.environ.get("PRICEHOUND_FAULT_DIR")

# point -> (module, function, kill before or after calling the real function)
POINTS = {
    "dispatch_enqueue": ("workers.schedule", "enqueue", "before"),
    "handoff_publish": ("pipelines.handoff", "publish_events", "before"),
    "evaluate_statement": ("alerts.evaluate", "evaluate_batch", "after"),
    "evaluate_enqueue": ("alerts.outbox", "enqueue_send", "before"),
    "ses_accepted": ("alerts.ses", "send_raw", "after"),
    "webhook_accepted": ("alerts.targets", "post_webhook", "after"),
}


def _claim(point: str) -> bool:
    armed = os.path.join(_DIR, point)
    fired = os.path.join(_DIR, f"{point}.fired.{os.getpid()}")
    try:
        os.rename(armed, fired)
    except OSError:
        return False
    with open(fired, "w") as fh:
        fh.write(f"{time.time():.6f}\n")
    return True


def _die() -> None:
    groups = {os.getpgid(0)}
    try:
        groups.add(os.getpgid(os.getppid()))  # a spider's parent: the worker's pool process
    except OSError:
        pass
    me = os.getpgid(0)
    for group in sorted(groups - {me}):
        try:
            os.killpg(group, signal.SIGKILL)
        except OSError:
            pass
    os.killpg(me, signal.SIGKILL)


def _wrap(point: str, real, when: str):
    def wrapper(*args, **kwargs):
        if when == "before" and _claim(point):
            _die()
        result = real(*args, **kwargs)
        if when == "after" and _claim(point):
            _die()
        return result

    wrapper.__wrapped__ = real
    wrapper.__name__ = getattr(real, "__name__", point)
    return wrapper


class _Patcher(importlib.abc.MetaPathFinder):
    """Wrap the fault points' functions as soon as their modules are executed."""

    def __init__(self) -> None:
        self.by_module: dict[str, list[tuple[str, str, str]]] = {}
        for point, (module, func, when) in POINTS.items():
            self.by_module.setdefault(module, []).append((point, func, when))

    def find_spec(self, name, path, target=None):
        if name not in self.by_module:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return None
        loader = spec.loader
        real_exec = loader.exec_module
        targets = self.by_module[name]

        def exec_module(module):
            real_exec(module)
            for point, func, when in targets:
                if hasattr(module, func):
                    setattr(module, func, _wrap(point, getattr(module, func), when))

        loader.exec_module = exec_module
        return spec


if _DIR:
    sys.meta_path.insert(0, _Patcher())
