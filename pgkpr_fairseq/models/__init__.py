from . import pgkpr_transformer  # noqa: F401
