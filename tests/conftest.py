"""Test set-up: every test talks to the real services, on the ``bailiwick_test`` database (never
``bailiwick``). The schema is migrated once per run; reference geography is loaded once per database
(the loader skips unchanged files, so later runs pay nothing)."""
from __future__ import annotations

import os

TEST_DATABASE_URL = os.environ.get(
    "BAILIWICK_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bailiwick_test")
# Before anything reads settings: point the whole process at the test database.
os.environ["BAILIWICK_DATABASE_URL"] = TEST_DATABASE_URL
if TEST_DATABASE_URL.rsplit("/", 1)[-1] == "bailiwick":
    raise RuntimeError("tests must not run against the 'bailiwick' database")

import pytest

from core import get_settings, migrate, session_scope


@pytest.fixture(scope="session", autouse=True)
def files_dir(tmp_path_factory):
    """Query attachments go to a directory of the run's own (``BAILIWICK_FILES_DIR``), never to the
    checkout's ``var/files``: the contract walk and the isolation walk upload too."""
    path = tmp_path_factory.mktemp("files")
    os.environ["BAILIWICK_FILES_DIR"] = str(path)
    get_settings.cache_clear()
    return path


@pytest.fixture(scope="session")
def database_url() -> str:
    return TEST_DATABASE_URL


@pytest.fixture(scope="session")
def migrated(database_url: str) -> str:
    migrate.upgrade(database_url)
    return database_url


@pytest.fixture(scope="session")
def geodata_loaded(migrated: str) -> str:
    import geodata

    geodata.load_all(get_settings().geodata_dir, migrated, progress=False)
    return migrated


@pytest.fixture(scope="session")
def policies_loaded(migrated: str) -> str:
    """The shipped buyer visit policies (core/policies/*.yaml) loaded into the database."""
    from core.visit_policy import load_policies

    with session_scope() as db:
        load_policies(db, actor="test")
    return migrated


@pytest.fixture(scope="module")
def client(migrated: str):
    """The app in-process; server errors come back as responses, as a real client would see them."""
    from fastapi.testclient import TestClient

    from api import create_app

    with TestClient(create_app(), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def db(geodata_loaded: str):
    # Cases are placed as production places them, which locates their addresses in the geography.
    with session_scope() as session:
        yield session


@pytest.fixture(scope="session")
def settings():
    return get_settings()



@pytest.fixture
def private_broker_url(tmp_path):
    """The URL of a Mosquitto of the test's own, with a deployment's deep queues
    (``tests.helpers.private_broker``): on the shared broker's defaults (1,000 queued) a worker that a
    loaded machine slows down loses messages."""
    from tests.helpers import private_broker

    with private_broker(tmp_path) as port:
        yield f"mqtt://127.0.0.1:{port}"


@pytest.fixture
def redis_client():
    from core import connect_redis

    return connect_redis()


@pytest.fixture
def van(geodata_loaded: str):
    """An ANPR van with a registered device (``tests.anpr_world.make_van``)."""
    from tests.anpr_world import make_van

    return make_van()


@pytest.fixture
def listed(geodata_loaded: str, redis_client, ns: str) -> tuple[str, int]:
    """A vehicle of a hot warrant on the hotlist of the test module's ``ns``: (its mark, its id)."""
    from tests.anpr_world import list_vehicle

    return list_vehicle(redis_client, ns, "test:anpr")
