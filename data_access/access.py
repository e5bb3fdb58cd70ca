"""Who may change the data: the access rules, kept free of Streamlit so that they can be tested.

Viewers see aggregates only. Editors can import and undo. There are three ways to run:

- **Single sign-on** (OpenID Connect, e.g. NHS Entra ID): when the secrets have an `[auth]` section,
  Streamlit's `st.login` signs people in, and editors are the e-mail addresses listed in `editors`
  (secrets) or ENGAGEMENT_EDITORS (environment, comma-separated).
- **Local editor password**: otherwise, when `editor_password_hash` (secrets) or
  ENGAGEMENT_EDITOR_PASSWORD_HASH (environment) holds a hash made by `engagement hash-password`.
  Only the hash is kept; the password is compared in constant time and never logged.
- **Read-only**: with neither, nobody can change the data from the dashboard.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets as random_bytes
import threading
from dataclasses import dataclass, field
from typing import Any, Mapping

MIN_PASSWORD_LENGTH = 12
HASH_ENV = "ENGAGEMENT_EDITOR_PASSWORD_HASH"
EDITORS_ENV = "ENGAGEMENT_EDITORS"
# scrypt (standard library): 2^15 x 8 x 1 needs 32 MB and about 0.1 s per check, which makes guessing slow.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2 ** 15, 8, 1
_MAX_MEM = 64 * 1024 * 1024

OIDC, PASSWORD, READ_ONLY = "oidc", "password", "read-only"

HOW_TO_CONFIGURE = (
    "Editing is switched off: no sign-in is configured, so the dashboard is read-only. To let editors import "
    "and undo data, either set up single sign-on (an [auth] section in .streamlit/secrets.toml and a list of "
    "editors' e-mail addresses in editors = [...]), or make a password hash with `engagement hash-password` "
    "and put it in .streamlit/secrets.toml as editor_password_hash, or in the environment variable "
    f"{HASH_ENV}. The README's 'Editing and access' section has the details."
)


def hash_password(password: str) -> str:
    """A salted scrypt hash of the password, as one self-describing string."""
    salt = random_bytes.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P,
                            maxmem=_MAX_MEM)
    return "$".join(["scrypt", str(_SCRYPT_N), str(_SCRYPT_R), str(_SCRYPT_P), _b64(salt), _b64(digest)])


def verify_password(password: str, stored: str) -> bool:
    """True when the password matches the stored hash (constant-time); False for a malformed hash."""
    try:
        scheme, n, r, p, salt, digest = stored.strip().split("$")
        if scheme != "scrypt":
            return False
        n, r, p = int(n), int(r), int(p)
        if n > 2 ** 20 or r > 32 or p > 16:
            return False
        expected = _unb64(digest)
        actual = hashlib.scrypt(password.encode("utf-8"), salt=_unb64(salt), n=n, r=r, p=p, maxmem=_MAX_MEM * 4,
                                dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def is_password_hash(text: str) -> bool:
    """True when the text has the form of a hash made by hash_password."""
    parts = str(text).strip().split("$")
    return len(parts) == 6 and parts[0] == "scrypt" and all(parts[1:4]) and parts[1].isdigit()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class AccessConfig:
    """How editors sign in: 'oidc', 'password' or 'read-only', with the editors or the password hash."""

    mode: str
    editors: frozenset[str] = field(default_factory=frozenset)
    password_hash: str | None = None
    problem: str | None = None  # a setting that is present but unusable, said in one sentence


def access_config(secrets: Mapping[str, Any] | None, environ: Mapping[str, str] | None = None) -> AccessConfig:
    """The access configuration from Streamlit's secrets and the environment."""
    secrets = secrets or {}
    environ = os.environ if environ is None else environ
    editors = _editors(secrets, environ)
    auth = _get(secrets, "auth")
    if isinstance(auth, Mapping) and auth:
        problem = None if editors else ("Single sign-on is configured but no editors are listed, so nobody can "
                                        "import; add editors = [\"name@nhs.net\"] to the secrets.")
        return AccessConfig(OIDC, editors=editors, problem=problem)
    stored = str(_get(secrets, "editor_password_hash") or environ.get(HASH_ENV, "") or "").strip()
    if stored:
        if not is_password_hash(stored):
            return AccessConfig(READ_ONLY, problem=(
                "The editor password setting is not a hash made by `engagement hash-password` (a password must "
                "never be stored as it is), so editing is switched off."))
        return AccessConfig(PASSWORD, password_hash=stored)
    return AccessConfig(READ_ONLY)


def _get(secrets: Mapping[str, Any], key: str) -> Any:
    try:
        return secrets.get(key) if hasattr(secrets, "get") else None
    except Exception:  # noqa: BLE001 - Streamlit's secrets raise when no secrets file exists
        return None


def _editors(secrets: Mapping[str, Any], environ: Mapping[str, str]) -> frozenset[str]:
    listed = _get(secrets, "editors")
    if isinstance(listed, str):
        listed = listed.split(",")
    values = list(listed or []) + environ.get(EDITORS_ENV, "").split(",")
    return frozenset(v.strip().lower() for v in values if str(v).strip())


def is_editor_email(config: AccessConfig, email: str | None) -> bool:
    """True when single sign-on is in use and the signed-in e-mail address is an editor's."""
    return config.mode == OIDC and bool(email) and email.strip().lower() in config.editors


FORGET_AFTER = 3600.0  # seconds: wrong passwords older than this (with no lock running) are forgotten
TOTAL_FREE = 20  # wrong passwords from all sources together before everyone waits


@dataclass
class Attempts:
    """Failed password attempts (from one source, or from all together), for slowing down guessing."""

    failures: int = 0
    locked_until: float = 0.0
    last_failure: float = 0.0
    free: int = 5

    def wait_seconds(self, now: float) -> float:
        """Seconds before another attempt is allowed (0 if it is)."""
        return max(0.0, self.locked_until - now)

    def failed(self, now: float) -> None:
        """Record a failure: after `free` of them, each further failure locks for longer (up to 5 minutes)."""
        if self.failures and now - max(self.last_failure, self.locked_until) > FORGET_AFTER:
            self.failures = 0
        self.failures += 1
        self.last_failure = now
        if self.failures >= self.free:
            self.locked_until = now + min(300.0, 15.0 * 2 ** (self.failures - self.free))


class SignInGuard:
    """Wrong editor passwords counted for the whole server process, not per browser session: per source
    address where it is known (all unknown sources share one count), and from all sources together with
    more tries allowed, so that neither new sessions nor many addresses give fresh tries. Thread-safe;
    the count starts again when the server restarts."""

    MAX_SOURCES = 10_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sources: dict[str, Attempts] = {}
        self._total = Attempts(free=TOTAL_FREE)

    def check_password(self, config: AccessConfig, password: str, source: str | None,
                       now: float) -> tuple[bool, str | None]:
        """Whether a local sign-in from `source` (an IP address, or None) succeeds, and if not, the sentence."""
        with self._lock:  # one check at a time: scrypt's 0.1 s also spaces out guesses
            key = source or "unknown"
            if key not in self._sources and len(self._sources) >= self.MAX_SOURCES:
                self._forget_old(now)
            attempts = self._sources.setdefault(key, Attempts())
            wait = max(attempts.wait_seconds(now), self._total.wait_seconds(now))
            if wait:
                return False, f"Too many wrong passwords; try again in {int(wait) + 1} seconds."
            ok, message = check_password(config, password, attempts, now)
            if not ok and config.mode == PASSWORD and config.password_hash:
                self._total.failed(now)
            return ok, message

    def _forget_old(self, now: float) -> None:
        for key in [k for k, a in self._sources.items() if not a.wait_seconds(now)]:
            del self._sources[key]
        if len(self._sources) >= self.MAX_SOURCES:  # all locked: forget the oldest
            del self._sources[min(self._sources, key=lambda k: self._sources[k].last_failure)]

    def reset(self) -> None:
        """Forget every failure (for tests)."""
        with self._lock:
            self._sources.clear()
            self._total = Attempts(free=TOTAL_FREE)


def check_password(config: AccessConfig, password: str, attempts: Attempts, now: float) -> tuple[bool, str | None]:
    """Whether a local sign-in succeeds, and if not, the sentence to show (never the password)."""
    if config.mode != PASSWORD or not config.password_hash:
        return False, "Local editor sign-in is not configured."
    wait = attempts.wait_seconds(now)
    if wait:
        return False, f"Too many wrong passwords; try again in {int(wait) + 1} seconds."
    if verify_password(password, config.password_hash):
        attempts.failures, attempts.locked_until = 0, 0.0
        return True, None
    attempts.failed(now)
    return False, "That password is not right."


SIGN_INS = SignInGuard()  # one per server process, shared by every session
