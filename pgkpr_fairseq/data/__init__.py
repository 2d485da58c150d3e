from .pgkpr_dataset import (NO_TRAINING_INPUTS, KeywordSelection, PGKPRDataset,  # noqa: F401
                            TrainingInputs, collate, load_pgkpr_dataset)
