"""The `controlplane` command: serve, doctor, check-config, hash-password, dev up/down."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import click

from controlplane.adapters.ami import AmiError
from controlplane.adapters.ari import AriError
from controlplane.adapters.store import Store
from controlplane.app import make_ami, make_ari, serve
from controlplane.config import Config, ConfigError, load_config

DEFAULT_CONFIG = Path("config/demo.toml")

config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=DEFAULT_CONFIG,
    show_default=True,
    envvar="CONTROLPLANE_CONFIG",
    help="configuration file (TOML)",
)


def _load(path: Path) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        click.echo(f"configuration refused:\n{exc}", err=True)
        sys.exit(2)


@click.group()
def main() -> None:
    """Contact-center voice control plane for Asterisk."""


@main.command("serve")
@config_option
def serve_cmd(config_path: Path) -> None:
    """Run the service."""
    config = _load(config_path)
    logging.basicConfig(
        level=config.service.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    run(serve(config))


def run(main: Coroutine[Any, Any, None]) -> None:
    """The service's event loop: uvloop (libuv) where it is installed, else
    asyncio's own."""
    try:
        import uvloop  # noqa: PLC0415
    except ImportError:
        asyncio.run(main)
        return
    uvloop.run(main)


@main.command("check-config")
@config_option
def check_config(config_path: Path) -> None:
    """Validate a configuration file and exit."""
    config = _load(config_path)
    tenants = ", ".join(sorted(config.tenants))
    click.echo(f"{config_path}: ok (tenants: {tenants})")


@main.command("hash-password")
def hash_password_cmd() -> None:
    """Read an agent's desktop password (prompted, or one line of standard
    input) and print its argon2id hash for `password_hash` (DSK-1)."""
    from controlplane.passwords import hash_password  # noqa: PLC0415

    if sys.stdin.isatty():
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\n")
    if not password:
        click.echo("no password given", err=True)
        sys.exit(2)
    click.echo(hash_password(password))


def failure_reason(exc: BaseException, timeout: float) -> str:
    """Why a check failed, never empty: a hang says so (its exception's text
    is empty), and anything else names its type besides its text."""
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout:g} s"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def check_redis(url: str, datacenter: str, timeout: float = 3.0) -> tuple[str, bool, str]:
    store = Store.from_url(url, datacenter)
    try:
        await asyncio.wait_for(store.ping(), timeout=timeout)
        return ("Redis", True, url)
    except Exception as exc:
        return ("Redis", False, f"{url}: {failure_reason(exc, timeout)}")
    finally:
        await store.close()


async def _doctor(config: Config) -> list[tuple[str, bool, str]]:
    node = config.datacenter.asterisk[0]
    results: list[tuple[str, bool, str]] = []

    results.append(await check_redis(config.service.redis_url, config.service.datacenter))

    ami = make_ami(node)
    try:
        await ami.start(timeout=3)
        await ami.ping()
        results.append(("AMI", True, f"logged in to {node.ami_host}:{node.ami_port}"))
    except AmiError as exc:
        results.append(("AMI", False, str(exc)))
    finally:
        await ami.close()

    ari = make_ari(node)
    await ari.start()
    try:
        info = await ari.info()
        version = info.get("system", {}).get("version", "?")
        results.append(("ARI", True, f"{node.ari_url} (Asterisk {version})"))
        # A WebSocket of our own app name would take the app from the running
        # service, so the event stream is checked under a name of its own.
        ws_url = node.ari_url.replace("http", "ws", 1).rstrip("/") + "/events"
        try:
            async with ari.session.ws_connect(
                ws_url,
                params={"app": f"{node.app}-doctor"},
                timeout=aiohttp.ClientWSTimeout(ws_close=2),
            ):
                pass
            results.append(("Stasis WebSocket", True, ws_url))
        except (aiohttp.ClientError, TimeoutError) as exc:
            results.append(("Stasis WebSocket", False, f"{ws_url}: {exc}"))
        try:
            await ari.request("GET", f"/applications/{node.app}")
            results.append((f"Stasis app {node.app!r}", True, "registered (the service is up)"))
        except AriError:
            results.append(
                (
                    f"Stasis app {node.app!r}",
                    True,
                    "not registered: no service is connected (informational)",
                )
            )
    except AriError as exc:
        results.append(("ARI", False, str(exc)))
    finally:
        await ari.close()
    return results


@main.command()
@config_option
def doctor(config_path: Path) -> None:
    """Check AMI login, ARI, the Stasis WebSocket and Redis; say which is wrong."""
    config = _load(config_path)
    results = asyncio.run(_doctor(config))
    width = max(len(name) for name, _, _ in results)
    for name, ok, detail in results:
        click.echo(f"{'OK  ' if ok else 'FAIL'} {name.ljust(width)}  {detail}")
    failed = [name for name, ok, _ in results if not ok]
    if failed:
        click.echo(f"doctor: {', '.join(failed)} not working", err=True)
        sys.exit(1)


@main.group()
def dev() -> None:
    """The local stack: Asterisk (chrooted rootfs), Redis and the service.

    Runs from a source checkout: the stack's runner (`devstack/` beside the
    package) and the Asterisk files it uses are not part of the installed
    package."""
    source = Path(__file__).resolve().parent.parent
    if not (source / "devstack" / "__init__.py").is_file():
        click.echo(f"dev up/down run from a source checkout; {source} is none", err=True)
        sys.exit(2)
    if str(source) not in sys.path:
        sys.path.insert(0, str(source))


@dev.command("up")
@config_option
def dev_up(config_path: Path) -> None:
    """Start Asterisk, Redis and the service with the given config (demo by default)."""
    import devstack  # noqa: PLC0415 (from the source checkout, see `dev`)

    config = _load(config_path)
    redis_port = urlsplit(config.service.redis_url).port or 6379
    try:
        summary = devstack.up(
            config_path, redis_port=redis_port, service_port=config.service.listen_port
        )
    except devstack.DevStackError as exc:
        click.echo(f"dev up failed: {exc}", err=True)
        sys.exit(1)
    click.echo(summary)


@dev.command("down")
def dev_down() -> None:
    """Stop the local stack."""
    import devstack  # noqa: PLC0415 (from the source checkout, see `dev`)

    try:
        devstack.down()
    except devstack.DevStackError as exc:
        click.echo(f"dev down failed: {exc}", err=True)
        sys.exit(1)
    click.echo("local stack stopped")
