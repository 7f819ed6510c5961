"""A command loads only what it needs: the kernel's commands never import Celery, Scrapy,
FastAPI or boto3, and each stage command imports only the module that defines it."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys

from pricehound import cli

HEAVY = ("celery", "scrapy", "fastapi", "boto3", "twisted")


def test_the_table_of_stage_commands_says_what_each_module_registers():
    for module, names in cli.STAGE_COMMANDS.items():
        sub = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(module).register(sub)
        assert tuple(sub.choices) == names, module
    full = cli.build_parser()
    commands = next(a for a in full._actions if isinstance(a, argparse._SubParsersAction)).choices
    staged = {n for names in cli.STAGE_COMMANDS.values() for n in names}
    assert set(commands) - staged == set(cli.KERNEL_COMMANDS)


def test_a_kernel_command_imports_no_heavy_stage():
    code = ("import sys; from pricehound import cli; cli.build_parser(['-v', 'status', '--json']); "
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


def test_a_stage_command_parses_as_with_the_whole_command_line():
    argv = ["crawl", "acme", "--now", "--json"]
    lean, full = cli.build_parser(argv).parse_args(argv), cli.build_parser().parse_args(argv)
    assert vars(lean) == vars(full)
    assert cli.stage_modules("status") == [] and cli.stage_modules("crawl") == ["workers.cli"]
    assert cli.stage_modules(None) == list(cli.STAGE_COMMANDS) == cli.stage_modules("no-such-command")
