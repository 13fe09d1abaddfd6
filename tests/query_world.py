"""Buyers, caseworkers, subcontractor users and cases for the customer-query tests, with the ``world``
and ``tokens`` fixtures their modules import, and small files of each kind an attachment may be."""
from __future__ import annotations

import io
import struct
import wave
import zipfile
import zlib

import pytest
from sqlalchemy.orm import Session

from core import session_scope
from core.models import Subcontractor
from core.users import create_user
from tests.case_world import bearer, make_buyer, make_case, make_user
from tests.helpers import PASSWORD, unique


def make_firm(db: Session) -> Subcontractor:
    firm = Subcontractor(reference=unique("firm"), name="Test Enforcement Ltd")
    db.add(firm)
    db.flush()
    return firm


def make_firm_user(db: Session, firm: Subcontractor) -> str:
    return create_user(db, username=unique("subcontractor"), password=PASSWORD, role="subcontractor", actor="test",
                       subcontractor_reference=firm.reference).username


def query_world(db: Session) -> dict:
    """Buyer A with two caseworkers and two cases (one assigned to firm F, one to firm G), buyer B with
    one caseworker and a case, a user of each firm, an admin and a dispatcher."""
    buyer_a, buyer_b = make_buyer(db), make_buyer(db)
    firm_f, firm_g = make_firm(db), make_firm(db)
    case_f = make_case(db, buyer_a, assigned_subcontractor_id=firm_f.id)
    case_g = make_case(db, buyer_a, assigned_subcontractor_id=firm_g.id)
    case_b = make_case(db, buyer_b, assigned_subcontractor_id=firm_f.id)
    return {"buyer_a": buyer_a.reference, "buyer_b": buyer_b.reference, "buyer_a_id": buyer_a.id,
            "case_f": case_f.id, "case_g": case_g.id, "case_b": case_b.id,
            "a1": make_user(db, "buyer", buyer=buyer_a), "a2": make_user(db, "buyer", buyer=buyer_a),
            "b1": make_user(db, "buyer", buyer=buyer_b),
            "sub_f": make_firm_user(db, firm_f), "sub_g": make_firm_user(db, firm_g),
            "admin": make_user(db, "admin"), "dispatcher": make_user(db, "dispatcher")}


@pytest.fixture(scope="module")
def world(geodata_loaded):
    with session_scope() as db:
        return query_world(db)


@pytest.fixture(scope="module")
def tokens(client, world):
    """A bearer header for each user of ``world``."""
    return {who: bearer(client, world[who]) for who in ("a1", "a2", "b1", "sub_f", "sub_g", "admin", "dispatcher")}


def long_text(chars: int) -> str:
    """A customer's account of a query, ``chars`` characters long, with line breaks and non-ASCII."""
    line = "Mrs Nuñez phoned on 3 March: she paid £120 by card on 1 March and the balance still shows it owing. "
    text = (line * (chars // len(line) + 1))[:chars]
    return text[:-1] + "\n" if chars > 1 else text


def png() -> bytes:
    """A 1×1 PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
            + chunk(b"IEND", b""))


def wav(seconds: float = 0.5) -> bytes:
    """A telephone recording: 8 kHz mono 16-bit silence."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x00" * int(8000 * seconds))
    return out.getvalue()


def docx(*, macros: bool = False) -> bytes:
    """A minimal Word document (its zip entries in Word's order), with a macro project if asked."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        z.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships/>')
        z.writestr("word/document.xml", '<?xml version="1.0"?><w:document/>')
        if macros:
            z.writestr("word/vbaProject.bin", b"\xd0\xcf\x11\xe0" + b"\x00" * 64)
    return out.getvalue()


PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
CSV = b"reference,paid_on,amount\nPLY-1,2026-03-01,120.00\nPLY-2,2026-03-02,80.50\n"
# A Windows executable's DOS header, and a Linux one's ELF header.
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 112
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 120
