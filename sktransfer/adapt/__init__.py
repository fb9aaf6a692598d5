"""Domain adaptation: align a labelled source domain with an unlabelled target."""

__all__ = []
