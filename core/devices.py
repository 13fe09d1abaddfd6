"""MQTT identities of agents' phones and ANPR vans, and the Mosquitto files that enforce them.

A device's username on the broker is its ``device_id``; its secret is stored only as a Mosquitto
``$7$`` hash (``core.security``), so the password file is written straight from the ``device`` table.
Topics name agents and vans by their database ids (``agents/{agent_id}/plan`` as ``dispatch``
publishes it), while people name them by their ``reference`` (``A0001``), as ``bailiwick user add``
does; so the CLI takes references and the ACL is written with ids.

The ACL (Mosquitto 2 ``acl_file``) gives each device exactly its own topics:

- a phone writes ``agents/<agent id>/gps`` and ``owntracks/<device id>/#`` and reads
  ``agents/<agent id>/plan``, ``agents/<agent id>/alerts`` and ``owntracks/<device id>/+/cmd``;
- a van writes ``vans/<van id>/anpr``;
- the one service user of the platform's own workers (ingest, plan publishing, alerts) reads and
  writes ``agents/#``, ``vans/#`` and ``owntracks/#``. Mosquitto matches a shared subscription
  (``$share/<group>/<filter>``) by ``<filter>`` and checks the read rules against the topic of each
  message it would deliver, so these rules also cover the workers' ``$share/…`` subscriptions with no
  ``$share`` rule (tests/test_broker_acl.py shows it on a real broker). Mosquitto 2.0 grants a
  subscription to a topic the ACL does not allow reading, then delivers nothing on it.

The service user's secret is the password of ``BAILIWICK_MQTT_URL`` when that URL has one, so the
workers and the broker agree without another setting; otherwise it is generated once into
``BAILIWICK_SECRETS_DIR/mqtt_service_secret`` (git-ignored), and the operator puts it into the URL.
"""
from __future__ import annotations

import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit import record_audit
from core.errors import FieldError
from core.models import Agent, Device, DeviceKind, Van
from core.mqtt import broker_address
from core.security import hash_device_secret
from core.settings import Settings

# A device id is the broker username and one topic level: no MQTT wildcards, no "/", no ":" (the
# password file's separator), no spaces (the ACL file's separator).
DEVICE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
MIN_SECRET_LENGTH = 16
SERVICE_USER = "bailiwick"  # the service username when BAILIWICK_MQTT_URL carries none
SERVICE_SECRET_FILE = "mqtt_service_secret"


class DeviceError(FieldError):
    """A device cannot be registered as asked; ``field`` names the offending input."""


@dataclass(frozen=True)
class DeviceRow:
    device_id: str
    kind: str
    owner_reference: str  # the agent's or the van's reference
    owner_id: int  # the agent's or the van's id, as the topics name it
    active: bool
    created_at: datetime
    credential_hash: str


@dataclass(frozen=True)
class ServiceUser:
    username: str
    secret: str


@dataclass(frozen=True)
class BrokerFiles:
    passwd: str
    acl: str
    devices: int  # active devices written, beside the service user


def new_device_secret() -> str:
    return secrets.token_urlsafe(32)  # 256 bits


def add_device(db: Session, *, device_id: str, actor: str, agent_reference: str | None = None,
               van_reference: str | None = None, secret: str | None = None) -> tuple[Device, str | None]:
    """Register a phone (for an agent) or a van device. Returns the device and the secret generated
    for it, or None when the caller gave one: the secret is never stored, so this is its only copy."""
    if (agent_reference is None) == (van_reference is None):
        raise DeviceError("agent", "give exactly one of --agent (a phone) or --van (a van device)")
    if not DEVICE_ID.fullmatch(device_id):
        raise DeviceError("device-id", f"{device_id!r} must be 1-64 letters, digits, '.', '_' or '-', "
                                       "starting with a letter or digit")
    if secret is not None and len(secret) < MIN_SECRET_LENGTH:
        raise DeviceError("secret", f"must be at least {MIN_SECRET_LENGTH} characters")
    if db.scalar(select(Device.id).where(Device.device_id == device_id)) is not None:
        raise DeviceError("device-id", f"{device_id!r} is already registered")

    agent_id = van_id = None
    if agent_reference is not None:
        agent_id = db.scalar(select(Agent.id).where(Agent.reference == agent_reference))
        if agent_id is None:
            raise DeviceError("agent", f"no agent with reference {agent_reference!r}")
        kind = DeviceKind.phone
    else:
        van_id = db.scalar(select(Van.id).where(Van.reference == van_reference))
        if van_id is None:
            raise DeviceError("van", f"no van with reference {van_reference!r}")
        kind = DeviceKind.van

    generated = new_device_secret() if secret is None else None
    device = Device(device_id=device_id, kind=kind.value, agent_id=agent_id, van_id=van_id,
                    credential_hash=hash_device_secret(secret if secret is not None else generated),
                    active=True)
    db.add(device)
    db.flush()
    record_audit(db, actor=actor, action="device.create", target=f"device:{device.id}",
                 data={"device_id": device_id, "kind": kind.value, "agent_id": agent_id, "van_id": van_id})
    return device, generated


def list_devices(db: Session) -> list[DeviceRow]:
    """Every registered device with its owner, oldest first."""
    rows = db.execute(
        select(Device, Agent.reference, Van.reference)
        .outerjoin(Agent, Agent.id == Device.agent_id)
        .outerjoin(Van, Van.id == Device.van_id)
        .order_by(Device.created_at, Device.id)
    ).all()
    return [DeviceRow(device_id=d.device_id, kind=d.kind, owner_reference=agent_ref or van_ref,
                      owner_id=d.agent_id if d.kind == DeviceKind.phone else d.van_id, active=d.active,
                      created_at=d.created_at, credential_hash=d.credential_hash)
            for d, agent_ref, van_ref in rows]


def service_user(settings: Settings) -> ServiceUser:
    """The workers' broker identity (module docstring): from ``BAILIWICK_MQTT_URL``, else generated
    once into the secrets directory."""
    address = broker_address(settings.mqtt_url)
    if address.username and address.password:
        return ServiceUser(address.username, address.password)
    path = settings.secrets_dir / SERVICE_SECRET_FILE
    if not path.exists():
        settings.secrets_dir.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process generated it between the check and the create: use theirs
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(new_device_secret())
    return ServiceUser(address.username or SERVICE_USER, path.read_text().strip())


def device_acl(device: DeviceRow) -> list[str]:
    if device.kind == DeviceKind.phone:
        agent = device.owner_id
        return [f"topic write agents/{agent}/gps",
                f"topic write owntracks/{device.device_id}/#",
                f"topic read agents/{agent}/plan",
                f"topic read agents/{agent}/alerts",
                f"topic read owntracks/{device.device_id}/+/cmd"]
    return [f"topic write vans/{device.owner_id}/anpr"]


def broker_files(devices: list[DeviceRow], service: ServiceUser) -> BrokerFiles:
    """The password and ACL files for the active ``devices`` and the service user."""
    active = [d for d in devices if d.active]
    clash = [d.device_id for d in active if d.device_id == service.username]
    if clash:
        raise DeviceError("device-id", f"{clash[0]!r} is the service user's name; rename the device")
    passwd = [f"{service.username}:{hash_device_secret(service.secret)}"]
    passwd += [f"{d.device_id}:{d.credential_hash}" for d in active]
    acl = ["# Written by `bailiwick broker config` from the device table; do not edit by hand.",
           "", f"user {service.username}",
           "topic readwrite agents/#", "topic readwrite vans/#", "topic readwrite owntracks/#"]
    for d in active:
        acl += ["", f"# {d.kind} of {'agent' if d.kind == DeviceKind.phone else 'van'} {d.owner_reference}",
                f"user {d.device_id}", *device_acl(d)]
    return BrokerFiles(passwd="\n".join(passwd) + "\n", acl="\n".join(acl) + "\n", devices=len(active))


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` with mode 0600 through a temporary file renamed over it, so that a
    broker reloading the file (SIGHUP) never reads half of it."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_broker_files(db: Session, out_dir: Path, settings: Settings, *, actor: str) -> BrokerFiles:
    """Write ``passwd`` and ``acl`` into ``out_dir`` from the device table (module docstring)."""
    files = broker_files(list_devices(db), service_user(settings))
    out_dir.mkdir(parents=True, exist_ok=True)
    write_atomically(out_dir / "passwd", files.passwd)
    write_atomically(out_dir / "acl", files.acl)
    record_audit(db, actor=actor, action="broker.config", target=str(out_dir),
                 data={"devices": files.devices})
    return files
