from . import pgkpr  # noqa: F401
