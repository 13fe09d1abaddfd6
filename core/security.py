"""Credential hashing.

People's passwords get argon2 (slow on purpose: they are guessable). Devices get random high-entropy
secrets, hashed in Mosquitto's own ``$7$`` format (PBKDF2-SHA512), so that the broker's password file
can be written straight from the ``device`` table.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os

from pwdlib import PasswordHash

_passwords = PasswordHash.recommended()

MOSQUITTO_PBKDF2_ITERATIONS = 101  # mosquitto_passwd's default for the $7$ format


def hash_password(password: str) -> str:
    return _passwords.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return _passwords.verify(password, password_hash)
    except Exception:  # a malformed stored hash must read as "no", never as a server error
        return False


def hash_device_secret(secret: str, salt: bytes | None = None,
                       iterations: int = MOSQUITTO_PBKDF2_ITERATIONS) -> str:
    salt = salt if salt is not None else os.urandom(12)
    digest = hashlib.pbkdf2_hmac("sha512", secret.encode(), salt, iterations)
    return "$7${}${}${}".format(iterations, base64.b64encode(salt).decode(), base64.b64encode(digest).decode())


def verify_device_secret(secret: str, stored: str) -> bool:
    try:
        _, kind, iterations, salt_b64, digest_b64 = stored.split("$")
        if kind != "7":
            return False
        digest = hashlib.pbkdf2_hmac("sha512", secret.encode(), base64.b64decode(salt_b64), int(iterations))
        return hmac.compare_digest(digest, base64.b64decode(digest_b64))
    except ValueError:
        return False
