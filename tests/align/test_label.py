"""The labelling session and its server: pairs files, durable appends, resume, HTTP."""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from trustbench.align import _label_log
from trustbench.align.data import read_preferences
from trustbench.align.label import (
    AlreadyLabelledError,
    LabelServer,
    LabelSession,
    Pair,
    Progress,
    pair_id,
    read_pairs,
    serve_labels,
    start_label_server,
    undecided_path,
)
from trustbench.errors import InputError, TrustbenchError


def _write(path: Path, rows: list[Any]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n",
                    encoding="utf-8")
    return path


def _pairs(n: int, *, group: str | None = None) -> list[Pair]:
    return [Pair(f"p{i}", f"question {i}?", f"answer A{i}", f"answer B{i}", group) for i in range(n)]


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def session(tmp_path: Path) -> Iterator[LabelSession]:
    s = LabelSession(_pairs(4, group="en"), tmp_path / "prefs.jsonl", annotator="ann")
    yield s
    s.close()


# -- pairs files ---------------------------------------------------------------------

def test_a_pairs_file_reads_both_spellings_ids_and_groups(tmp_path: Path) -> None:
    f = _write(tmp_path / "pairs.jsonl", [
        {"prompt": "2+2?", "a": "4", "b": "5", "id": 7, "group": "math"},
        "",
        {"prompt": "capital of France?", "chosen": "Paris", "rejected": "Lyon", "margin": 1,
         "annotator": "x"},
        {"prompt": "2+2?", "a": "four", "b": "4", "id": "s"},
    ])
    pairs = read_pairs(f)
    assert pairs[0] == Pair("7", "2+2?", "4", "5", "math", 1)
    assert pairs[1] == Pair(pair_id("capital of France?", "Lyon", "Paris"), "capital of France?",
                            "Paris", "Lyon", None, 3)
    assert [p.line for p in pairs] == [1, 3, 4]
    assert pairs[1].id.startswith("h") and len(pairs[1].id) == 17


def test_the_hash_id_is_stable_and_ignores_the_responses_order() -> None:
    assert pair_id("q", "x", "y") == pair_id("q", "y", "x")
    assert pair_id("q", "x", "y") != pair_id("q", "x", "z")
    assert pair_id("q", "x", "y") != pair_id("qx", "", "y")  # fields cannot run into each other
    assert pair_id("q", "x", "y") == "h" + hashlib.sha256(b"q\0x\0y").hexdigest()[:16]


OK = {"prompt": "2+2?", "a": "4", "b": "5"}


@pytest.mark.parametrize(("rows", "needle"), [
    (["{not json"], "line 1: not valid JSON"),
    ([OK, "[1, 2]"], "line 2: a JSON list, not an object"),
    ([{"a": "4", "b": "5"}], "no field 'prompt'"),
    ([{"prompt": "q", "a": "4"}], "no field 'b'"),
    ([{"prompt": "q", "chosen": "4"}], "no field 'rejected'"),
    ([{**OK, "a": "  "}], "field 'a' is \"  \", not a non-empty string"),
    ([{**OK, "b": 5}], "field 'b' is 5, not a non-empty string"),
    ([{**OK, "b": "4"}], "'a' and 'b' are the same text"),
    ([{**OK, "chosen": "4"}], "both 'a'/'b' and 'chosen'/'rejected'"),
    ([{**OK, "id": True}], "field 'id' is true"),
    ([{**OK, "id": 1.5}], "field 'id' is 1.5"),
    ([{**OK, "id": ""}], "field 'id' is \"\""),
    ([{**OK, "group": 3}], "field 'group' is 3, not a string"),
    ([{**OK, "promt": "x"}], "unknown field 'promt'"),
    ([{**OK, "id": 1}, {"prompt": "q", "a": "x", "b": "y", "id": "1"}],
     "line 2: id '1' is also on line 1"),
    ([OK, {"prompt": "2+2?", "a": "5", "b": "4"}],
     "line 2: the same prompt and responses as line 1"),
])
def test_every_bad_line_is_one_error_naming_file_line_and_fix(tmp_path: Path, rows: list[Any],
                                                              needle: str) -> None:
    f = _write(tmp_path / "pairs.jsonl", rows)
    with pytest.raises(InputError) as info:
        read_pairs(f)
    message = str(info.value)
    assert needle in message and str(f) in message and "\n" not in message
    assert info.value.fix  # every error says what to do


def test_an_empty_a_missing_and_a_non_utf8_file_are_errors(tmp_path: Path) -> None:
    (tmp_path / "empty.jsonl").write_text("\n \n", encoding="utf-8")
    with pytest.raises(InputError, match="holds no pairs"):
        read_pairs(tmp_path / "empty.jsonl")
    with pytest.raises(InputError, match="no such file"):
        read_pairs(tmp_path / "missing.jsonl")
    (tmp_path / "latin1.jsonl").write_bytes(json.dumps(OK).encode()[:-2] + b'\xe9"}\n')
    with pytest.raises(InputError, match=r"not UTF-8 text .* at byte \d+\) -- save the file as UTF-8"):
        read_pairs(tmp_path / "latin1.jsonl")


# -- sessions: the files, resume, crashes --------------------------------------------

def test_decided_choices_are_preferences_that_read_preferences_accepts(session: LabelSession) -> None:
    first = session.next()
    assert first is not None and first.pair.id == "p0"
    assert {first.left, first.right} == {"answer A0", "answer B0"}
    session.record("p0", "left")
    second = session.next()
    assert second is not None
    session.record(second.pair.id, "right")
    prefs = read_preferences(session.out_path)
    assert [(p.id, p.chosen, p.rejected) for p in prefs] == [
        ("p0", first.left, first.right), ("p1", second.right, second.left)]
    assert all(p.annotator == "ann" and p.group == "en" for p in prefs)
    assert not undecided_path(session.out_path).exists()  # made on the first tie or skip


def test_ties_and_skips_go_to_the_sidecar_which_is_a_pairs_file(session: LabelSession) -> None:
    session.record("p1", "tie")
    session.record("p3", "skip")
    side = undecided_path(session.out_path)
    assert side.name == "prefs.undecided.jsonl"
    assert [(r["id"], r["choice"], r["annotator"]) for r in _lines(side)] == [
        ("p1", "tie", "ann"), ("p3", "skip", "ann")]
    again = read_pairs(side)  # label the undecided ones again
    assert [(p.id, p.a, p.b, p.group) for p in again] == [
        ("p1", "answer A1", "answer B1", "en"), ("p3", "answer A3", "answer B3", "en")]
    assert session.out_path.read_text() == ""
    assert session.progress() == Progress(done=2, total=4, chosen=0, tie=1, skip=1)


def test_the_sidecar_is_named_after_the_out_file(tmp_path: Path) -> None:
    assert undecided_path(tmp_path / "a.b.jsonl") == tmp_path / "a.b.undecided.jsonl"
    assert undecided_path(tmp_path / "prefs") == tmp_path / "prefs.undecided"


def test_a_new_session_resumes_at_the_first_pair_not_labelled(tmp_path: Path) -> None:
    out = tmp_path / "prefs.jsonl"
    with LabelSession(_pairs(5), out) as s:
        s.record("p0", "left")
        s.record("p1", "skip")
        s.record("p3", "tie")  # out of order, through the API
    with LabelSession(_pairs(5), out) as s:
        assert s.progress() == Progress(done=3, total=5, chosen=1, tie=1, skip=1)
        task = s.next()
        assert task is not None and task.pair.id == "p2" and task.progress.done == 3
        for pid in ("p0", "p1", "p3"):
            with pytest.raises(AlreadyLabelledError, match=f"pair '{pid}' is already labelled"):
                s.record(pid, "right")
        s.record("p2", "right")
        task = s.next()
        assert task is not None and task.pair.id == "p4"
        s.record("p4", "left")
        assert s.next() is None
        assert s.progress() == Progress(done=5, total=5, chosen=3, tie=1, skip=1)
    assert [p.id for p in read_preferences(out)] == ["p0", "p2", "p4"]


def test_a_preference_file_without_ids_resumes_by_content(tmp_path: Path) -> None:
    pairs_file = _write(tmp_path / "pairs.jsonl", [
        {"prompt": "q1", "a": "x", "b": "y"}, {"prompt": "q2", "a": "x", "b": "y"}])
    out = _write(tmp_path / "prefs.jsonl", [{"prompt": "q1", "chosen": "y", "rejected": "x"}])
    with LabelSession(read_pairs(pairs_file), out) as s:
        task = s.next()
        assert task is not None and task.pair.prompt == "q2" and s.progress().chosen == 1


def test_a_partial_last_line_from_a_crash_is_cut_off(tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    out = tmp_path / "prefs.jsonl"
    with LabelSession(_pairs(3), out) as s:
        s.record("p0", "left")
    whole = out.read_bytes()
    line = json.dumps({"prompt": "question 1?", "chosen": "answer é", "rejected": "x",
                       "id": "p1"}, ensure_ascii=False).encode()
    out.write_bytes(whole + line[:60])  # the crash: cut inside the two-byte é
    with caplog.at_level(logging.WARNING, logger="trustbench.align.label"), \
            LabelSession(_pairs(3), out) as s:
        assert out.read_bytes() == whole  # cut back before anything is appended
        task = s.next()
        assert task is not None and task.pair.id == "p1"  # its choice was lost, only it
        s.record("p1", "right")
    assert "dropping a partial last line of 60 bytes" in caplog.text
    assert [p.id for p in read_preferences(out)] == ["p0", "p1"]


def test_a_whole_last_line_without_its_newline_is_kept(tmp_path: Path) -> None:
    out = tmp_path / "prefs.jsonl"
    out.write_text(json.dumps({"prompt": "q", "chosen": "a", "rejected": "b", "id": "p0"}))
    with LabelSession(_pairs(2), out) as s:
        s.record("p1", "left")
    assert [p.id for p in read_preferences(out)] == ["p0", "p1"]


@pytest.mark.parametrize(("name", "text", "needle"), [
    ("prefs.jsonl", '{"id": "p0", "prompt": "q", "chosen": "a", "rejected": "b"}\n{oops\n{"id": "p1"}\n',
     "prefs.jsonl line 2: not valid JSON"),
    ("prefs.jsonl", '{"prompt": "q"}\n', "prefs.jsonl line 1: no 'id', and no prompt, chosen, rejected"),
    ("prefs.undecided.jsonl", '{"id": "p0", "choice": "maybe"}\n',
     "prefs.undecided.jsonl line 1: 'choice' is \"maybe\""),
])
def test_a_broken_line_inside_a_session_file_is_an_error(tmp_path: Path, name: str, text: str,
                                                         needle: str) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=needle):
        LabelSession(_pairs(2), tmp_path / "prefs.jsonl")
    (tmp_path / name).write_text("")  # the same file, repaired
    with LabelSession(_pairs(2), tmp_path / "prefs.jsonl"):  # so the failed one let go of it
        pass


def test_the_display_order_is_stable_across_sessions_and_balanced(tmp_path: Path) -> None:
    pairs = [Pair(str(i), "q", "a", "b") for i in range(4000)]
    with LabelSession(pairs, tmp_path / "one.jsonl") as s:
        first = [s.order(p) for p in pairs]
    with LabelSession(pairs, tmp_path / "two.jsonl") as s:
        assert [s.order(p) for p in pairs] == first  # the same after a restart
    with LabelSession(pairs, tmp_path / "three.jsonl", seed=1) as s:
        other = [s.order(p) for p in pairs]
    flipped = sum(left == "b" for left, _ in first) / len(pairs)
    assert 0.46 < flipped < 0.54  # about half shows b on the left (sd 0.008)
    changed = sum(x != y for x, y in zip(first, other, strict=True)) / len(pairs)
    assert 0.44 < changed < 0.56  # another seed is another draw


def test_bad_choices_unknown_ids_and_a_second_writer_are_refused(session: LabelSession) -> None:
    with pytest.raises(InputError, match="choice 'best' is not one of left, right, tie, skip"):
        session.record("p0", "best")
    with pytest.raises(InputError, match="no pair with id 'p9' in this session"):
        session.record("p9", "left")
    with pytest.raises(InputError, match="another labelling session is writing this file"):
        LabelSession(_pairs(4), session.out_path)
    with pytest.raises(InputError, match="1 distinct ids"):
        LabelSession([Pair("x", "q", "a", "b")] * 2, session.out_path.with_name("o.jsonl"))
    session.close()
    with pytest.raises(TrustbenchError, match="the labelling session is closed"):
        session.record("p0", "tie")
    assert session.out_path.read_text() == "" and not undecided_path(session.out_path).exists()


def test_a_failed_write_leaves_no_partial_line_and_the_pair_undone(
        session: LabelSession, monkeypatch: pytest.MonkeyPatch) -> None:
    session.record("p0", "left")
    before = session.out_path.read_bytes()
    real_write = os.write

    def half_then_full(fd: int, data: Any) -> int:
        if len(data) > 10:
            return real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_label_log.os, "write", half_then_full)
    with pytest.raises(TrustbenchError, match=r"could not be saved \(No space left on device\)"):
        session.record("p1", "left")
    monkeypatch.undo()
    assert session.out_path.read_bytes() == before
    task = session.next()
    assert task is not None and task.pair.id == "p1"
    session.record("p1", "left")
    assert [p.id for p in read_preferences(session.out_path)] == ["p0", "p1"]


def test_unusual_text_round_trips_through_read_preferences(tmp_path: Path) -> None:
    pair = Pair("u", "line\u2028break?\r\n", "<b>tag</b> & \"quotes\"", "emoji 🙂\nnewline\x00")
    with LabelSession([pair], tmp_path / "p.jsonl") as s:
        s.record("u", "left")
        left, right = s.order(pair)
    (p,) = read_preferences(tmp_path / "p.jsonl")
    assert (p.prompt, p.chosen, p.rejected) == (pair.prompt, left, right)


def test_concurrent_records_write_whole_lines_and_each_pair_once(tmp_path: Path) -> None:
    pairs = _pairs(210)
    with LabelSession(pairs, tmp_path / "prefs.jsonl") as s:
        barrier = threading.Barrier(8)
        refused: list[str] = []

        def work(k: int) -> None:
            barrier.wait()
            for p in pairs[k:200:8]:
                s.record(p.id, ("left", "right", "tie", "skip")[int(p.id[1:]) % 4])
            for p in pairs[200:]:  # all eight race for the same pairs: one wins each
                try:
                    s.record(p.id, "tie")
                except AlreadyLabelledError:
                    refused.append(p.id)

        threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert s.progress() == Progress(210, 210, 100, 60, 50)
    assert len(refused) == 7 * 10
    prefs = read_preferences(tmp_path / "prefs.jsonl")  # every line whole and valid
    assert sorted(int(p.id[1:]) for p in prefs) == [i for i in range(200) if i % 4 < 2]
    assert len(_lines(undecided_path(tmp_path / "prefs.jsonl"))) == 110


# -- the HTTP server ----------------------------------------------------------------

def _call(url: str, body: Any = None, *, raw: bytes | None = None,
          headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    data = raw if raw is not None else None if body is None else json.dumps(body).encode()
    hdrs = {"Content-Type": "application/json"} if data is not None else {}
    request = urllib.request.Request(url, data=data, headers={**hdrs, **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        with e:
            return e.code, json.loads(e.read())


@pytest.fixture
def server(session: LabelSession) -> Iterator[LabelServer]:
    with start_label_server(session) as s:
        yield s


def test_the_page_is_self_contained_and_locked_down(server: LabelServer) -> None:
    with urllib.request.urlopen(server.url, timeout=10) as r:
        html = r.read().decode()
        csp = r.headers["Content-Security-Policy"]
        assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    for label in ("Left is better (1 / ←)", "Right is better (2 / →)", "Tie (3 / t)", "Skip (s)"):
        assert label in html
    assert "innerHTML" not in html and "http://" not in html and "https://" not in html
    assert "script-src 'sha256-" in csp and "default-src 'none'" in csp
    assert server.url.startswith("http://127.0.0.1:")


def test_choices_through_the_api_answer_with_the_next_pair(server: LabelServer,
                                                           session: LabelSession) -> None:
    status, first = _call(server.url + "api/next")
    assert status == 200 and first["id"] == "p0" and first["annotator"] == "ann"
    assert first["progress"] == {"done": 0, "total": 4, "chosen": 0, "tie": 0, "skip": 0}
    status, nxt = _call(server.url + "api/choice", {"id": "p0", "choice": "right"})
    assert status == 200 and nxt["id"] == "p1" and nxt["progress"]["done"] == 1
    (p,) = read_preferences(session.out_path)
    assert (p.chosen, p.rejected) == (first["right"], first["left"])
    status, err = _call(server.url + "api/choice", {"id": "p0", "choice": "left"})
    assert status == 409 and "already labelled" in err["error"]
    for pid, choice in (("p1", "tie"), ("p2", "skip"), ("p3", "left")):
        status, nxt = _call(server.url + "api/choice", {"id": pid, "choice": choice})
    assert status == 200 and nxt["done"] is True and nxt["progress"] == {
        "done": 4, "total": 4, "chosen": 2, "tie": 1, "skip": 1}
    assert _call(server.url + "api/next")[1]["done"] is True


@pytest.mark.parametrize(("kwargs", "status", "needle"), [
    ({"raw": b"{not json"}, 400, "not valid JSON"),
    ({"raw": b"\xff\xfe"}, 400, "not valid JSON"),
    ({"body": ["p0", "left"]}, 400, "a JSON list, not an object"),
    ({"body": {"id": "p0", "choice": "best"}}, 400, "choice 'best' is not one of"),
    ({"body": {"id": "p0"}}, 400, "'choice' must be one of"),
    ({"body": {"id": None, "choice": "left"}}, 400, "'id' must be"),
    ({"body": {"id": "nope", "choice": "left"}}, 400, "no pair with id 'nope'"),
    ({"body": {"id": "p0", "choice": "left"}, "headers": {"Content-Type": "text/plain"}},
     415, "application/json"),
    ({"body": {"id": "p0", "choice": "left"}, "headers": {"Host": "evil.example:80"}},
     403, "not this machine's loopback"),
    ({"raw": b"{}", "headers": {"Content-Length": "70000"}}, 413, "at most 65536"),
])
def test_bad_requests_are_refused_with_a_json_error(server: LabelServer, session: LabelSession,
                                                    kwargs: dict[str, Any], status: int,
                                                    needle: str) -> None:
    got, body = _call(server.url + "api/choice", **kwargs)
    assert got == status and needle in body["error"]
    assert session.progress().done == 0 and session.out_path.read_text() == ""


def test_unknown_paths_and_a_foreign_host_are_refused(server: LabelServer) -> None:
    assert _call(server.url + "nope")[0] == 404
    assert _call(server.url + "api/nope", {})[0] == 404
    assert _call(server.url + "api/next", headers={"Host": "attacker.test"})[0] == 403
    assert _call(server.url + "api/next", headers={"Host": "localhost:1"})[0] == 200


def test_a_network_host_is_refused_unless_asked_for(session: LabelSession) -> None:
    for host in ("0.0.0.0", "192.168.1.10", "example.org"):
        with pytest.raises(InputError, match="not a loopback address"):
            start_label_server(session, host=host)
    with pytest.raises(InputError, match="not a port number"):
        start_label_server(session, port=70_000)
    with start_label_server(session, host="0.0.0.0", allow_remote=True) as s:
        assert s.url.startswith("http://127.0.0.1:") and _call(s.url + "api/next")[0] == 200


def test_serve_labels_reports_its_url_and_stops_on_request(session: LabelSession) -> None:
    urls: list[str] = []
    ready = threading.Event()
    thread = threading.Thread(target=serve_labels, args=(session,),
                              kwargs={"on_ready": lambda u: (urls.append(u), ready.set())})
    thread.start()
    assert ready.wait(10)
    assert _call(urls[0] + "api/next")[1]["id"] == "p0"
    assert _call(urls[0] + "api/stop", {}) == (200, {"stopped": True})
    thread.join(10)
    assert not thread.is_alive()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(urls[0] + "api/next", timeout=5)


def test_the_background_server_stops_through_the_page_too(server: LabelServer) -> None:
    assert server.running
    assert _call(server.url + "api/stop", {})[0] == 200
    for _ in range(100):
        if not server.running:
            break
        threading.Event().wait(0.05)
    assert not server.running
