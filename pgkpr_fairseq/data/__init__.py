from .pgkpr_dataset import KeywordSelection, PGKPRDataset, collate, load_pgkpr_dataset  # noqa: F401
