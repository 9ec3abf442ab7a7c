"""ICD-10-CM catalogue: codes, titles, notes and hierarchy.

Example:
    >>> from garmle.catalogue import IcdCatalogue
    >>> cat = IcdCatalogue()
    >>> cat.lookup("i10").title
    'Essential (primary) hypertension'
"""

from garmle.catalogue.icd10cm import IcdCatalogue, IcdEntry, catalogue_documents, parse_code_range

__all__ = ["IcdCatalogue", "IcdEntry", "catalogue_documents", "parse_code_range"]
