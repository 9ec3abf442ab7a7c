"""Patient -> ICD-10-CM code predictions (pluggable predictors).

Example:
    >>> from garmle.coding import EhrCoder, Predictor
    >>> from garmle.catalogue import IcdCatalogue
    >>> isinstance(EhrCoder(IcdCatalogue()), Predictor)
    True
"""

from garmle.coding.base import Predictor, predictions_from_codes, validate_predictions
from garmle.coding.catalogue_coder import CatalogueCoder
from garmle.coding.combined import CombinedPredictor, default_predictor
from garmle.coding.drug_therapy import DrugTherapyCoder
from garmle.coding.ehr import EhrCoder, load_rules
from garmle.coding.transformers_coder import TransformersCoder

__all__ = [
    "CatalogueCoder",
    "CombinedPredictor",
    "DrugTherapyCoder",
    "EhrCoder",
    "Predictor",
    "TransformersCoder",
    "default_predictor",
    "load_rules",
    "predictions_from_codes",
    "validate_predictions",
]
