"""The package version, in a module of its own.

Any module can then import it without importing the whole package first.
"""

__version__ = "0.1.0"
