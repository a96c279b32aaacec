"""Fernet tokens at rest, redacted token values, and the token order's pure parts."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from cryptography.fernet import Fernet

from stream_app.errors import PermanentError
from stream_app.models import Owner
from stream_app.providers.types import Token
from stream_app.tokens import (
    EncryptionKeyError,
    TokenUnreadable,
    bot_candidates,
    decrypt_token,
    encrypt_token,
    first_readable,
    uses_installation,
)

KEY = Fernet.generate_key().decode()
SECRET = "gho_supersecretvalue123"


def test_fernet_round_trip_and_the_stored_text_is_a_fernet_token() -> None:
    stored = encrypt_token(SECRET, KEY)
    assert SECRET not in stored
    assert Fernet(KEY).decrypt(stored.encode()).decode() == SECRET  # what the web app reads back
    assert decrypt_token(stored, KEY) == SECRET


def test_a_token_written_by_the_web_app_decrypts() -> None:
    stored = Fernet(KEY).encrypt(SECRET.encode()).decode()
    assert decrypt_token(stored, KEY) == SECRET


def test_a_token_under_another_key_is_unreadable() -> None:
    stored = encrypt_token(SECRET, Fernet.generate_key().decode())
    with pytest.raises(TokenUnreadable) as caught:
        decrypt_token(stored, KEY)
    assert SECRET not in str(caught.value)


def test_garbage_is_unreadable() -> None:
    with pytest.raises(TokenUnreadable):
        decrypt_token("not-a-fernet-token", KEY)


@pytest.mark.parametrize(
    ("key", "code"),
    [(None, "encryption_key_missing"), ("", "encryption_key_missing"), ("short", "encryption_key_invalid")],
)
def test_a_missing_or_bad_key_is_a_permanent_configuration_error(key: str | None, code: str) -> None:
    with pytest.raises(EncryptionKeyError) as caught:
        decrypt_token("x", key)
    assert isinstance(caught.value, PermanentError)
    assert caught.value.code == code


def test_token_repr_and_str_never_show_the_value() -> None:
    token = Token(SECRET, "owner_bot", ownerid=7)
    for text in (repr(token), str(token), f"{token}", repr([token]), repr({"t": token})):
        assert SECRET not in text
        assert "redacted" in text
    assert "owner_bot" in repr(token)
    assert token.value == SECRET


def _owner(ownerid: int, token: str | None, **fields: Any) -> Owner:
    return Owner(ownerid=ownerid, service="github", service_id=str(ownerid), oauth_token=token, **fields)


def test_candidates_are_repo_bot_then_owner_bot_then_owner() -> None:
    owner, repo_bot, owner_bot = _owner(1, "o"), _owner(2, "rb"), _owner(3, "ob")
    assert bot_candidates(repo_bot=repo_bot, owner_bot=owner_bot, owner=owner) == [
        ("repo_bot", repo_bot),
        ("owner_bot", owner_bot),
        ("owner", owner),
    ]


def test_candidates_skip_missing_bots_and_rows_without_a_token() -> None:
    owner, owner_bot = _owner(1, None), _owner(3, "ob")
    assert bot_candidates(repo_bot=_owner(2, None), owner_bot=owner_bot, owner=owner) == [("owner_bot", owner_bot)]
    assert bot_candidates(repo_bot=None, owner_bot=None, owner=owner) == []


def test_first_readable_skips_an_undecryptable_token_and_logs_no_secret(caplog: pytest.LogCaptureFixture) -> None:
    bad = _owner(2, encrypt_token("bad-secret", Fernet.generate_key().decode()))
    good = _owner(1, encrypt_token(SECRET, KEY))
    with caplog.at_level(logging.WARNING):
        token = first_readable([("repo_bot", bad), ("owner", good)], KEY)
    assert token == Token(SECRET, "owner", ownerid=1)
    assert "owner 2" in caplog.text
    assert SECRET not in caplog.text and "bad-secret" not in caplog.text


def test_first_readable_none_when_nothing_is_usable() -> None:
    assert first_readable([], KEY) is None


@pytest.mark.parametrize(
    ("service", "integration_id", "using", "expected"),
    [
        ("github", 99, True, True),
        ("github_enterprise", 99, True, True),
        ("github", None, True, False),
        ("github", 99, False, False),
        ("gitlab", 99, True, False),
    ],
)
def test_installation_needs_github_an_integration_id_and_the_flag(
    service: str, integration_id: int | None, using: bool, expected: bool
) -> None:
    owner = Owner(ownerid=1, service=service, service_id="1", integration_id=integration_id)
    assert uses_installation(owner, using_integration=using) is expected
