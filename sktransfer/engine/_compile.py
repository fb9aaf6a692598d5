"""Optional ``torch.compile`` of a frozen model, falling back to eager on failure."""

import inspect
import warnings

from sktransfer._optional import import_optional

__all__ = ["compile_key", "compile_options", "compiled_copy"]


def compile_options(value, owner="compile"):
    """Normalise the ``compile`` parameter: None (off) or a dict of kwargs.

    Parameters
    ----------
    value : bool or dict
        ``False``: no compilation; ``True``: ``torch.compile`` with its
        defaults; a dict: keyword arguments of ``torch.compile``.
    owner : str
        Parameter name used in error messages.

    Returns
    -------
    options : dict or None
    """
    if value is False or value is None:
        return None
    if value is True:
        return {}
    torch = import_optional("torch")
    allowed = [n for n in inspect.signature(torch.compile).parameters if n != "model"]
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise ValueError(
            f"{owner}={value!r} has unknown torch.compile option(s) {unknown}; "
            f"allowed: {allowed}"
        )
    return dict(value)


def compile_key(options):
    """A hashable key for ``options`` (part of the per-process model cache key)."""
    return tuple(sorted((name, repr(value)) for name, value in options.items()))


def compiled_copy(module, options):
    """A shallow copy of ``module`` whose calls go through ``torch.compile``.

    The copy shares the parameters, buffers and submodules of ``module`` (no
    extra memory), so the eager module stays usable (and picklable) beside it;
    only calls to the copy, including those made by its own methods such as
    sentence-transformers' ``encode``, run the compiled code. This is what
    ``nn.Module.compile`` does, without changing ``module`` itself.

    Compilation happens at the first call (and again for new input shapes). If
    it fails (no C compiler for inductor, an unsupported operation, a failing
    backend), the call is repeated eagerly: if the eager call succeeds, a
    ``RuntimeWarning`` naming the cause is emitted once and the copy runs
    eagerly from then on (outputs are the same); if it fails too, its error
    (the genuine one) is raised. CUDA out-of-memory errors are raised as they
    are, for the batch-size back-off.

    Parameters
    ----------
    module : torch.nn.Module
    options : dict
        Keyword arguments of ``torch.compile``.

    Returns
    -------
    compiled : torch.nn.Module
    """
    torch = import_optional("torch")
    # a new __dict__ holding the same values (parameter and module dicts, and
    # any per-thread state such as FeatureExtractor's); copy.copy would go
    # through __getstate__ / __setstate__, which may rebuild some of them
    runner = object.__new__(type(module))
    runner.__dict__ = dict(module.__dict__)
    eager = runner._call_impl
    compiled = torch.compile(eager, **options)

    def call(*args, **kwargs):
        try:
            return compiled(*args, **kwargs)
        except torch.cuda.OutOfMemoryError:
            raise
        except Exception as error:  # noqa: BLE001 - re-raised below if eager fails
            result = eager(*args, **kwargs)
            runner._compiled_call_impl = None  # eager from now on
            warnings.warn(
                f"torch.compile failed for {type(module).__name__} "
                f"({_describe(error)}); running the model uncompiled (same "
                "outputs). Pass compile=False to skip the attempt.",
                RuntimeWarning,
                stacklevel=2,
            )
            return result

    runner._compiled_call_impl = call
    return runner


def _describe(error):
    """The innermost cause of ``error``, in one line."""
    root = error
    while True:  # dynamo wraps the backend's error in ``inner_exception``
        inner = getattr(root, "inner_exception", None) or root.__cause__
        if inner is None or inner is root:
            break
        root = inner
    lines = str(root).strip().splitlines()
    text = f"{type(root).__name__}: {lines[0] if lines else ''}"
    if root is not error:
        text = f"{type(error).__name__} from {text}"
    return text
