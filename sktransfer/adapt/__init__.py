"""Domain adaptation: align a labelled source domain with an unlabelled target.

Convention (skada's): source and target rows are stacked in one ``X``; the
unlabelled target rows have ``y = -1`` (classification) or ``NaN``
(regression). ``sample_domain`` (positive = source, negative = target) can be
given instead, through metadata routing::

    import sklearn
    sklearn.set_config(enable_metadata_routing=True)

Importing sktransfer never switches routing on; without it, domains are read
from the masked labels, and at ``transform`` / ``predict`` time every row is a
target row.
"""

from sktransfer.adapt._coral import CORALAdapter
from sktransfer.adapt._reweight import ImportanceWeightingAdapter
from sktransfer.adapt._scaler import DomainStandardScaler
from sktransfer.adapt._scorers import ImportanceWeightedScorer, PredictionEntropyScorer
from sktransfer.adapt._select import SelectSource, make_da_pipeline
from sktransfer.adapt._split import SourceTargetKFold
from sktransfer.adapt._subspace import SubspaceAlignmentAdapter
from sktransfer.adapt._tca import TCAAdapter

__all__ = [
    "CORALAdapter",
    "DomainStandardScaler",
    "ImportanceWeightedScorer",
    "ImportanceWeightingAdapter",
    "PredictionEntropyScorer",
    "SelectSource",
    "SourceTargetKFold",
    "SubspaceAlignmentAdapter",
    "TCAAdapter",
    "make_da_pipeline",
]
