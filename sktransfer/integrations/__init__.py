"""Bridges to libraries with their own conventions: pyod and implicit."""

from sktransfer.integrations._implicit import ImplicitRecommender
from sktransfer.integrations._pyod import OutlierDetector, list_detectors
from sktransfer.integrations._ranking import (
    make_ranking_scorer,
    map_at_k,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)
from sktransfer.integrations._scoring import make_outlier_scorer
from sktransfer.integrations._splitters import PerUserHoldout

__all__ = [
    "ImplicitRecommender",
    "PerUserHoldout",
    "make_ranking_scorer",
    "map_at_k",
    "ndcg_at_k",
    "precision_at_k",
    "recall_at_k",
    "OutlierDetector",
    "list_detectors",
    "make_outlier_scorer",
]
