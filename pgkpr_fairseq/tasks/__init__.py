from . import pgkpr, translation_bf16  # noqa: F401
