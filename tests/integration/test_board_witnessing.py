"""The board's side of witnessing (docs/protocol.md §8.4): the checkpoint it offers, the
cosignatures it accepts or refuses, the receipts it gives against witnessed heads."""

from __future__ import annotations

import base64
import json
import pathlib
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bulletin.board import export_record, write_record_zip
from bulletin.cosigning import PATIENCE
from bulletin.refusals import Refusal
from e2e import codec
from e2e.board import TreeHead, TreeHeadBody
from e2e.checkpoint import (
    Note,
    Signature,
    cosign,
    parse_checkpoint,
    parse_note,
    verify_witnessed,
)
from e2e.errors import VerificationError
from e2e.hash import HashValue
from e2e.record import Layout, read_monitor_copy, read_record
from e2e.verify import verify_record
from tests.integration.board_helpers import Setup, Witnesses, finish, later, make_board, submission
from web.api import create_app

ORIGIN = "tsukuba.example/tohyo/test"
C1 = {"mobility": ["tsukumobi"]}


@pytest.fixture
def witnessed(tmp_path: pathlib.Path) -> tuple[Setup, Witnesses]:
    w = Witnesses(ORIGIN)
    s = make_board(f"sqlite:///{tmp_path / 'b.db'}", tmp_path, witnessing=w.config)
    s.board.cosigning.clock = lambda: 1_800_000_000.0
    return s, w


def refused(fn, code: str) -> Refusal:
    with pytest.raises(Refusal) as e:
        fn()
    assert e.value.code == code, e.value
    return e.value


def test_receipts_carry_the_checkpoint_and_turn_to_the_witnessed_head(witnessed):
    s, w = witnessed
    b = s.board
    first = b.submit(submission(s.election, C1, "token-1", "v1"))
    # At submission no witness has seen the head: the note has the board's signature only.
    note = parse_note(first["checkpoint"])
    cp = parse_checkpoint(note.text)
    assert (cp.origin, cp.size) == (ORIGIN, first["tree_head"]["size"])
    assert (
        base64.b64encode(cp.root).decode()
        == base64.b64encode(bytes.fromhex(first["tree_head"]["root"])).decode()
    )
    with pytest.raises(Exception, match="cosigned by 0 of the 2"):
        verify_witnessed(note, ORIGIN, bytes(b.public.public_key), w.config.keys(), 2)

    offered = b.cosigning.offer().render()
    assert parse_checkpoint(parse_note(offered).text).size == cp.size
    for name in w.keys:
        b.cosigning.add(w.cosign(offered, name))
    # A later ballot moves the log on; the first ballot's receipt is given against the
    # witnessed head, which covers it, not against the newer head nobody has cosigned.
    later(s.clock)
    b.submit(submission(s.election, C1, "token-2", "v2"))
    again = b.receipt_by_code(first["confirmation_code"])
    assert again["tree_head"]["size"] == cp.size
    got = verify_witnessed(
        again["checkpoint"], ORIGIN, bytes(b.public.public_key), w.config.keys(), 2
    )
    assert sorted(got.witnesses) == sorted(w.keys)
    # The second ballot is not covered by a witnessed head yet: latest head, too few.
    second = b.receipt_for(cp.size)
    assert second["tree_head"]["size"] == cp.size + 1


def test_the_offer_waits_for_every_witness_or_the_interval(witnessed):
    s, w = witnessed
    b = s.board
    now = [1_800_000_000.0]
    b.cosigning.clock = lambda: now[0]
    b.cosigning.interval = 5.0
    b.submit(submission(s.election, C1, "token-1", "v1"))
    first = b.cosigning.offer().render()
    size = parse_checkpoint(parse_note(first).text).size
    later(s.clock)
    b.submit(submission(s.election, C1, "token-2", "v2"))
    # A newer head exists, but the offer stays while the witnesses are still cosigning...
    assert parse_checkpoint(b.cosigning.offer().text).size == size
    names = list(w.keys)
    b.cosigning.add(w.cosign(first, names[0]))
    assert parse_checkpoint(b.cosigning.offer().text).size == size
    # ...and moves on once every witness has cosigned it,
    b.cosigning.add(w.cosign(first, names[1]))
    assert parse_checkpoint(b.cosigning.offer().text).size == size + 1
    # With one of the quorum's cosignatures, it waits PATIENCE intervals for the other (a
    # witness that polls more slowly than the interval still cosigns the same head)...
    later(s.clock)
    b.submit(submission(s.election, C1, "token-3", "v3"))
    offered = b.cosigning.offer().render()
    b.cosigning.add(w.cosign(offered, names[0]))
    later(s.clock)
    b.submit(submission(s.election, C1, "token-4", "v4"))
    now[0] += 5.0 * (PATIENCE - 1)
    assert parse_checkpoint(b.cosigning.offer().text).size == size + 1
    # ...and then moves on (the other witness is offline, not slow).
    now[0] += 5.0
    assert parse_checkpoint(b.cosigning.offer().text).size == size + 3
    # An offer nobody cosigned moves on after one interval.
    later(s.clock)
    b.submit(submission(s.election, C1, "token-5", "v5"))
    now[0] += 4.9
    assert parse_checkpoint(b.cosigning.offer().text).size == size + 3
    now[0] += 0.1
    assert parse_checkpoint(b.cosigning.offer().text).size == size + 4
    # A clock stepped back does not freeze the offer.
    later(s.clock)
    b.submit(submission(s.election, C1, "token-6", "v6"))
    now[0] -= 3600
    assert parse_checkpoint(b.cosigning.offer().text).size == size + 5


def test_the_offer_ages_by_the_databases_clock(db_url, tmp_path, monkeypatch):
    """Every web process and machine reads one clock for the offer: a host whose clock is
    hours off neither freezes the offer nor moves it on at every request."""
    s = make_board(db_url, tmp_path, witnessing=Witnesses(ORIGIN).config)
    b = s.board
    b.cosigning.clock = None  # the database's
    b.cosigning.interval = 3600.0
    b.submit(submission(s.election, C1, "token-1", "v1"))
    size = parse_checkpoint(b.cosigning.offer().text).size
    later(s.clock)
    b.submit(submission(s.election, C1, "token-2", "v2"))
    real = time.time
    for skew in (2 * 3600, -2 * 3600):  # this host's clock two hours ahead, then behind
        monkeypatch.setattr(time, "time", lambda skew=skew: real() + skew)
        assert parse_checkpoint(b.cosigning.offer().text).size == size
    monkeypatch.setattr(time, "time", real)
    b.cosigning.interval = 0.0  # due by the database's clock: it moves on
    assert parse_checkpoint(b.cosigning.offer().text).size == size + 1


def test_every_bad_cosignature_is_refused(witnessed):
    s, w = witnessed
    b = s.board
    b.submit(submission(s.election, C1, "token-1", "v1"))
    offered = b.cosigning.offer().render()
    name = next(iter(w.keys))
    refused(lambda: b.cosigning.add("not a note"), "malformed")
    refused(lambda: b.cosigning.add(offered), "unknown_witness")  # the board's line alone
    stranger = Ed25519PrivateKey.generate()
    text = parse_note(offered).text
    alien = parse_note(offered).with_signatures([cosign(text, "x.example/w", stranger, 1)])
    refused(lambda: b.cosigning.add(alien.render()), "unknown_witness")
    # A manifest witness's line that does not verify refuses the whole note.
    good = parse_note(w.cosign(offered, name))
    mine = good.signatures[-1]
    broken = Signature(
        mine.name, mine.key_id, mine.signature[:-1] + bytes([mine.signature[-1] ^ 1])
    )
    bad = parse_note(offered).with_signatures([broken])
    refused(lambda: b.cosigning.add(bad.render()), "bad_signature")
    refused(lambda: b.cosigning.add(w.cosign(offered, name, when=1_900_000_000)), "bad_signature")
    # A checkpoint the board never signed: another root for the size, an unknown size,
    # another origin (each cosigned by a real witness, so only the checkpoint is wrong).
    cp = parse_checkpoint(text)
    for other in (
        f"{ORIGIN}\n{cp.size}\n{base64.b64encode(bytes(32)).decode()}\n",
        f"{ORIGIN}\n{cp.size + 7}\n{base64.b64encode(cp.root).decode()}\n",
        f"other.example/log\n{cp.size}\n{base64.b64encode(cp.root).decode()}\n",
    ):
        forged = Note(other, (cosign(other, name, w.keys[name], 1_800_000_000),))
        refused(lambda forged=forged: b.cosigning.add(forged.render()), "not_our_checkpoint")
    assert b.cosigning.witnessed_size() is None
    # The good cosignature is stored once, however often it is posted.
    for _ in range(2):
        out = b.cosigning.add(w.cosign(offered, name))
    assert out == {"size": cp.size, "cosigned_by": [name], "quorum": 2}


def test_the_api_serves_checkpoints_and_takes_cosignatures(witnessed):
    s, w = witnessed
    s.board.submit(submission(s.election, C1, "token-1", "v1"))
    client = create_app(s.board).test_client()
    r = client.get("/api/checkpoint")
    assert r.status_code == 200 and r.mimetype == "text/plain"
    offered = r.get_data(as_text=True)
    size = parse_checkpoint(parse_note(offered).text).size
    assert client.get("/api/checkpoint/witnessed").status_code == 404
    for name in w.keys:
        r = client.post(
            "/api/cosignatures", data=w.cosign(offered, name), content_type="text/plain"
        )
        assert r.status_code == 201, r.get_json()
    r = client.get("/api/checkpoint/witnessed")
    assert r.status_code == 200
    got = verify_witnessed(
        r.get_data(as_text=True), ORIGIN, bytes(s.board.public.public_key), w.config.keys(), 2
    )
    assert got.checkpoint.size == size
    assert client.get(f"/api/checkpoints/{size}").get_data(as_text=True) == r.get_data(as_text=True)
    statuses = {
        "garbage": 400,
        offered: 403,
        "x" * 20_000: 413,
    }
    for body, status in statuses.items():
        r = client.post("/api/cosignatures", data=body, content_type="text/plain")
        assert r.status_code == status, (body[:20], r.get_json())
    assert client.get("/api/checkpoints/999").status_code == 404


def test_an_election_without_witnesses_has_no_checkpoints(tmp_path):
    s = make_board(f"sqlite:///{tmp_path / 'b.db'}", tmp_path)
    receipt = s.board.submit(submission(s.election, C1, "token-1", "v1"))
    assert "checkpoint" not in receipt
    client = create_app(s.board).test_client()
    assert client.get("/api/checkpoint").status_code == 404


def test_the_record_verifies_only_with_its_final_head_witnessed(witnessed, tmp_path):
    s, w = witnessed
    b = s.board
    r1 = b.submit(submission(s.election, C1, "token-1", "v1"))
    w.cosign_latest(s)
    early = b.receipt_by_code(r1["confirmation_code"])
    later(s.clock)
    b.submit(submission(s.election, C1, "token-2", "v2"))
    late = b.receipt_for(early["tree_head"]["size"])  # not witnessed yet
    finish(s)
    w.cosign_latest(s)
    root = export_record(b, tmp_path / "rec")
    report = verify_record(read_record(root))
    assert sorted(report.witnesses) == sorted(w.keys)
    assert any("cosigned by 2 witnesses" in c for c in report.checks)

    # Receipts: a witnessed one passes quietly, one saved before the witnesses came is
    # checked against the witnessed log and told, one with a forged cosignature fails.
    files = [("early", json.dumps(early).encode()), ("late", json.dumps(late).encode())]
    report = verify_record(read_record(root), receipts=files)
    assert report.receipts == 2
    assert [x for x in report.warnings if "receipt" in x] == [
        "receipt late: its head was cosigned by 0 of the 2 witnesses the manifest asks for "
        "when it was saved; it was checked against the log the witnesses cosigned instead"
    ]
    note = parse_note(early["checkpoint"])
    sig = note.signatures[-1]
    forged = Signature(sig.name, sig.key_id, sig.signature[:8] + bytes(64))
    bad = dict(early, checkpoint=Note(note.text, (*note.signatures[:-1], forged)).render())
    with pytest.raises(VerificationError, match="cosignature of .* does not verify"):
        verify_record(read_record(root), receipts=[("bad", json.dumps(bad).encode())])

    # The record's checkpoint: missing, short of the quorum, of an earlier head.
    path = root / Layout.BOARD_CHECKPOINT
    good = path.read_bytes()
    path.unlink()
    with pytest.raises(VerificationError, match="no cosigned checkpoint"):
        verify_record(read_record(root))
    one = parse_note(good)
    path.write_text(Note(one.text, one.signatures[:2]).render())
    with pytest.raises(VerificationError, match="cosigned by 1 of the 2"):
        verify_record(read_record(root))
    path.write_text(b.cosigning.note(early["tree_head"]["size"]).render())
    with pytest.raises(VerificationError, match="the log has"):
        verify_record(read_record(root))
    # The zip export carries the same checkpoint.
    path.write_bytes(good)
    z = write_record_zip(b, tmp_path / "rec.zip")
    assert verify_record(read_record(z)).witnesses == report.witnesses


def test_a_monitors_copy_is_compared_with_the_final_record(witnessed, tmp_path):
    s, w = witnessed
    b = s.board
    b.submit(submission(s.election, C1, "token-1", "v1"))
    w.cosign_latest(s)
    # What a monitor keeps while the vote is open: the log so far, in the record's layout.
    copy = export_record(b, tmp_path / "copy")
    size = b.store.size()
    (copy / "witnessed.jsonl").write_text(
        json.dumps({"size": size, "note": b.cosigning.witnessed().render()}) + "\n"
    )
    later(s.clock)
    b.submit(submission(s.election, C1, "token-2", "v2"))
    finish(s)
    w.cosign_latest(s)
    root = export_record(b, tmp_path / "rec")
    report = verify_record(read_record(root), monitor=read_monitor_copy(copy))
    assert any(f"its {size} entries are the log's first" in c for c in report.checks)

    entries = copy / Layout.BOARD_ENTRIES
    good = entries.read_bytes()
    lines = good.splitlines()
    # The board rewrote an entry after the monitor saw it.
    doc = json.loads(lines[-1])
    doc["time"] = doc["time"].replace("+00:00", "1+00:00")
    entries.write_bytes(b"\n".join([*lines[:-1], json.dumps(doc).encode()]) + b"\n")
    with pytest.raises(VerificationError, match="not the entry the monitor saw"):
        verify_record(read_record(root), monitor=read_monitor_copy(copy))
    # The monitor saw more than the record holds (the log was cut).
    long = export_record(b, tmp_path / "long")
    with open(long / Layout.BOARD_ENTRIES, "ab") as f:
        f.write(b'{"an":"entry the record lost"}\n')
    with pytest.raises(VerificationError, match="more entries than the record"):
        verify_record(read_record(root), monitor=read_monitor_copy(long))
    # A head the board showed the monitor that is not a state of the final log.
    entries.write_bytes(good)
    head = json.loads((copy / Layout.BOARD_HEADS).read_bytes().splitlines()[-1])
    head["root"] = "00" * 32
    forged = b.key.sign(
        codec.encode(TreeHeadBody(b.log, head["size"], HashValue(bytes(32)), head["time"]))
    )
    head["signature"] = forged.hex().upper()
    with open(copy / Layout.BOARD_HEADS, "ab") as f:
        f.write(codec.encode(codec.from_document(head, TreeHead)) + b"\n")
    with pytest.raises(VerificationError, match="not a state of this record's log"):
        verify_record(read_record(root), monitor=read_monitor_copy(copy))


def test_revision_0006_makes_the_witness_tables_and_goes_back(tmp_path):
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import inspect

    from bulletin.store import MIGRATIONS, make_engine, migrate

    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    migrate(engine)
    tables = {"checkpoint_offers", "cosignatures", "witnessed_heads"}
    assert tables <= set(inspect(engine).get_table_names())
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005")
    assert not tables & set(inspect(engine).get_table_names())
    migrate(engine)
    assert tables <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_cosignatures_are_limited_per_address(witnessed):
    from web.app import SiteSettings, create_site

    s, _ = witnessed
    app = create_site(s.board, SiteSettings(cosignature_limit="3 per minute"))
    client = app.test_client()

    def post(addr: str) -> int:
        return client.post(
            "/api/cosignatures",
            data="junk",
            content_type="text/plain",
            environ_base={"REMOTE_ADDR": addr},
        ).status_code

    assert [post("10.9.0.1") for _ in range(4)] == [400, 400, 400, 429]
    assert post("10.9.0.2") == 400  # another witness's address is not held up


def test_the_sites_record_zip_follows_the_cosignatures_of_the_results(witnessed, tmp_path):
    """The witnesses cosign the results' head after it is posted. A /record.zip asked for in
    between carries a checkpoint short of their quorum, which the verifier refuses; once
    they have cosigned, the site must serve a zip that verifies, though the log's size is
    the same."""
    from web.app import create_site

    s, w = witnessed
    b = s.board
    b.submit(submission(s.election, C1, "token-1", "v1"))
    finish(s)
    app = create_site(b)
    cache = tmp_path / "cache"
    cache.mkdir()
    app.config["RECORD_CACHE"] = str(cache)
    client = app.test_client()
    early = client.get("/record.zip")
    assert early.status_code == 200
    (tmp_path / "early.zip").write_bytes(early.data)
    with pytest.raises(VerificationError, match="cosigned by 0 of the 2"):
        verify_record(read_record(tmp_path / "early.zip"))

    w.cosign_latest(s)
    late = client.get("/record.zip")
    assert late.status_code == 200
    (tmp_path / "late.zip").write_bytes(late.data)
    assert verify_record(read_record(tmp_path / "late.zip")).witnesses
    assert [p.suffix for p in cache.iterdir()] == [".zip"]  # the stale zip is gone
    assert client.get("/record.zip").data == late.data  # and this one is kept
