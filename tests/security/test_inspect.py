"""trustbench inspect: pickles read without unpickling, judged by the allow-list.

Every malicious file here has a payload that would create a marker file; each test checks
that the marker was never created (nothing ran) as well as what the report says.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import struct
import zipfile
from pathlib import Path

import joblib
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from trustbench.cli import app
from trustbench.security.files.inspect import inspect_bytes, inspect_file, inspect_path


class Marks:
    """Unpickling this would create ``marker`` through the shell."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.system, (f"touch {self.marker}",))


def _short(s: str) -> bytes:
    b = s.encode()
    return b"\x8c" + bytes([len(b)]) + b


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    m = tmp_path / "payload-ran"
    yield m
    assert not m.exists(), "a payload ran"


@pytest.mark.parametrize("protocol", range(6))
def test_every_protocol_names_the_call_and_its_argument(marker: Path, protocol: int) -> None:
    r = inspect_bytes(pickle.dumps({"model": Marks(marker)}, protocol=protocol))
    assert r.verdict == "unsafe" and r.format == "pickle"
    (issue,) = [i for i in r.issues if i.severity == "critical"]
    assert "calls posix.system" in issue.message and f"touch {marker}" in issue.message
    assert "runs a shell command" in issue.message and issue.pos is not None


def test_names_come_from_the_memo_and_from_compat_pickle() -> None:
    # protocol 4: STACK_GLOBAL whose module and name strings are memo entries fetched later
    memo_game = (b"\x80\x04" + _short("builtins") + b"\x94" + _short("eval") + b"\x94"
                 + b"0" + b"0"  # pop both: only the memo holds them now
                 + b"h\x00h\x01\x93" + _short("1+1") + b"\x85R.")
    r = inspect_bytes(memo_game)
    assert [(i["name"], i["how"]) for i in r.imports] == [("builtins.eval", "called")]
    assert r.verdict == "unsafe"
    # protocol 2 with Python 2 names: find_class maps __builtin__ to builtins
    py2 = b"\x80\x02c__builtin__\neval\nq\x00X\x03\x00\x00\x001+1\x85R."
    assert inspect_bytes(py2).imports[0]["name"] == "builtins.eval"


def test_how_each_import_is_used() -> None:
    from trustbench.security.files.pickles import walk_pickle

    inst = b"(S'x'\nipkg.mod\nKlass\n."  # INST: instantiated, i.e. called
    obj = b"(cpkg.mod\nKlass\nS'x'\no."  # OBJ
    newobj = b"\x80\x02cpkg.mod\nKlass\n)\x81}b."  # NEWOBJ then BUILD
    ref = b"\x80\x02]cpkg.mod\nfunc\na."  # only stored in a list
    for data, how in ((inst, "called"), (obj, "called"), (newobj, "built"), (ref, "referenced")):
        rep = walk_pickle(io.BytesIO(data))
        assert rep.error is None, rep.error
        assert [i.how for i in rep.imports] == [how]


def test_a_nested_pickle_is_followed(marker: Path) -> None:
    inner = pickle.dumps(Marks(marker), protocol=2)
    outer = (b"\x80\x02cpickle\nloads\nC" + bytes([len(inner)]) + inner + b"\x85R.")
    r = inspect_bytes(outer)
    where = {i["name"]: i["where"] for i in r.imports}
    assert "pickle.loads" in where and "bytes given to pickle.loads" in where["posix.system"]
    assert r.verdict == "unsafe"


def test_a_stacked_pickle_and_a_payload_before_a_broken_end(marker: Path) -> None:
    stacked = pickle.dumps({"ok": 1}) + pickle.dumps(Marks(marker))
    r = inspect_bytes(stacked)
    assert r.format == "pickle (2 stacked)" and r.verdict == "unsafe"
    # the call runs before the loader reaches the garbage: unsafe, not merely unreadable
    broken = pickle.dumps(Marks(marker), protocol=2)[:-1] + b"\xff\xff"
    r = inspect_bytes(broken)
    assert r.verdict == "unsafe" and r.errors and "unknown opcode" in r.errors[0]


def test_patterns_unsafe_whatever_is_imported() -> None:
    build_on_class = b"\x80\x02ccollections\nOrderedDict\nN}X\x01\x00\x00\x00a\x88s\x86b."
    r = inspect_bytes(build_on_class)
    assert any(i.kind == "build-on-import" for i in r.issues) and r.verdict == "unsafe"
    call_of_result = b"\x80\x02ccollections\nOrderedDict\n)R)R."
    r = inspect_bytes(call_of_result)
    assert any(i.kind == "call-of-built-value" for i in r.issues)
    assert inspect_bytes(b"\x80\x02\x82\x01)R.").verdict == "unsafe"  # EXT1 code


def test_benign_model_files_are_safe(tmp_path: Path) -> None:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    rng = np.random.default_rng(0)
    x, y = rng.random((60, 3)), rng.integers(0, 2, 60)
    models = [LogisticRegression().fit(x, y), RandomForestClassifier(3, random_state=0).fit(x, y),
              make_pipeline(FunctionTransformer(np.log1p), StandardScaler(),
                            LogisticRegression()).fit(x, y),
              OneHotEncoder().fit(np.array([["a"], ["b"]], dtype=object))]
    files = []
    for k, m in enumerate(models):
        for c in (0, 3, ("gzip", 3), ("bz2", 3), ("xz", 3), ("lzma", 3)):
            name = tmp_path / f"m{k}-{c if isinstance(c, int) else c[0]}.joblib"
            joblib.dump(m, name, compress=c)
            files.append(name)
        (tmp_path / f"m{k}.pkl").write_bytes(pickle.dumps(m, protocol=5))
    torch.save({"w": torch.ones(2, 3), "n": torch.tensor([1], dtype=torch.int64)},
               tmp_path / "sd.pt")
    torch.save(torch.nn.Linear(2, 2).state_dict(), tmp_path / "old.pt",
               _use_new_zipfile_serialization=False)
    opt = torch.optim.Adam(torch.nn.Linear(2, 2).parameters())
    torch.save(opt.state_dict(), tmp_path / "opt.pt")
    np.save(tmp_path / "a.npy", np.arange(6.0).reshape(2, 3))
    np.savez_compressed(tmp_path / "b.npz", a=np.arange(3), b=np.ones((2, 2)))
    reports = inspect_path(tmp_path)
    bad = [(r.path, r.verdict, r.why() or r.errors) for r in reports if r.verdict != "safe"]
    assert bad == []
    assert {r.format for r in reports} >= {"PyTorch (zip)", "PyTorch (legacy)", "pickle",
                                           "joblib (zlib)", "joblib (xz)", "numpy (.npz)"}


def test_torch_zip_tricks_are_read_as_torch_reads_them(tmp_path: Path, marker: Path) -> None:
    path = tmp_path / "evil.bin"
    torch.save(Marks(marker), path)
    data = bytearray(path.read_bytes())
    # set the "encrypted" flag bit on every entry: Python's zipfile refuses to read them,
    # torch's reader does not look
    for sig, at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        i = data.find(sig)
        while i >= 0:
            (flags,) = struct.unpack("<H", data[i + at:i + at + 2])
            data[i + at:i + at + 2] = struct.pack("<H", flags | 1)
            i = data.find(sig, i + 4)
    path.write_bytes(bytes(data))
    with pytest.raises(RuntimeError), zipfile.ZipFile(path) as z:
        z.read(next(n for n in z.namelist() if n.endswith("data.pkl")))
    r = inspect_file(path)
    assert r.format == "PyTorch (zip)" and r.verdict == "unsafe"
    assert any("data.pkl" in i.where for i in r.issues)
    # a pickle in a member named like text, in a zip with no extension: sniffed by content
    with zipfile.ZipFile(tmp_path / "model", "w") as z:
        z.writestr("archive/notes.txt", pickle.dumps(Marks(marker)))
    assert inspect_file(tmp_path / "model").verdict == "unsafe"


def test_object_arrays_and_compressed_joblib_payloads(tmp_path: Path, marker: Path) -> None:
    np.save(tmp_path / "o.npy", np.array([Marks(marker), 1], dtype=object), allow_pickle=True)
    np.savez(tmp_path / "o.npz", a=np.arange(3), b=np.array([Marks(marker)], dtype=object))
    joblib.dump({"w": np.ones(5), "m": Marks(marker)}, tmp_path / "m.joblib", compress=("bz2", 3))
    joblib.dump({"w": np.ones(5), "o": np.array([Marks(marker)], dtype=object)},
                tmp_path / "arr.joblib")
    for name in ("o.npy", "o.npz", "m.joblib", "arr.joblib"):
        r = inspect_file(tmp_path / name)
        assert r.verdict == "unsafe" and "posix.system" in r.why(), (name, r.to_dict())


def test_unreadable_files_say_where(tmp_path: Path) -> None:
    (tmp_path / "cut.pkl").write_bytes(pickle.dumps({"a": list(range(50))})[:-10])
    header = json.dumps({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 64]}}).encode()
    (tmp_path / "bad.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 16)
    r = inspect_file(tmp_path / "cut.pkl")
    assert r.verdict == "unreadable" and "stops at byte" in r.errors[0]
    r = inspect_file(tmp_path / "bad.safetensors")
    assert r.format == "safetensors" and r.verdict == "unreadable"
    assert "leave the 16-byte data" in r.errors[0]


def test_onnx_external_data_that_leaves_the_folder(tmp_path: Path) -> None:
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    w = helper.make_tensor("w", TensorProto.FLOAT, [2], [1.0, 2.0])
    w.data_location = TensorProto.EXTERNAL
    del w.float_data[:]
    entry = w.external_data.add()
    entry.key, entry.value = "location", "../../../etc/passwd"
    graph = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])], [w])
    (tmp_path / "m.onnx").write_bytes(helper.make_model(graph).SerializeToString())
    r = inspect_file(tmp_path / "m.onnx")
    assert r.format == "ONNX" and r.verdict == "unsafe" and "outside the model's folder" in r.why()
    del onnx


def test_the_command_exit_codes_json_and_scorecard(tmp_path: Path, marker: Path) -> None:
    runner = CliRunner()
    torch.save({"w": torch.ones(2)}, tmp_path / "ok.pt")
    (tmp_path / "evil.pt").write_bytes(pickle.dumps(Marks(marker), protocol=2))
    ok = runner.invoke(app, ["inspect", str(tmp_path / "ok.pt")])
    assert ok.exit_code == 0 and "SAFE" in ok.output
    bad = runner.invoke(app, ["inspect", str(tmp_path), "--out", str(tmp_path / "card.json")])
    assert bad.exit_code == 1 and "UNSAFE" in bad.output and "posix.system" in bad.output
    card = json.loads((tmp_path / "card.json").read_text())
    assert {f["severity"] for f in card["findings"]} == {"info", "fail"}
    assert card["findings"][0]["tags"]["subcategories"][0] == "MEASURE 2.7"
    js = runner.invoke(app, ["inspect", str(tmp_path / "evil.pt"), "--json"])
    assert js.exit_code == 1 and json.loads(js.output)[0]["verdict"] == "unsafe"
    allowed = runner.invoke(app, ["inspect", str(tmp_path / "evil.pt"), "--allow", "posix.*"])
    assert allowed.exit_code == 0
    (tmp_path / "cut.pkl").write_bytes(b"\x80\x04\x95")
    assert runner.invoke(app, ["inspect", str(tmp_path / "cut.pkl")]).exit_code == 2
    missing = runner.invoke(app, ["inspect", str(tmp_path / "nope.pt")])
    assert missing.exit_code == 2 and "no such file" in missing.output


def test_skops_types_are_audited_from_the_schema(tmp_path: Path) -> None:
    sio = pytest.importorskip("skops.io")
    from sklearn.preprocessing import FunctionTransformer

    sio.dump(FunctionTransformer(np.log1p), tmp_path / "ok.skops")
    assert inspect_file(tmp_path / "ok.skops").verdict == "safe"
    with zipfile.ZipFile(tmp_path / "ok.skops") as z:
        members = {n: z.read(n) for n in z.namelist()}
    schema = json.loads(members["schema.json"])
    schema["content"]["content"]["func"].update({"__module__": "os", "__class__": "system"})
    members["schema.json"] = json.dumps(schema).encode()
    with zipfile.ZipFile(tmp_path / "evil.skops", "w") as z:
        for n, b in members.items():
            z.writestr(n, b)
    r = inspect_file(tmp_path / "evil.skops")
    assert r.format == "skops" and r.verdict == "unsafe" and "os.system" in r.why()


def test_the_findings_render_in_their_own_report_section(tmp_path: Path, marker: Path) -> None:
    from trustbench.report.html import write_html
    from trustbench.scorecard import Scorecard
    from trustbench.security import inspection_card

    (tmp_path / "evil.pkl").write_bytes(pickle.dumps(Marks(marker)))
    card = inspection_card(inspect_path(tmp_path), command="inspect")
    card.to_json(tmp_path / "card.json")
    write_html(Scorecard.from_json(tmp_path / "card.json"), tmp_path / "report.html")
    html = (tmp_path / "report.html").read_text()
    assert "Model-file safety" in html and "posix.system" in html


def test_an_allowed_loader_is_followed_through_protocol_2_bytes(marker: Path) -> None:
    # torch.storage._load_from_bytes is allowed (plain pickles of tensors use it), so the
    # bytes it loads must be read: at protocol 2 they are _codecs.encode(text, 'latin1')
    inner = pickle.dumps(Marks(marker), protocol=2).decode("latin1")

    class Hidden:
        def __reduce__(self) -> tuple:
            import torch.storage

            return (torch.storage._load_from_bytes, (inner.encode("latin1"),))

    r = inspect_bytes(pickle.dumps(Hidden(), protocol=2))
    assert r.verdict == "unsafe" and "posix.system" in r.why()
    # a loader given data that is built at load time cannot be followed: flagged
    opaque = (b"\x80\x02ctorch.storage\n_load_from_bytes\nccollections\nOrderedDict\n)R\x85R.")
    r = inspect_bytes(opaque)
    assert r.verdict == "unsafe" and any(i.kind == "unfollowed-loader" for i in r.issues)


def test_a_dotted_name_that_walks_through_a_module_is_not_allowed() -> None:
    # protocol 4 resolves dotted names attribute by attribute: sklearn.base.<module>.<Class>
    walk = (b"\x80\x04" + _short("sklearn.utils._show_versions") + _short("platform.Popen")
            + b"\x93)R.")
    r = inspect_bytes(walk)
    assert r.verdict == "unsafe" and not r.imports[0]["allowed"]


def test_a_tar_checkpoint_is_read_past_its_raw_storage_bytes(tmp_path: Path, marker: Path) -> None:
    import tarfile

    storage = b"\x80\x02(X\x01\x00\x00\x000X\x03\x00\x00\x00cpuctorch\nFloatStorage\nt."
    storages = (pickle.dumps(2, protocol=2) + storage + struct.pack("<q", 3) + b"\x00" * 12
                + pickle.dumps(Marks(marker), protocol=2)  # entry 2: after raw bytes
                + struct.pack("<q", 0) + pickle.dumps([], protocol=2))
    members = {"sys_info": pickle.dumps({"protocol_version": 1001}, protocol=2),
               "storages": storages, "tensors": pickle.dumps(0, protocol=2),
               "pickle": pickle.dumps({}, protocol=2)}
    with tarfile.open(tmp_path / "old.tar", "w") as t:
        for name, body in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            t.addfile(info, io.BytesIO(body))
    r = inspect_file(tmp_path / "old.tar")
    assert r.format == "PyTorch (tar)" and r.verdict == "unsafe"
    assert any("entry 2" in i.where for i in r.issues if i.severity == "critical")
