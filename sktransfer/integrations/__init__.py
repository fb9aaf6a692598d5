"""Bridges to libraries with their own conventions: pyod and implicit."""

from sktransfer.integrations._implicit import ImplicitRecommender
from sktransfer.integrations._pyod import OutlierDetector

__all__ = ["ImplicitRecommender", "OutlierDetector"]
