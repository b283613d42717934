"""What a legitimate model file may import: the allow-list a pickle is judged by.

An allow-list, not a deny-list: deny-lists of "dangerous" names have a long trail of
bypasses (``pip.main``, ``runpy._run_code``, ``numpy.testing`` helpers that run strings,
getattr chains), because the standard library and every installed package are full of
callables that reach code. What model files need is short and stable:

* **torch** — tensor and parameter rebuilds (``torch._utils._rebuild_*``), storages, dtypes,
  devices, sizes (the set ``torch.load(weights_only=True)`` accepts), and the classes of
  ``torch.nn`` modules for whole-module saves;
* **numpy** — array and scalar reconstruction, dtypes, the random generators' pickles;
* **Python** — containers and value types (``collections.OrderedDict``, ``set``,
  ``complex``, ``datetime``, ``decimal``, ``pathlib`` paths, ``argparse.Namespace``),
  ``copyreg``'s object builders and ``_codecs.encode`` (protocol 2's bytes);
* **joblib** — its array wrappers;
* **scikit-learn, SciPy, XGBoost, LightGBM, CatBoost** — their classes (CamelCase names
  outside their testing and dataset-download modules), and scikit-learn functions only
  referenced as values (a ``score_func``), never called at load time.

Everything else — the user's own classes included — is reported; ``--allow`` adds names
(glob patterns on ``module.name``) the user vouches for.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence

__all__ = ["DANGER", "is_allowed"]

_EXACT = frozenset({
    "_codecs.encode", "builtins.set", "builtins.frozenset", "builtins.bytearray",
    "builtins.bytes", "builtins.complex", "builtins.slice", "builtins.range",
    "builtins.object", "builtins.int", "builtins.float", "builtins.str", "builtins.bool",
    "builtins.list", "builtins.tuple", "builtins.dict", "builtins.NoneType",
    "collections.OrderedDict", "collections.Counter", "collections.defaultdict",
    "collections.deque", "copyreg._reconstructor", "copyreg.__newobj__",
    "copyreg.__newobj_ex__", "datetime.date", "datetime.datetime", "datetime.time",
    "datetime.timedelta", "datetime.timezone", "decimal.Decimal", "fractions.Fraction",
    "uuid.UUID", "pathlib.Path", "pathlib.PosixPath", "pathlib.WindowsPath",
    "pathlib.PurePosixPath", "pathlib.PureWindowsPath", "argparse.Namespace",
    "torch.Size", "torch.Tensor", "torch.device", "torch.dtype", "torch.layout",
    "torch.memory_format", "torch.strided", "torch.sparse_coo", "torch.sparse_csr",
    "torch.contiguous_format", "torch.channels_last", "torch.preserve_format",
    "torch._tensor._rebuild_from_type_v2", "torch.nn.parameter.Parameter",
    "torch.nn.parameter.Buffer", "torch.storage.UntypedStorage",
    "torch.storage.TypedStorage", "torch.storage._load_from_bytes",
    "torch.serialization._get_layout", "torch._utils._rebuild_tensor_v2",
    "numpy.ndarray", "numpy.dtype", "numpy.ma.core._mareconstruct",
    "numpy.ma.core.MaskedArray", "numpy.random._pickle.__randomstate_ctor",
    "numpy.random._pickle.__generator_ctor", "numpy.random._pickle.__bit_generator_ctor",
    "numpy.random.mtrand.RandomState", "numpy.random._generator.Generator",
    "joblib.numpy_pickle.NumpyArrayWrapper", "joblib.numpy_pickle_compat.NDArrayWrapper",
    "joblib.numpy_pickle_compat.ZNDArrayWrapper",
})

_PATTERNS = [re.compile(p) for p in (
    r"torch\.(cuda\.)?(sparse\.)?[A-Z][A-Za-z0-9]*(Storage|Tensor)",
    r"torch\.(u?int\d+|float\d+(_\w+)?|bfloat16|half|double|complex\d+|cfloat|cdouble|bool"
    r"|bits\w+|q(u)?int\w+|per_(tensor|channel)_\w+)",
    r"torch\._utils\._rebuild_[a-z0-9_]+",
    r"torch\.nn\.modules(\.[a-z_][a-z0-9_]*)+\.[A-Z][A-Za-z0-9]*",
    r"numpy\.(_core|core)\.multiarray\.(_reconstruct|scalar)",
    r"numpy\.(_core|core)\.numeric\._frombuffer",
    r"numpy\.dtypes\.[A-Z][A-Za-z0-9]*DType",
    r"numpy\.(u?int\d+|float\d+|complex\d+|bool_?|str_|bytes_|object_|void|datetime64"
    r"|timedelta64|longdouble|clongdouble|intc|uintc|longlong|ulonglong|single|double"
    r"|half|csingle|cdouble)",
    r"numpy\.random\._(mt19937|pcg64|philox|sfc64)\.[A-Z][A-Za-z0-9]*",
    r"numpy\.random\.bit_generator\.SeedSequence",
    r"(sklearn|scipy|xgboost|lightgbm|catboost)(\.[A-Za-z_][A-Za-z0-9_]*)*\.[A-Z][A-Za-z0-9_]*",
)]
# modules of those libraries whose names reach code, downloads or files
_NOT_LIBRARY = re.compile(r"(sklearn|scipy|xgboost|lightgbm|catboost)\."
                          r"(.*\.)?(_?testing|externals|datasets|_build_utils|conftest)(\.|$)")
_REFERENCE_ONLY = re.compile(r"sklearn(\.[A-Za-z_][A-Za-z0-9_]*)+\.[a-z_][a-z0-9_]*")

#: What some names do when called: the wording of a finding ("runs a shell command").
DANGER = {
    "os.system": "runs a shell command", "posix.system": "runs a shell command",
    "nt.system": "runs a shell command", "os.popen": "runs a shell command",
    "subprocess.Popen": "starts a process", "subprocess.run": "starts a process",
    "subprocess.call": "starts a process", "subprocess.check_output": "starts a process",
    "subprocess.check_call": "starts a process", "subprocess.getoutput": "runs a shell command",
    "builtins.exec": "executes Python code", "builtins.eval": "evaluates Python code",
    "builtins.compile": "compiles Python code", "builtins.__import__": "imports a module",
    "builtins.getattr": "reaches any attribute of an object",
    "builtins.open": "opens a file", "io.open": "opens a file", "importlib.import_module": "imports a module",
    "runpy._run_code": "executes Python code", "runpy.run_path": "runs a Python file",
    "runpy.run_module": "runs a Python module", "pip.main": "installs packages",
    "pip._internal.main": "installs packages", "shutil.rmtree": "deletes files",
    "os.remove": "deletes a file", "os.unlink": "deletes a file",
    "socket.socket": "opens a network connection", "webbrowser.open": "opens a URL",
    "code.InteractiveInterpreter": "executes Python code", "cProfile.run": "executes Python code",
    "timeit.timeit": "executes Python code", "pydoc.pipepager": "runs a shell command",
    "numpy.testing._private.utils.runstring": "executes Python code",
    "functools.partial": "wraps another call", "operator.attrgetter": "reaches attributes",
    "operator.methodcaller": "calls a method by name",
    "torch.hub.load": "downloads and runs code", "marshal.loads": "loads code objects",
    "types.CodeType": "builds code objects", "types.FunctionType": "builds functions",
}


def is_allowed(qualname: str, how: str, *, extra: Sequence[str] = ()) -> bool:
    """Whether an import of ``qualname`` used as ``how`` is one a model file may make."""
    if qualname in _EXACT or any(fnmatch.fnmatchcase(qualname, p) for p in extra):
        return True
    if _NOT_LIBRARY.match(qualname):
        return False
    if any(p.fullmatch(qualname) for p in _PATTERNS):
        return True
    return how == "referenced" and _REFERENCE_ONLY.fullmatch(qualname) is not None
