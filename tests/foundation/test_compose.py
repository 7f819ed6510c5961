"""docker-compose.yml parses, names real images, and wires every process the same way."""

from __future__ import annotations

import yaml

from pricehound.config import VARIABLES
from tests.conftest import REPO_ROOT


def load():
    return yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())


def test_compose_has_the_whole_stack_with_healthchecks():
    services = load()["services"]
    assert {"postgres", "redis", "worker", "crawler", "beat", "flower", "ses", "web", "initdb"} <= services.keys()
    for name in ("postgres", "redis", "ses", "worker", "crawler", "web"):
        assert "healthcheck" in services[name], name
    images = {name: svc.get("image") for name, svc in services.items()}
    assert images["postgres"].startswith("postgres:") and images["redis"].startswith("redis:")
    assert images["ses"].startswith("motoserver/moto") and images["flower"].startswith("mher/flower")


def test_every_pricehound_process_gets_the_same_documented_environment():
    services = load()["services"]
    documented = {v.env for v in VARIABLES}
    envs = [services[name]["environment"] for name in ("worker", "crawler", "beat", "web", "initdb")]
    assert all(env == envs[0] for env in envs)
    pricehound_vars = {k for k in envs[0] if not k.startswith("AWS_")}
    assert pricehound_vars <= documented


def test_exactly_one_beat_and_workers_on_every_queue():
    services = load()["services"]
    assert services["beat"]["deploy"]["replicas"] == 1
    worker_cmd = " ".join(services["worker"]["command"] + services["crawler"]["command"])
    for queue in ("schedule", "crawl", "alerts", "email"):
        assert queue in worker_cmd
