"""Each decoded row's hypotheses as a compressed file that `pgkpr-score` reads (`--hypotheses`), so a
table can be scored again without its models, and beside it the row's scores (`.scores.json`), so
that a re-scoring can be checked against the table."""
import gzip
import os
import re
from typing import Dict, List

from ..scoring import read_hypotheses, write_json
from ..textio import atomic_output
from .settings import DecodingSettings

DEFAULT_LENPEN = DecodingSettings.lenpen
HYPOTHESIS_SUFFIX, SCORES_SUFFIX = ".hyp.gz", ".scores.json"


def file_stem(name: str, seed: int, split: str, lenpen: float = DEFAULT_LENPEN) -> str:
    """A row's name as the start of a file name: 'PGKPR w/o L_con' with seed 2 on test ->
    'pgkpr-without-l-con.seed2.test', and '...test.lenpen2' when decoded with lenpen 2 (so that a
    system's rows at two length penalties do not overwrite each other)."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower().replace("w/o", "without")).strip("-")
    decoding = "" if lenpen == DEFAULT_LENPEN else f".lenpen{lenpen:g}"
    return f"{slug}.seed{seed}.{split}{decoding}"


def scores_path(hypothesis_path: str) -> str:
    """The scores file written beside a hypothesis file: 'x.seed1.test.hyp.gz' ->
    'x.seed1.test.scores.json'."""
    return hypothesis_path[: -len(HYPOTHESIS_SUFFIX)] + SCORES_SUFFIX


def export_hypotheses(results: Dict[str, dict], directory: str, seed: int, split: str,
                      lenpen: float = DEFAULT_LENPEN) -> List[str]:
    """Write the hypotheses of every decoded row of `results` (their fairseq-generate output, in
    test-file order, one line per source) to `directory`, each with its scores as the table shows
    them (two decimals) in `scores_path(file)`; returns the hypothesis files written. The copy
    floor has none: its hypotheses are the test sources."""
    os.makedirs(directory, exist_ok=True)
    written = []
    for name, result in results.items():
        if "generation" not in result:
            continue
        generate_output = os.path.join(result["folder"], "generate.out")
        path = os.path.join(directory, file_stem(name, seed, split, lenpen) + HYPOTHESIS_SUFFIX)
        text = "".join(line + "\n" for line in read_hypotheses(generate_output, "fairseq"))
        with atomic_output(path, "wb") as handle:
            # mtime 0: the same hypotheses give the same bytes, so a re-export changes nothing in git
            with gzip.GzipFile(fileobj=handle, mode="wb", mtime=0, filename="") as compressed:
                compressed.write(text.encode("utf-8"))
        write_json(scores_path(path),
                   {"system": name, "seed": seed, "split": split, "lenpen": lenpen,
                    "sentences": text.count("\n"),
                    "metrics": {key: round(value, 2) for key, value in result["metrics"].items()}})
        written.append(path)
    return written
