"""Fixtures for the fake GitHub. Import the ones a test module uses:

    from tests.fakes.plugin import fake_github, github_app, provider_http  # noqa: F401

`fake_github` is a running FakeGitHub (empty world); `provider_http` the shared httpx client;
`github_app` a GithubApp (app id 42) whose JWTs the fake accepts; `provider_settings` the
worker Settings pointing at the fake with a fresh Fernet key.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr

from stream_app.providers.github_app import GithubApp, GithubAppSettings
from stream_app.settings import Settings
from tests.fakes.github import FakeGitHub

APP_ID = 42


@pytest.fixture
async def fake_github() -> AsyncIterator[FakeGitHub]:
    async with FakeGitHub() as gh:
        yield gh


@pytest.fixture
async def provider_http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture(scope="session")
def app_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.fixture
def github_app(fake_github: FakeGitHub, app_private_key: rsa.RSAPrivateKey) -> GithubApp:
    fake_github.register_app(APP_ID, public_pem(app_private_key))
    return GithubApp(GithubAppSettings(app_id=APP_ID, private_key=SecretStr(private_pem(app_private_key))))


@pytest.fixture
def provider_settings(fake_github: FakeGitHub) -> Settings:
    return Settings(github_api_url=fake_github.url, encryption_key=Fernet.generate_key().decode())
