"""Rule-based classifier for FDA letters: exosome relevance, product categories, violation types.

Pure: text in, dict out; the only file it reads is its own ``vocabulary.json``.
"""

from .classifier import CLASSIFIER_VERSION, classify_document
from .products import CATEGORIES as PRODUCT_CATEGORIES
from .violations import VIOLATION_LABELS

__all__ = ["classify_document", "CLASSIFIER_VERSION", "PRODUCT_CATEGORIES", "VIOLATION_LABELS"]
