"""Interoperability with the field's exchange formats (SBML: :mod:`oasim.interop.sbml`)."""
