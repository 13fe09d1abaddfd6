"""Benchmarks that print their figures, each a script run as ``python bench/NAME.py`` (``make bench``
runs them all). This file makes ``bench`` a package only so that import-linter can hold it to the
layers in pyproject.toml; the scripts import their helpers as ``common``, from their own folder."""
