"""Query attachments [000 §1.127: attachments and telephone recordings, securely]: the type comes from the
content, never the name; at most 25 MiB; stored once per content under its SHA-256 in
``BAILIWICK_FILES_DIR``; downloads are always attachments, never rendered, and each one is audited;
nobody outside the query's scope gets one (404)."""
from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import func, select

from core import get_settings, session_scope
from core.models import AuditEvent, QueryAttachment, StoredFile
from queries import MAX_BYTES, content_path
from tests.query_world import CSV, ELF, EXE, PDF, docx, long_text, png, tokens, wav, world  # noqa: F401  (fixtures)


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A store of the test's own, set as a deployment sets it: ``BAILIWICK_FILES_DIR``."""
    monkeypatch.setenv("BAILIWICK_FILES_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield tmp_path
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def query(client, tokens, world):
    r = client.post("/queries", headers=tokens["a1"], json={"case_id": world["case_f"], "type": "payment_not_recorded",
                                                            "text": long_text(820)})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _upload(client, token, query_id, name, content, content_type="application/octet-stream"):
    return client.post(f"/queries/{query_id}/attachments", headers=token, files={"file": (name, content, content_type)})


def _stored_files(store) -> list:
    return [p for p in store.rglob("*") if p.is_file()]


TYPED = [
    ("scan.pdf", png(), "image/png", "scan.png"),  # the name says PDF: the content is a picture
    ("letter.pdf", PDF, "application/pdf", "letter.pdf"),
    ("call 2026-03-03.wav", wav(), "audio/wav", "call 2026-03-03.wav"),
    ("recording", b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" * 256, "audio/mpeg", "recording.mp3"),
    ("statement.docx", docx(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
     "statement.docx"),
    ("payments.txt", CSV, "text/csv", "payments.csv"),
    ("../../etc/notes.txt", b"Rang the customer twice.\nNo answer.\n", "text/plain", "notes.txt"),
]


@pytest.mark.parametrize(("name", "content", "stored_as", "filename"), TYPED, ids=[t[3] for t in TYPED])
def test_the_type_is_detected_from_the_content(client, tokens, store, query, name, content, stored_as, filename):
    r = _upload(client, tokens["a1"], query, name, content, "application/pdf")
    assert r.status_code == 201, r.text
    out = r.json()
    sha = hashlib.sha256(content).hexdigest()
    assert (out["content_type"], out["filename"], out["size_bytes"], out["sha256"]) == (
        stored_as, filename, len(content), sha)
    path = content_path(store, sha)
    assert path == store / sha[:2] / sha[2:4] / sha and path.read_bytes() == content
    assert not list((store / ".incoming").iterdir())
    with session_scope() as db:
        assert db.get(StoredFile, sha).content_type == stored_as


@pytest.mark.parametrize(("content", "why"), [(EXE, "application/x-msdownload"), (ELF, "application/x-executable"),
                                              (bytes(range(256)) * 8, "not recognised"),
                                              (docx(macros=True), "macros")], ids=["exe", "elf", "unknown", "macros"])
def test_executables_unknown_content_and_macros_are_a_415_naming_the_field(client, tokens, store, query,
                                                                            content, why):
    r = _upload(client, tokens["a1"], query, "invoice.pdf", content, "application/pdf")
    assert r.status_code == 415, r.text
    assert r.json()["detail"].startswith("file: ") and why in r.json()["detail"]
    assert _stored_files(store) == []
    with session_scope() as db:
        assert db.scalar(select(func.count()).select_from(QueryAttachment)
                         .where(QueryAttachment.query_id == query)) == 0


def test_the_same_content_is_stored_once(client, tokens, store, query, world):
    content = wav(1.0)
    first = _upload(client, tokens["a1"], query, "call.wav", content).json()
    second = _upload(client, tokens["sub_f"], query, "same call.wav", content).json()
    assert first["id"] != second["id"] and first["sha256"] == second["sha256"]
    assert (first["uploaded_by"], second["uploaded_by"], second["role"]) == (world["a1"], world["sub_f"],
                                                                          "subcontractor")
    assert _stored_files(store) == [content_path(store, first["sha256"])]
    with session_scope() as db:
        assert db.scalar(select(func.count()).select_from(StoredFile).where(StoredFile.sha256 == first["sha256"])) == 1
    thread = client.get(f"/queries/{query}", headers=tokens["a1"]).json()
    assert [a["filename"] for a in thread["attachments"]] == ["call.wav", "same call.wav"]
    with session_scope() as db:
        attached = db.scalars(select(AuditEvent).where(AuditEvent.action == "query.attach",
                                                       AuditEvent.target == f"query:{query}")).all()
        assert [a.data["attachment_id"] for a in attached] == [first["id"], second["id"]]


def test_25_mib_is_taken_and_a_byte_more_is_a_413(client, tokens, store, query):
    # filetype reads a PNG's signature; the rest may be anything.
    at_limit = png() + b"\x00" * (MAX_BYTES - len(png()))
    r = _upload(client, tokens["a1"], query, "big.png", at_limit)
    assert r.status_code == 201 and r.json()["size_bytes"] == MAX_BYTES
    r = _upload(client, tokens["a1"], query, "bigger.png", at_limit + b"\x00")
    assert r.status_code == 413, r.text
    assert r.json()["detail"].startswith("file: ") and "26,214,400 bytes" in r.json()["detail"]
    assert _stored_files(store) == [content_path(store, hashlib.sha256(at_limit).hexdigest())]


def test_a_body_declared_too_large_is_refused_before_it_is_read(client, tokens, store, query):
    boundary = "bailiwick-test"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.png\"\r\n"
            "Content-Type: image/png\r\n\r\n").encode()
    body = head + png() + f"\r\n--{boundary}--\r\n".encode()
    r = client.post(f"/queries/{query}/attachments", content=body,
                    headers={**tokens["a1"], "Content-Type": f"multipart/form-data; boundary={boundary}",
                             "Content-Length": str(MAX_BYTES * 2)})
    assert r.status_code == 413, r.text
    assert _stored_files(store) == []


def test_a_form_too_large_around_a_small_file_is_a_413(client, tokens, store, query):
    boundary = "bailiwick-test"

    def body():  # sent chunked: no Content-Length to refuse it by
        yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\n").encode()
        for _ in range(MAX_BYTES // (1 << 20) + 1):
            yield b"x" * (1 << 20)
        yield (f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.png\"\r\n\r\n"
               ).encode() + png() + f"\r\n--{boundary}--\r\n".encode()

    r = client.post(f"/queries/{query}/attachments", content=body(),
                    headers={**tokens["a1"], "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert r.status_code == 413, r.text
    assert _stored_files(store) == []


@pytest.mark.parametrize(("kwargs", "status", "field"), [
    ({"files": {"file": ("empty.txt", b"", "text/plain")}}, 422, "file"),
    ({"files": {"upload": ("x.png", png(), "image/png")}}, 422, "file"),
    ({"json": {"file": "aGVsbG8="}}, 415, None),
])
def test_a_missing_or_empty_file_or_no_form_names_what_is_wrong(client, tokens, store, query, kwargs, status, field):
    r = client.post(f"/queries/{query}/attachments", headers=tokens["a1"], **kwargs)
    assert r.status_code == status, r.text
    if field:
        assert [e["field"] for e in r.json()["errors"]] == [field]
    assert _stored_files(store) == []


def test_downloads_are_attachments_never_inline_and_audited(client, tokens, store, query, world):
    uploaded = _upload(client, tokens["a1"], query, "scan.pdf", png()).json()
    url = f"/queries/{query}/attachments/{uploaded['id']}"
    for who in ("a1", "sub_f", "admin"):
        r = client.get(url, headers=tokens[who])
        assert r.status_code == 200, r.text
        assert r.content == png()
        assert r.headers["content-type"] == "image/png"
        assert r.headers["content-disposition"] == 'attachment; filename="scan.png"'
        assert r.headers["x-content-type-options"] == "nosniff"
    with session_scope() as db:
        audits = db.scalars(select(AuditEvent).where(AuditEvent.action == "query.attachment_download",
                                                     AuditEvent.target == f"query_attachment:{uploaded['id']}")
                            .order_by(AuditEvent.id)).all()
        assert [(a.actor, a.role) for a in audits] == [(f"user:{world['a1']}", "buyer"),
                                                      (f"user:{world['sub_f']}", "subcontractor"),
                                                      (f"user:{world['admin']}", "admin")]
        assert audits[0].data == {"query_id": query, "sha256": uploaded["sha256"], "filename": "scan.png"}


def test_text_downloads_are_attachments_too(client, tokens, store, query):
    page = b"<html><script>alert(document.cookie)</script></html>\n"
    uploaded = _upload(client, tokens["a1"], query, "page.html", page, "text/html").json()
    assert (uploaded["content_type"], uploaded["filename"]) == ("text/plain", "page.txt")
    r = client.get(f"/queries/{query}/attachments/{uploaded['id']}", headers=tokens["a1"])
    assert r.headers["content-type"].startswith("text/plain")
    assert r.headers["content-disposition"].startswith("attachment;")


def test_buyer_b_and_other_firms_get_404_for_the_attachment(client, tokens, store, query, world):
    uploaded = _upload(client, tokens["a1"], query, "call.wav", wav()).json()
    url = f"/queries/{query}/attachments/{uploaded['id']}"
    for who in ("b1", "sub_g"):
        r = client.get(url, headers=tokens[who])
        assert r.status_code == 404, (who, r.text)
        r = _upload(client, tokens[who], query, "more.png", png())
        assert r.status_code == 404, (who, r.text)
    # An attachment is reached only through its own query.
    other = client.post("/queries", headers=tokens["b1"], json={"case_id": world["case_b"], "type": "other",
                                                                "text": "x"}).json()["id"]
    assert client.get(f"/queries/{other}/attachments/{uploaded['id']}", headers=tokens["b1"]).status_code == 404
    with session_scope() as db:
        assert db.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "query.attachment_download",
            AuditEvent.target == f"query_attachment:{uploaded['id']}")) == 0
    assert _stored_files(store) == [content_path(store, uploaded["sha256"])]


def test_a_closed_query_takes_no_attachment(client, tokens, store, query):
    client.post(f"/queries/{query}/status", headers=tokens["admin"], json={"status": "closed"})
    r = _upload(client, tokens["a1"], query, "late.png", png())
    assert (r.status_code, r.json()["rule_id"]) == (409, "R-QUERY-CLOSED")
    assert _stored_files(store) == []


def test_a_missing_content_is_a_404_not_a_server_error(client, tokens, store, query):
    uploaded = _upload(client, tokens["a1"], query, "gone.png", png() + b"gone").json()
    content_path(store, uploaded["sha256"]).unlink()
    r = client.get(f"/queries/{query}/attachments/{uploaded['id']}", headers=tokens["a1"])
    assert r.status_code == 404 and "missing from the file store" in r.json()["detail"]
