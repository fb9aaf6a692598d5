"""The four fine-tuners speak one language: a shared parameter has one default."""

import inspect

import pytest

import sktransfer

FINETUNERS = ["ImageClassifier", "ImageRegressor", "TextClassifier", "TextRegressor"]
# parameters whose default depends on the modality by design
MODALITY_DEFAULTS = {"backbone"}


def _defaults(name):
    signature = inspect.signature(getattr(sktransfer, name).__init__)
    return {
        key: parameter.default
        for key, parameter in signature.parameters.items()
        if key != "self"
    }


def test_shared_parameters_have_the_same_defaults():
    defaults = {name: _defaults(name) for name in FINETUNERS}
    shared = set.intersection(*(set(d) for d in defaults.values()))
    differ = {
        key: {name: defaults[name][key] for name in FINETUNERS}
        for key in sorted(shared - MODALITY_DEFAULTS)
        if len({repr(defaults[name][key]) for name in FINETUNERS}) > 1
    }
    assert differ == {}


# class-only options: class weights, label smoothing, and the contrastive
# strategy's parameters (regressors have no classes to build pairs from)
CLASS_OPTIONS = {
    "class_weight",
    "label_smoothing",
    "contrastive_iterations",
    "contrastive_loss",
    "contrastive_distance",
}


@pytest.mark.parametrize(
    ("pair", "only"),
    [
        (("ImageClassifier", "ImageRegressor"), CLASS_OPTIONS),
        (("TextClassifier", "TextRegressor"), CLASS_OPTIONS),
    ],
)
def test_a_classifier_and_its_regressor_differ_only_in_class_options(pair, only):
    classifier, regressor = (set(_defaults(name)) for name in pair)
    assert classifier - regressor == only
    assert regressor - classifier == set()
