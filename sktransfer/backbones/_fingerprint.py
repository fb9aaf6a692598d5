"""Fingerprints of what defines a backbone's output: modules, files, folders.

Equal fingerprints must mean equal embeddings. A module is fingerprinted by
the class and code of each submodule, every parameter and buffer (persistent
or not), its configuration attributes, forward hooks and ``repr``; a model
folder by the relative path and content of every file that defines the model.
When no stable fingerprint can be formed, `UnstableFingerprintError` says why
and the caller must not cache.
"""

import enum
import functools
import hashlib
import json
import os
import re
import types
from pathlib import Path

from sktransfer._optional import import_optional

__all__ = [
    "UnstableFingerprintError",
    "file_sha256",
    "folder_identity",
    "folder_sha256",
    "module_sha256",
]

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
# model cards and bytecode do not change what a model folder computes
_SKIPPED_SUFFIXES = (".md", ".pyc")
_MAX_DEPTH = 12
# set lazily by torch when a module is compiled: same outputs, unstable object
_SKIPPED_ATTRIBUTES = ("_compiled_call_impl",)


class UnstableFingerprintError(ValueError):
    """No stable fingerprint can be formed; the message says why."""


# -- files and folders -----------------------------------------------------
@functools.lru_cache(maxsize=4096)
def _file_sha256(path, stat_key):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_sha256(path):
    """SHA-256 of a file's content.

    Memoised per process on the path and its stat (size, inode, mtime and
    ctime: ``cp -p`` and ``rsync -a`` keep the mtime of a replaced file, but
    no copy can keep its ctime).
    """
    stat = Path(path).stat()
    stat_key = (stat.st_size, stat.st_ino, stat.st_mtime_ns, stat.st_ctime_ns)
    return _file_sha256(str(path), stat_key)


def model_files(folder):
    """Relative POSIX paths of the files that define a model folder, sorted.

    Every file, recursively (symbolic links followed), except hidden files and
    folders (``.git``, ``.cache``), ``__pycache__``, bytecode and Markdown
    model cards.
    """
    root = Path(folder)
    seen, found = set(), []
    for current, dirs, files in os.walk(root, followlinks=True):
        real = os.path.realpath(current)
        if real in seen:  # a link cycle
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = [d for d in dirs if not d.startswith(".") and d != "__pycache__"]
        for name in files:
            if not name.startswith(".") and not name.endswith(_SKIPPED_SUFFIXES):
                found.append(Path(current, name).relative_to(root).as_posix())
    return sorted(found)


def folder_sha256(folder):
    """SHA-256 over the relative path, size and content of each model file."""
    root = Path(folder)
    digest = hashlib.sha256()
    for relative in model_files(root):
        path = root / relative
        entry = [relative, path.stat().st_size, file_sha256(path)]
        digest.update(json.dumps(entry).encode() + b"\n")
    return digest.hexdigest()


def folder_identity(folder):
    """``(weights_id, extra)`` of a model folder, or None and why.

    Every file that defines the model counts, recursively: weights in
    ``0_Transformer/``, the pooling configuration, tokenizer files,
    ``modules.json``. A file that cannot be read (a broken link) leaves no
    stable identity: the spec is then not cacheable.
    """
    try:
        return f"folder-sha256:{folder_sha256(folder)}", {}
    except OSError as exc:
        reason = f"cannot hash model folder {str(folder)!r}: {exc}"
        return None, {"uncacheable_reason": reason}


# -- modules ---------------------------------------------------------------
def module_sha256(module):
    """SHA-256 of everything that defines a module's output.

    Raises
    ------
    UnstableFingerprintError
        When part of the module has no stable description (its ``repr``
        holds a memory address, an attribute is an object without one, a
        tensor cannot be read).
    """
    return _Canonical().module(module)


def qualified_name(obj):
    """``module.qualname`` of a class or function."""
    module = getattr(obj, "__module__", None) or ""
    return f"{module}.{getattr(obj, '__qualname__', type(obj).__qualname__)}"


def _digest(payload):
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _tensor_sha256(tensor, where):
    torch = import_optional("torch")
    try:
        flat = tensor.detach().to("cpu").contiguous().reshape(-1)
        data = flat.view(torch.uint8).numpy()  # hashed in place, no copy
    except (RuntimeError, TypeError, ValueError) as exc:
        raise UnstableFingerprintError(
            f"cannot read the {tensor.dtype} tensor at {where}: {exc}"
        ) from exc
    return ["tensor", str(tensor.dtype), list(tensor.shape), _sha(data)]


def _cell_contents(cell):
    try:
        return cell.cell_contents
    except ValueError:  # a cell not filled yet
        return ["empty cell"]


def _sha(data):
    return hashlib.sha256(data).hexdigest()


class _Canonical:
    """Turns values into JSON-able descriptions, stable across processes."""

    def __init__(self):
        torch = import_optional("torch")
        self.torch = torch
        self.internals = set(vars(torch.nn.Module())) | set(_SKIPPED_ATTRIBUTES)
        self.stack = []  # ids of the containers being described (cycles)
        self.classes = {}
        self.memo = {}

    def module(self, module):
        if type(module).__name__ == "OptimizedModule":  # torch.compile: same outputs
            module = module._orig_mod
        text = repr(module)
        found = _ADDRESS.search(text)
        if found:
            raise UnstableFingerprintError(
                f"the repr of {type(module).__name__} holds a memory address "
                f"({text[max(found.start() - 40, 0) : found.end()].strip()!r})"
            )
        records = [["repr", text]]
        for path, sub in module.named_modules(remove_duplicate=False):
            records.append(self._submodule(path or "<root>", sub))
        return _digest(records)

    def _submodule(self, path, sub):
        tensors = {}
        for kind in ("_parameters", "_buffers"):
            for name, tensor in getattr(sub, kind).items():
                where = f"{path}.{name}"
                tensors[f"{kind}:{name}"] = (
                    None if tensor is None else _tensor_sha256(tensor, where)
                )
        config = {
            name: self.value(value, f"{path}.{name}", 0)
            for name, value in vars(sub).items()
            if name not in self.internals
        }
        hooks = [
            self.value(hook, f"forward hook of {path}", 0)
            for hooks in (sub._forward_pre_hooks, sub._forward_hooks)
            for hook in hooks.values()
        ]
        return [path, self._class(type(sub)), tensors, config, hooks]

    def _class(self, cls):
        """Name and code of a class, less what torch itself defines."""
        if cls not in self.classes:
            code = {}
            for klass in cls.__mro__:
                if klass.__module__.split(".")[0] in ("torch", "builtins"):
                    continue
                for name, member in sorted(vars(klass).items()):
                    member = member.fget if isinstance(member, property) else member
                    function = getattr(member, "__func__", member)
                    key = f"{qualified_name(klass)}.{name}"
                    if isinstance(function, types.FunctionType):
                        code[key] = self._code(function.__code__)
                    elif not name.startswith("__") and isinstance(
                        member, (bool, int, float, str, tuple)
                    ):  # class-level settings (scale = 2.0)
                        code[key] = self.value(member, key, 0)
            self.classes[cls] = [qualified_name(cls), _digest(code)]
        return self.classes[cls]

    def _code(self, code):
        consts = [
            self._code(c)
            if isinstance(c, types.CodeType)
            else self.value(c, code.co_name, 0)
            for c in code.co_consts
        ]
        return [_sha(code.co_code), consts, list(code.co_names)]

    def value(self, value, where, depth):
        """The canonical description of ``value`` (an attribute at ``where``)."""
        if value is None or isinstance(value, (bool, int, str)):
            return value
        if isinstance(value, float):
            return ["float", repr(value)]
        if depth > _MAX_DEPTH:
            raise UnstableFingerprintError(f"{where} is nested too deeply")
        if id(value) in self.memo:  # an object seen before: described once
            return self.memo[id(value)][1]
        if id(value) in self.stack:
            return ["cycle", qualified_name(type(value))]
        self.stack.append(id(value))
        try:
            described = self._compound(value, where, depth + 1)
        finally:
            self.stack.pop()
        self.memo[id(value)] = (value, described)  # holding value keeps its id
        return described

    def _compound(self, value, where, depth):
        torch = self.torch
        if isinstance(value, torch.Tensor):
            return _tensor_sha256(value, where)
        if isinstance(value, (torch.dtype, torch.device, enum.Enum)):
            return [qualified_name(type(value)), str(value)]
        if isinstance(value, torch.nn.Module):
            return ["module", self.module(value)]
        if isinstance(value, (bytes, bytearray)):
            return ["bytes", _sha(bytes(value))]
        if isinstance(value, (tuple, list)):
            items = [self.value(v, f"{where}[{i}]", depth) for i, v in enumerate(value)]
            return [qualified_name(type(value)), items]
        if isinstance(value, dict):
            items = [
                [self.value(k, where, depth), self.value(v, f"{where}[{k!r}]", depth)]
                for k, v in value.items()
            ]
            plain = all(isinstance(k, str) for k in value)  # sorted fast
            items.sort(key=(lambda item: item[0]) if plain else json.dumps)
            return [qualified_name(type(value)), items]
        if isinstance(value, (set, frozenset)):
            items = sorted((self.value(v, where, depth) for v in value), key=json.dumps)
            return [qualified_name(type(value)), items]
        return self._other(value, where, depth)

    def _other(self, value, where, depth):
        np = import_optional("numpy")
        if isinstance(value, (np.ndarray, np.generic)) and value.dtype != object:
            data = np.ascontiguousarray(value)
            return ["ndarray", data.dtype.str, list(data.shape), _sha(data.tobytes())]
        if isinstance(value, type):
            return ["class", *self._class(value)]
        if isinstance(value, types.FunctionType):
            return self._function(value, where, depth)
        if isinstance(value, functools.partial):
            parts = (value.func, value.args, value.keywords)
            return ["partial", self.value(parts, where, depth)]
        if isinstance(value, types.MethodType):
            owner = self.value(value.__self__, where, depth)
            return [
                "method",
                value.__func__.__name__,
                owner,
                self._class(type(value.__self__)),
            ]
        if isinstance(value, types.BuiltinFunctionType):
            return ["builtin", qualified_name(value)]
        if isinstance(value, types.ModuleType):
            return ["python-module", value.__name__]
        if hasattr(value, "__dict__"):
            state = self.value(vars(value), where, depth)
            return ["object", *self._class(type(value)), state]
        text = repr(value)
        if _ADDRESS.search(text):
            raise UnstableFingerprintError(
                f"{where} is a {type(value).__name__} with no stable description "
                f"({text[:80]!r})"
            )
        return ["repr", qualified_name(type(value)), text]

    def _function(self, function, where, depth):
        closure = [_cell_contents(c) for c in function.__closure__ or ()]
        parts = (function.__defaults__, function.__kwdefaults__, closure)
        return [
            "function",
            qualified_name(function),
            self._code(function.__code__),
            self.value(parts, where, depth),
        ]
