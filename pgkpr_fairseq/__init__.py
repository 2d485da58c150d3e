"""PGKPR as a fairseq plugin: `--user-dir pgkpr_fairseq` registers the `pgkpr` task, the
`pgkpr_transformer` model and the `pgkpr` criterion; `Paraphraser` paraphrases raw sentences."""
from . import criterions, models, tasks  # noqa: F401  (registers them with fairseq)
from .paraphrase import Paraphrase, Paraphraser  # noqa: F401  (the Python API)
