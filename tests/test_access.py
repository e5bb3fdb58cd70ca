"""Access rules without Streamlit: the password hash, how the configuration is read, editors by e-mail,
slowing down guessing; and `engagement hash-password`."""

import io
import sys

import pytest

from data_access.access import (HASH_ENV, OIDC, PASSWORD, READ_ONLY, Attempts, access_config, check_password,
                                hash_password, is_editor_email, is_password_hash, verify_password)
from data_access.cli import main


@pytest.fixture(scope="module")
def stored():
    return hash_password("correct horse battery staple")


def test_the_hash_is_salted_and_checks_only_the_right_password(stored):
    assert stored.startswith("scrypt$32768$8$1$") and is_password_hash(stored)
    assert "correct horse" not in stored
    assert hash_password("correct horse battery staple") != stored  # a new salt each time
    assert verify_password("correct horse battery staple", stored)
    assert not verify_password("correct horse battery stapler", stored)
    assert not verify_password("", stored)
    for broken in ("", "scrypt$1$2", "bcrypt$x$y$z$a$b", stored.replace("scrypt", "md5"), "scrypt$99999999$8$1$a$b"):
        assert not verify_password("correct horse battery staple", broken)


def test_configuration_single_sign_on_first_then_password_then_read_only(stored):
    auth = {"auth": {"redirect_uri": "http://x/oauth2callback", "cookie_secret": "s"}}
    config = access_config({**auth, "editors": ["A@NHS.net", " b@nhs.net "]}, {})
    assert (config.mode, config.editors, config.problem) == (OIDC, frozenset({"a@nhs.net", "b@nhs.net"}), None)
    assert is_editor_email(config, "a@nhs.NET") and not is_editor_email(config, "c@nhs.net")
    assert not is_editor_email(config, None)
    config = access_config(auth, {"ENGAGEMENT_EDITORS": "c@nhs.net"})
    assert config.editors == frozenset({"c@nhs.net"})
    assert access_config(auth, {}).problem.startswith("Single sign-on is configured but no editors are listed")
    assert access_config({"editor_password_hash": stored}, {}) .mode == PASSWORD
    assert access_config({}, {HASH_ENV: stored}).password_hash == stored
    assert access_config({}, {}).mode == READ_ONLY
    plain = access_config({}, {HASH_ENV: "letmein"})
    assert plain.mode == READ_ONLY and "must never be stored as it is" in plain.problem
    assert not is_editor_email(access_config({"editor_password_hash": stored}, {}), "a@nhs.net")


def test_wrong_passwords_are_slowed_down(stored):
    config = access_config({}, {HASH_ENV: stored})
    attempts = Attempts()
    for i in range(5):
        assert check_password(config, "guess", attempts, now=100.0) == (False, "That password is not right.")
    ok, message = check_password(config, "correct horse battery staple", attempts, now=101.0)
    assert not ok and message == "Too many wrong passwords; try again in 15 seconds."
    assert check_password(config, "correct horse battery staple", attempts, now=116.0) == (True, None)
    assert attempts.failures == 0
    assert check_password(access_config({}, {}), "x", Attempts(), 0.0) == (
        False, "Local editor sign-in is not configured.")


def test_hash_password_command(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("a long editor passphrase\n"))
    assert main(["hash-password", "--stdin"]) == 0
    captured = capsys.readouterr()
    made = captured.out.strip()
    assert verify_password("a long editor passphrase", made)
    assert "a long editor passphrase" not in captured.out + captured.err
    assert "ENGAGEMENT_EDITOR_PASSWORD_HASH" in captured.err
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert main(["hash-password", "--stdin"]) == 1
    assert capsys.readouterr().err.strip() == "Error: use a password of at least 12 characters."


def test_wrong_passwords_are_counted_per_source_and_in_total(stored, monkeypatch):
    from data_access import access
    config = access_config({}, {HASH_ENV: stored})
    guard = access.SignInGuard()
    checked = []
    real = access.verify_password
    monkeypatch.setattr(access, "verify_password", lambda p, s: checked.append(p) or real(p, s))
    for _ in range(5):
        assert guard.check_password(config, "guess", "10.0.0.1", 100.0) == (False, "That password is not right.")
    wait = "Too many wrong passwords; try again in 16 seconds."  # 15 s after the fifth, rounded up
    assert guard.check_password(config, "guess", "10.0.0.1", 100.0) == (False, wait)
    assert len(checked) == 5  # the sixth was not even checked
    assert guard.check_password(config, "guess", "10.0.0.2", 100.0)[1] == "That password is not right."
    # unknown sources (no address) share one count
    for _ in range(5):
        guard.check_password(config, "guess", None, 100.0)
    assert guard.check_password(config, "guess", None, 100.0) == (False, wait)
    # from all sources together: 20 wrong passwords lock everyone, whatever their address
    for i in range(9):
        guard.check_password(config, "guess", f"10.1.0.{i}", 100.0)
    assert guard.check_password(config, "correct horse battery staple", "10.9.9.9", 100.0) == (False, wait)
    assert guard.check_password(config, "correct horse battery staple", "10.9.9.9", 116.0) == (True, None)
    # an hour later with no lock running, old failures are forgotten
    late = 116.0 + access.FORGET_AFTER + 1
    assert guard.check_password(config, "guess", "10.0.0.1", late)[1] == "That password is not right."
    assert guard._sources["10.0.0.1"].failures == 1


def test_concurrent_wrong_passwords_share_the_count(stored, monkeypatch):
    import threading
    from data_access import access
    config = access_config({}, {HASH_ENV: stored})
    guard = access.SignInGuard()
    results = []
    threads = [threading.Thread(target=lambda: results.append(guard.check_password(config, "guess", None, 50.0)))
               for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(m for _, m in results).count("That password is not right.") == 5
    assert sum(m.startswith("Too many wrong passwords") for _, m in results) == 7
