"""From raw paraphrase pairs to a PGKPR data-bin (docs/data-format.md): reading the raw datasets,
tokenization, POS tags, optional sentencepiece pieces and binarization. `pgkpr-prepare` (cli.py) runs
each step; `preprocess/prepare.sh` chains them with stage one (`pgkpr-keywords`)."""
