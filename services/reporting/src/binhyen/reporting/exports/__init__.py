"""Exports in office formats: PDF reports laid out as administrative documents, XLSX, CSV."""
