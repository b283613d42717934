"""API keys of ``trustbench monitor serve``: created and revoked with the CLI.

A key reads ``tbk_<id>_<secret>``: the id (8 hex digits) finds its row, the secret (43
URL-safe characters, 256 random bits) proves it. The database keeps the id, a name, a
random salt and ``SHA-256(salt + secret)`` — never the secret, which is shown once, when
the key is created. A presented key is compared with :func:`hmac.compare_digest` (constant
time). One salted SHA-256 suffices because the secret is random and long: a slow password
hash (scrypt, PBKDF2) protects guessable passwords, and would cost every request tens of
milliseconds here. A revoked key stays in the table (so it is told apart from a wrong one:
403 against 401) with the time it was revoked.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from trustbench.errors import InputError
from trustbench.monitor.store import Store

__all__ = ["KeyInfo", "create_key", "list_keys", "revoke_key", "verify_key"]

_FORMAT = re.compile(r"^tbk_([0-9a-f]{8})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True)
class KeyInfo:
    """A key as listed: id, name, when created and revoked (never its secret)."""

    key_id: str
    name: str
    created_at: datetime
    revoked_at: datetime | None


def _digest(salt: str, secret: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt) + secret.encode()).hexdigest()


def create_key(store: Store, name: str) -> tuple[str, str]:
    """Create a key named ``name``; return ``(key id, the whole key)`` — shown only now."""
    from sqlalchemy import select

    from trustbench.monitor.schema import ApiKey

    name = name.strip()
    if not name or len(name) > 200:
        raise InputError(f"--name {name!r}: give a key name of 1 to 200 characters",
                         fix="name it after who uses it, e.g. --name serving-eu")
    with store.session() as s, s.begin():
        while True:  # 8 hex digits: a clash is rare, and retried
            key_id = secrets.token_hex(4)
            if s.scalar(select(ApiKey.id).where(ApiKey.key_id == key_id)) is None:
                break
        secret = secrets.token_urlsafe(32)
        salt = secrets.token_hex(16)
        s.add(ApiKey(key_id=key_id, name=name, salt=salt, digest=_digest(salt, secret),
                     created_at=datetime.now(timezone.utc)))
    return key_id, f"tbk_{key_id}_{secret}"


def list_keys(store: Store) -> list[KeyInfo]:
    """Return every key, oldest first."""
    from sqlalchemy import select

    from trustbench.monitor.schema import ApiKey

    with store.session() as s:
        return [KeyInfo(k.key_id, k.name, k.created_at, k.revoked_at)
                for k in s.scalars(select(ApiKey).order_by(ApiKey.id))]


def revoke_key(store: Store, key_id: str) -> bool:
    """Revoke key ``key_id``; return False when it was revoked already."""
    from sqlalchemy import select

    from trustbench.monitor.schema import ApiKey

    with store.session() as s, s.begin():
        k = s.scalar(select(ApiKey).where(ApiKey.key_id == key_id))
        if k is None:
            known = [x.key_id for x in s.scalars(select(ApiKey).order_by(ApiKey.id).limit(20))]
            raise InputError(f"{store.where}: no API key {key_id!r}",
                             fix=f"the keys are: {', '.join(known)}" if known else
                             "create one with 'trustbench monitor key create'")
        if k.revoked_at is not None:
            return False
        k.revoked_at = datetime.now(timezone.utc)
        return True


def verify_key(store: Store, presented: str) -> tuple[str, Any]:
    """Check a presented key: ``("ok", key id)``, ``("revoked", key id)`` or ``("wrong", None)``."""
    from sqlalchemy import select

    from trustbench.monitor.schema import ApiKey

    m = _FORMAT.match(presented.strip())
    if m is None:
        return "wrong", None
    key_id, secret = m.groups()
    with store.session() as s:
        k = s.scalar(select(ApiKey).where(ApiKey.key_id == key_id))
    if k is None:
        hmac.compare_digest(_digest("00" * 16, secret), "0" * 64)  # the same work either way
        return "wrong", None
    if not hmac.compare_digest(_digest(k.salt, secret), k.digest):
        return "wrong", None
    return ("revoked" if k.revoked_at is not None else "ok"), key_id
