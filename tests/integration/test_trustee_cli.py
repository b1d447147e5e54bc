"""The trustee command line, end to end: ceremony by files, ballots, decryption, verify."""

import json
import pathlib
import shutil
from dataclasses import replace

import pytest
from click.testing import CliRunner

from e2e import codec
from e2e.ballot import encrypt_ballot
from e2e.election import Election
from e2e.manifest import manifest_from_canonical
from e2e.record import read_record
from e2e.rng import DeterministicRng
from e2e.tally import aggregate
from e2e.verify import load_election
from tohyo.cli import main
from trustees import keystore

MANIFEST = pathlib.Path(__file__).resolve().parents[2] / "examples" / "tsukuba-2025.json"


@pytest.fixture
def small_manifest(tmp_path):
    m = json.loads(MANIFEST.read_text(encoding="utf-8"))
    m["trustees"], m["quorum"] = 3, 2
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(m, ensure_ascii=False), encoding="utf-8")
    return path


def run(*args, ok=True):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result


def test_ceremony_decryption_and_verify_by_files(tmp_path, small_manifest, monkeypatch):
    monkeypatch.setattr(keystore, "SCRYPT_N", 2**12)  # fast KDF for the test only
    pw = tmp_path / "pw"
    pw.write_text("correct horse battery staple\n", encoding="utf-8")
    dirs = {i: tmp_path / f"t{i}" for i in (1, 2, 3)}
    for i, d in dirs.items():
        # This election runs without a board (the record is made by hand below).
        out = run(*_init(small_manifest, i, d, pw), "--no-board").output
        assert "encrypted" in out and "manifest fingerprint H_B: " in out
        key_text = (d / f"trustee-{i}.key").read_text()
        assert "coefficients" not in key_text and "zeta" not in key_text  # secrets are encrypted
    publics = [dirs[i] / f"trustee-{i}.public.json" for i in dirs]
    pub_args = [x for p in publics for x in ("--public", p)]
    inbox = tmp_path / "inbox"
    for i, d in dirs.items():
        run(
            "trustee",
            "shares",
            "--key",
            d / f"trustee-{i}.key",
            *pub_args,
            "--out",
            inbox,
            "--passphrase-file",
            pw,
        )
    shares = sorted(inbox.glob("share-*.json"))
    assert len(shares) == 6
    share_args = [x for s in shares for x in ("--share", s)]
    fingerprints = set()
    for i, d in dirs.items():
        out = run(
            "trustee",
            "receive",
            "--key",
            d / f"trustee-{i}.key",
            *pub_args,
            *share_args,
            "--passphrase-file",
            pw,
        ).output
        fingerprints.add(out.split("fingerprint: ")[1].split("…")[0])
    assert len(fingerprints) == 1  # every trustee computed the same joint key

    record = tmp_path / "record"
    run(
        "trustee",
        "joint-key",
        "--manifest",
        small_manifest,
        *pub_args,
        "--record",
        record,
        "--group",
        "test",
    )
    # the administrator's side: ballots and tally (the board does this in production)
    files = read_record_partial(record)
    election = load_election(files)[0]
    rng = DeterministicRng("cli")
    ballots = [
        encrypt_ballot(election, {"gyosei": ["internet-voting"], "mobility": []}, rng)[0],
        encrypt_ballot(election, {"healthcare": ["emergency-info"]}, rng)[0],
        encrypt_ballot(election, {"gyosei": ["internet-voting"]}, rng)[0],
    ]
    (record / "ballots.jsonl").write_bytes(b"".join(codec.encode(b) + b"\n" for b in ballots))
    (record / "tally.json").write_bytes(codec.encode(aggregate(election, ballots)))

    def decrypt(i, rec, *extra, ok=True):
        return run(
            "trustee", "decrypt", "--key", dirs[i] / f"trustee-{i}.key", "--record", rec,
            "--passphrase-file", pw, *extra, ok=ok,
        )  # fmt: skip

    # A record without the board's log could hold made-up ballots: refused unless the
    # trustee says the election ran without a board.
    r = decrypt(1, record, ok=False)
    assert r.exit_code == 2 and "no bulletin board log" in r.output
    # Another election's manifest (same n, k, so the same H_P) with the same keys: the key
    # file keeps H_B of the manifest it was made for.
    other = tmp_path / "other"
    shutil.copytree(record, other)
    m2 = replace(manifest_from_canonical((record / "manifest.json").read_bytes()), election_id="x")
    e2 = Election(election.group, m2, election.key.element)
    (other / "manifest.json").write_bytes(m2.canonical_bytes())
    (other / "parameters.json").write_bytes(codec.encode(e2.parameters()))
    (other / "tally.json").write_bytes(codec.encode(aggregate(e2, [])))
    (other / "ballots.jsonl").write_bytes(b"")
    r = decrypt(1, other, "--no-board", ok=False)
    assert r.exit_code == 2 and "not the one this key was made for" in r.output

    # trustee 2 is absent; 1 and 3 form the quorum
    for i in (1, 3):
        out = decrypt(i, record, "--no-board").output
        assert "checked 3 ballots" in out
    out = run("trustee", "combine", "--record", record).output
    assert "internet-voting 2" in out and "emergency-info 1" in out
    out = run("verify", record, "--jobs", "1").output
    assert "PASS" in out

    # a wrong passphrase is refused without a traceback
    bad = tmp_path / "bad"
    bad.write_text("wrong passphrase!!", encoding="utf-8")
    result = run(
        "trustee",
        "decrypt",
        "--key",
        dirs[1] / "trustee-1.key",
        "--record",
        record,
        "--passphrase-file",
        bad,
        ok=False,
    )
    assert result.exit_code == 2 and "wrong passphrase" in result.output


def read_record_partial(record):
    """parameters and manifest of a record that has no ballots yet."""
    (record / "ballots.jsonl").write_bytes(b"")
    (record / "tally.json").write_bytes(b"{}")
    files = read_record(record)
    assert manifest_from_canonical(files.manifest).trustees == 3
    return files


def _init(manifest, index, directory, pw):
    return ["trustee", "init", "--manifest", manifest, "--index", index, "--dir", directory,
            "--group", "test", "--passphrase-file", pw]  # fmt: skip


def test_init_refuses_bad_input(tmp_path, small_manifest):
    pw = tmp_path / "pw"
    pw.write_text("short", encoding="utf-8")
    r = run(*_init(small_manifest, 1, tmp_path / "a", pw), "--no-board", ok=False)
    assert r.exit_code == 2 and "at least 12 characters" in r.output
    r = run(*_init(small_manifest, 4, tmp_path / "a", pw), ok=False)
    assert r.exit_code == 2 and "between 1 and 3" in r.output
    # A manifest that names no board: a key made for it could never decrypt the record of
    # the pinned manifest the board runs, so it is refused unless the election has no board.
    pw.write_text("correct horse battery staple", encoding="utf-8")
    r = run(*_init(small_manifest, 1, tmp_path / "a", pw), ok=False)
    assert r.exit_code == 2 and "names no bulletin board key" in r.output
    assert not (tmp_path / "a" / "trustee-1.key").exists()


def test_verify_exit_codes(tmp_path):
    r = run("verify", tmp_path, ok=False)
    assert r.exit_code == 1 and "no manifest.json" in r.output


def test_board_commands(tmp_path, small_manifest, monkeypatch):
    """tohyo board init/open/status/close/export around a ceremony made by files."""
    monkeypatch.setattr(keystore, "SCRYPT_N", 2**10)
    pw = tmp_path / "pw"
    pw.write_text("correct horse battery staple\n", encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'board.db'}"
    key = tmp_path / "board.key"
    # An unpinned manifest is refused by the board (after the whole ceremony), so the
    # administrator names the board's key in the manifest first.
    pinned = tmp_path / "pinned.json"
    out = run("board", "pin-manifest", "--key", key, small_manifest, "--out", pinned).output
    assert "created the board signing key" in out and key.exists()
    board_hex = json.loads(pinned.read_text(encoding="utf-8"))["board"]["public_key"]
    assert board_hex in out
    pubs = []
    for i in (1, 2, 3):
        out = run(*_init(pinned, i, tmp_path / "k", pw)).output
        assert f"board key (in the manifest): {board_hex}" in out
        pubs += ["--public", tmp_path / "k" / f"trustee-{i}.public.json"]
    record = tmp_path / "start"
    run(
        "trustee",
        "joint-key",
        "--manifest",
        pinned,
        *pubs,
        "--record",
        record,
        "--group",
        "test",
    )
    other = tmp_path / "other.key"  # a board whose key the manifest does not name
    r = run("board", "init", "--db", f"sqlite:///{tmp_path / 'o.db'}", "--key", other,
            "--record", record, ok=False)  # fmt: skip
    assert r.exit_code == 2 and "does not name this board's public key" in r.output
    out = run("board", "init", "--db", db, "--key", key, "--record", record).output
    assert "posted" in out and board_hex in out
    assert json.loads(run("board", "status", "--db", db, "--key", key).output)["state"] == "ready"
    run("board", "open", "--db", db, "--key", key)
    r = run("board", "open", "--db", db, "--key", key, ok=False)
    assert r.exit_code == 2 and "cannot open" in r.output
    assert json.loads(run("board", "status", "--db", db, "--key", key).output)["state"] == "open"
    out = run("board", "close", "--db", db, "--key", key).output
    assert "tally" in out
    run("board", "export", "--db", db, "--key", key, tmp_path / "rec")
    assert (tmp_path / "rec" / "board" / "entries.jsonl").exists()
    assert (tmp_path / "rec" / "tally.json").exists()


# --- the remote client against a misbehaving server (trustees/remote.py) -------------------


class _Fake:
    """A loopback HTTP server answering from ``routes`` (path → (status, headers, body));
    it records every request's path and Authorization header."""

    def __init__(self, routes: dict) -> None:
        import http.server
        import threading

        self.routes = routes
        self.seen: list[tuple[str, str | None]] = []
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.seen.append((self.path, self.headers.get("Authorization")))
                status, headers, body = fake.routes.get(
                    self.path.split("?")[0], (404, {}, b'{"error": "not_found"}')
                )
                if callable(body):
                    body = body(self.path)
                self.send_response(status)
                for k, v in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def fake_servers():
    made: list[_Fake] = []

    def make(routes: dict) -> _Fake:
        made.append(_Fake(routes))
        return made[-1]

    yield make
    for f in made:
        f.close()


def test_remote_refuses_redirects_and_keeps_the_token(fake_servers):
    from trustees.remote import RemoteError, Server

    elsewhere = fake_servers({"/api/ceremony/me": (200, {}, b'{"trustee": 1}')})
    for code in (301, 302, 303, 307, 308):
        site = fake_servers(
            {"/api/ceremony/me": (code, {"Location": elsewhere.url + "/api/ceremony/me"}, b"")}
        )
        with pytest.raises(RemoteError) as e:
            Server(site.url, "secret-token").get("/api/ceremony/me")
        assert f"redirect ({code}) to {elsewhere.url}/api/ceremony/me" in str(e.value)
        assert site.seen == [("/api/ceremony/me", "Bearer secret-token")]
    assert elsewhere.seen == []  # the token never went to the other address
    # The command line says the same in one line.
    out = run(
        "trustee", "remote", "--server", site.url, "--token", "secret-token", "status", ok=False
    )
    assert out.exit_code == 2 and "not followed" in out.output and "Traceback" not in out.output


ELECTION = json.dumps({"board_key": {"format": "tohyo/1", "public_key": "00" * 32}}).encode()
ENTRY = {
    "format": "tohyo/1",
    "type": "BoardEntry",
    "index": 0,
    "kind": "event",
    "time": "2025-02-21T00:00:00.000000+00:00",
    "voter": "",
    "payload": '{"format":"tohyo/1","name":"open","type":"BoardEvent"}',
}


def test_download_record_stops_on_a_server_that_does_not_move_forward(fake_servers, tmp_path):
    from trustees.remote import RemoteError, Server, download_record

    def same_page(path: str) -> bytes:
        return json.dumps({"entries": [ENTRY], "next": 0}).encode()

    site = fake_servers(
        {"/api/election": (200, {}, ELECTION), "/api/entries": (200, {}, same_page)}
    )
    with pytest.raises(RemoteError) as e:
        download_record(Server(site.url), tmp_path / "r1")
    assert "says the next starts at 0; expected 1" in str(e.value)
    assert len(site.seen) == 2  # one page, then it stopped

    site.routes["/api/entries"] = (200, {}, b'{"entries": [{"kind": "event"}], "next": 1}')
    with pytest.raises(RemoteError) as e:
        download_record(Server(site.url), tmp_path / "r2")
    assert "record is malformed" in str(e.value) and "BoardEntry" in str(e.value)

    def one_page(path: str) -> bytes:
        start = int(path.split("start=")[1].split("&")[0])
        entries = [ENTRY] if start == 0 else []
        return json.dumps({"entries": entries, "next": 1 if entries else None}).encode()

    heads = json.dumps({"tree_heads": [{"size": 0}] * 1000}).encode()
    site.routes["/api/entries"] = (200, {}, one_page)
    site.routes["/api/tree-heads"] = (200, {}, heads)
    with pytest.raises(RemoteError) as e:
        download_record(Server(site.url), tmp_path / "r3")
    assert "must move forward" in str(e.value)


def test_download_record_needs_an_empty_directory(fake_servers, tmp_path):
    from trustees.remote import RemoteError, Server, download_record

    site = fake_servers({"/api/election": (200, {}, ELECTION)})
    stale = tmp_path / "old"
    (stale / "decryptions").mkdir(parents=True)
    (stale / "decryptions" / "trustee-9.json").write_text("{}", encoding="utf-8")
    with pytest.raises(RemoteError) as e:
        download_record(Server(site.url), stale)
    assert "not an empty directory" in str(e.value) and site.seen == []
    a_file = tmp_path / "file"
    a_file.write_text("x", encoding="utf-8")
    with pytest.raises(RemoteError):
        download_record(Server(site.url), a_file)


def test_remote_commands_report_a_malformed_answer(fake_servers):
    site = fake_servers(
        {
            "/api/ceremony/me": (200, {}, b"[]"),
            "/api/ceremony": (200, {}, b'{"group": "standard"}'),
        }
    )
    out = run("trustee", "remote", "--server", site.url, "--token", "t", "status")
    assert out.output.strip() == "[]"  # status prints whatever the server said
    out = run(
        "trustee", "remote", "--server", site.url, "--token", "t", "init", "--dir", "x", ok=False
    )
    assert out.exit_code == 2 and "answer is not what this step expects" in out.output
    assert "Traceback" not in out.output
