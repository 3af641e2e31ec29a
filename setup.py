"""Shim for Dataflow's --setup_file: the package metadata lives in pyproject.toml."""

from setuptools import setup

setup()
