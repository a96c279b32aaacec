"""The GitHub App's JWT and settings (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr

from stream_app.errors import PermanentError
from stream_app.providers.github_app import GithubApp, GithubAppNotConfigured, GithubAppSettings, app_jwt

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    ).decode()


def test_jwt_is_rs256_issued_by_the_app_for_ten_minutes(key: rsa.RSAPrivateKey) -> None:
    token = app_jwt(1234, key, NOW)

    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    claims = jwt.decode(token, key.public_key(), algorithms=["RS256"], options={"verify_exp": False})
    assert claims["iss"] == "1234"
    assert claims["iat"] == int(NOW.timestamp()) - 60  # a minute back for clock drift
    assert claims["exp"] - claims["iat"] == 600


def test_jwt_does_not_verify_with_another_key(key: rsa.RSAPrivateKey) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(app_jwt(1, key, NOW), other.public_key(), algorithms=["RS256"], options={"verify_exp": False})


def test_settings_from_the_environment_with_escaped_newlines(
    monkeypatch: pytest.MonkeyPatch, key: rsa.RSAPrivateKey
) -> None:
    monkeypatch.setenv("STREAM_APP_GITHUB_APP_APP_ID", "77")
    monkeypatch.setenv("STREAM_APP_GITHUB_APP_PRIVATE_KEY", _pem(key).replace("\n", "\\n"))

    app = GithubApp(GithubAppSettings(), clock=lambda: NOW)
    token = app.app_token()

    assert app.configured
    claims = jwt.decode(token.value, key.public_key(), algorithms=["RS256"], options={"verify_exp": False})
    assert claims["iss"] == "77"
    assert token.source == "app"
    assert token.value not in repr(token) and "PRIVATE" not in repr(app.settings)


def test_settings_read_the_key_from_a_file(tmp_path: Path, key: rsa.RSAPrivateKey) -> None:
    path = tmp_path / "app.pem"
    path.write_text(_pem(key))
    settings = GithubAppSettings(app_id=5, private_key_path=path)
    assert settings.configured
    assert settings.private_key_pem() == path.read_bytes()


def test_an_unconfigured_app_refuses_to_sign(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("APP_ID", "PRIVATE_KEY", "PRIVATE_KEY_PATH"):
        monkeypatch.delenv(f"STREAM_APP_GITHUB_APP_{name}", raising=False)
    app = GithubApp(GithubAppSettings())
    assert not app.configured
    with pytest.raises(GithubAppNotConfigured):
        app.app_token()


def test_the_private_key_is_a_secret_in_repr(key: rsa.RSAPrivateKey) -> None:
    settings = GithubAppSettings(app_id=5, private_key=SecretStr(_pem(key)))
    assert "BEGIN" not in repr(settings) and "BEGIN" not in str(settings)


@pytest.mark.parametrize("pem", ["not a key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"])
def test_a_broken_key_is_a_permanent_error(pem: str) -> None:
    app = GithubApp(GithubAppSettings(app_id=5, private_key=SecretStr(pem)))
    with pytest.raises(PermanentError) as caught:
        app.app_token()
    assert caught.value.code == "github_app_key_invalid"
    assert "AAAA" not in str(caught.value)


def test_an_empty_key_means_not_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STREAM_APP_GITHUB_APP_PRIVATE_KEY_PATH", raising=False)
    assert not GithubAppSettings(app_id=5, private_key=SecretStr("")).configured
