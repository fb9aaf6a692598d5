"""Every public estimator follows the naming rules of the user guide.

The rules are written in docs/user_guide/parameters.rst ("Parameter names");
this file walks ``all_estimators()`` and checks each of them, so a new
estimator or parameter that breaks one fails here, and the page's table of
every estimator's parameters stays in step with the code.
"""

import inspect
import re
from collections import defaultdict
from pathlib import Path

import pytest
from numpydoc.docscrape import NumpyDocString
from sklearn.utils._param_validation import Hidden, StrOptions

from sktransfer.utils.discovery import all_estimators

ESTIMATORS = dict(all_estimators())
PAGE = Path(__file__).resolve().parents[1] / "docs/user_guide/parameters.rst"

# renamed parameters: (estimator, old name) -> new name. The old name keeps
# working for one release: its default is "deprecated", a value given to it is
# used at fit with a FutureWarning (tested with the estimator's own tests).
RENAMED = {("ImplicitRecommender", "item_content_encoder"): "content_embedder"}
# the one shared name whose default differs on purpose: each modality's
# offline default backbone
# backbone: by modality; batch_size: "auto" (a measured inference size) on
# the embedders, a number on the fine-tuners, where it is also the training
# mini-batch
MODALITY_DEFAULTS = {"backbone", "batch_size"}
# what a verbose parameter says about its values, word for word
VERBOSE_TYPE = 'verbose : "auto", bool or int, default="auto"'
VERBOSE_VALUES = (
    "someone watches (a terminal or a notebook; never in joblib or Dask "
    "workers, nor when the ``CI`` variable is set); 0 or False never, True or "
    "any other int always."
)
# learning rate and iterations: skorch's names in the fine-tuners (built on
# skorch), the wrapped library's own names in a wrapper, nothing else
SKORCH_NAMES = {"lr", "max_epochs"}
WRAPPED_LIBRARY_NAMES = {"ImplicitRecommender": {"learning_rate", "iterations"}}
OTHER_SPELLINGS = {
    "learning_rate_init",
    "eta",
    "step_size",
    "max_iter",
    "n_iter",
    "n_iterations",
    "num_iterations",
    "epochs",
    "n_epochs",
    "num_epochs",
}


def _params(cls):
    """{name: default} of the constructor's parameters (``**kwargs`` left out)."""
    return {
        name: parameter.default
        for name, parameter in inspect.signature(cls.__init__).parameters.items()
        if name != "self" and parameter.kind is not parameter.VAR_KEYWORD
    }


def _public_params(cls):
    """The parameters, less the deprecated old names of renamed ones."""
    return {k: v for k, v in _params(cls).items() if v != "deprecated"}


def _docstring_entries(cls):
    """{name: (type line, description)} of the class's Parameters section."""
    entries = {}
    for parameter in NumpyDocString(inspect.getdoc(cls))["Parameters"]:
        for name in parameter.name.split(","):
            entries[name.strip()] = (parameter.type, " ".join(parameter.desc))
    return entries


@pytest.mark.parametrize(
    "name", sorted(n for n, cls in ESTIMATORS.items() if "verbose" in _params(cls))
)
def test_verbose_takes_auto_bool_or_int_with_one_meaning(name):
    cls = ESTIMATORS[name]
    assert _params(cls)["verbose"] == "auto"
    constraint = cls._parameter_constraints["verbose"]
    assert len(constraint) == 2 and constraint[0] == "verbose"
    assert isinstance(constraint[1], StrOptions) and constraint[1].options == {"auto"}
    kind, description = _docstring_entries(cls)["verbose"]
    assert f"verbose : {kind}" == VERBOSE_TYPE
    assert VERBOSE_VALUES in description


# dict-valued parameters that are not options passed through
NOT_PASS_THROUGH = {
    "class_weight": "scikit-learn's {class: weight}, not options",
    "compile": "a switch that takes torch.compile's options in place of True",
}


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_pass_through_options_are_component_params(name):
    """A dict of options for a wrapped component is ``<component>_params``."""
    cls = ESTIMATORS[name]
    params = _public_params(cls)
    for param in params.keys() - NOT_PASS_THROUGH.keys():
        constraint = cls._parameter_constraints.get(param, [])
        takes_dict = dict in constraint
        if takes_dict or param.endswith("_params"):
            assert takes_dict and param.endswith("_params"), param
            assert param.removesuffix("_params") in params, param


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_no_encoder_parameters(name):
    """'Encoder' is scikit-learn's and skrub's word for other things."""
    for param in _public_params(ESTIMATORS[name]):
        assert not re.search(r"(^|_)encoders?($|_)", param), param


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_class_names_keep_the_reserved_words(name):
    """ "Adapter" is reserved for domain adaptation; no class is an "Encoder"."""
    module = ESTIMATORS[name].__module__
    assert name.endswith("Adapter") <= module.startswith("sktransfer.adapt.")
    assert "Encoder" not in name


def test_a_shared_name_has_one_default():
    defaults = defaultdict(dict)
    for name, cls in ESTIMATORS.items():
        for param, default in _public_params(cls).items():
            defaults[param][name] = default
    differ = {
        param: by_estimator
        for param, by_estimator in defaults.items()
        if param not in MODALITY_DEFAULTS
        and len({repr(default) for default in by_estimator.values()}) > 1
    }
    assert differ == {}


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_one_vocabulary_for_learning_rate_and_iterations(name):
    cls = ESTIMATORS[name]
    params = set(_public_params(cls))
    assert not params & OTHER_SPELLINGS
    wrapped = WRAPPED_LIBRARY_NAMES.get(name, set())
    skorch_based = cls.__module__.startswith("sktransfer.finetune.")
    assert params & SKORCH_NAMES <= (SKORCH_NAMES if skorch_based else set())
    library_names = set().union(*WRAPPED_LIBRARY_NAMES.values())
    assert params & library_names <= wrapped


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_renamed_parameters_keep_their_old_name_for_one_release(name):
    cls = ESTIMATORS[name]
    params = _params(cls)
    entries = _docstring_entries(cls)
    for old, default in params.items():
        if default != "deprecated":
            continue
        new = RENAMED.get((name, old))
        assert new in params, f"{name}.{old} is deprecated but not in RENAMED"
        assert any(
            isinstance(c, Hidden) and c.constraint.options == {"deprecated"}
            for c in cls._parameter_constraints[old]
        )
        assert f"Deprecated name of ``{new}``" in entries[old][1]
    for (estimator, old), new in RENAMED.items():
        if estimator == name:
            assert params.get(old) == "deprecated" and new in params


def _page_table():
    """{estimator: [parameters]} from the page's table of every parameter."""
    text = PAGE.read_text(encoding="utf-8")
    rows = re.findall(r"^   \* - ``(\w+)``\n     - (.*)$", text, flags=re.M)
    return {name: re.findall(r"``(\w+)``", cell) for name, cell in rows}


def test_the_user_guide_lists_every_parameter_of_every_estimator():
    table = _page_table()
    expected = {name: list(_public_params(cls)) for name, cls in ESTIMATORS.items()}
    rows = "".join(
        f"   * - ``{name}``\n     - " + ", ".join(f"``{p}``" for p in params) + "\n"
        for name, params in expected.items()
    )
    assert table == expected, f"the table's rows should read:\n{rows}"


def test_the_user_guide_lists_the_renamed_parameters():
    text = PAGE.read_text(encoding="utf-8")
    for (name, old), new in RENAMED.items():
        assert f"``{name}``: ``{old}`` -> ``{new}``" in text
