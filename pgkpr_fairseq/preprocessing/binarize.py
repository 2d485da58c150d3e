"""The text layout (textfiles.py) into a PGKPR data-bin (docs/data-format.md), with fairseq's own
Dictionary and mmap indexed datasets.

Every input file is checked first (aligned line counts, one tag and one probability per word,
probabilities in [0, 1], known tags); a failure names the file and line. The data-bin is built in
`DEST.tmp` and renamed to `DEST` only when complete.
"""
import os
import re
import shutil
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Callable, Collection, Dict, Iterable, List, Optional, Sequence

import numpy as np
from fairseq.data import Dictionary
from fairseq.data.indexed_dataset import best_fitting_int_dtype
from tqdm import tqdm

from ..data.side_data import quantize_probs, side_stream_prefix, write_side_stream
from ..perturb import NOK, SEP, is_pos_token, pos_token
from ..textio import InputError, at, check_same_line_count, check_words_per_line, read_lines
from .record import read_record, write_record
from .subwords import Segmented, WordPieces, expand, word_level
from .textfiles import SOURCE, TARGET, pos_kind, read_sentences, text_file

SIDES = (SOURCE, TARGET)  # also the language names of the data-bin
DEFAULT_NWORDS = 8000  # the paper's authors: the 8000 most frequent lowercased words
PADDING_FACTOR = 8  # as fairseq-preprocess pads its dictionaries
SENTENCEPIECE_MODEL = "spm.model"  # name of the copy of the sentencepiece model in the data-bin
PROB_DTYPE = np.uint16  # the fixed point of side_data.quantize_probs
SPLIT_FILE = re.compile(rf"^(\w+)\.{SOURCE}-{TARGET}\.")  # a split's files: SPLIT.src-tgt.*
# What raw sentences given to a model are prepared with: a new split binarized into an existing
# data-bin (`base`) must have been prepared the same way where both records say.
PREPARATION_KEYS = ("tokenizer", "max_len", "spacy_pipeline")


@dataclass
class SplitText:
    """The checked text files of one split."""

    words: Dict[str, List[List[str]]]  # by side: the words of every sentence
    tags: Dict[str, List[List[str]]]  # by side: one POS tag per word
    probs: Dict[str, List[List[float]]]  # by stream name: one probability per source word


def read_probabilities(path: str) -> List[List[float]]:
    """One line of probabilities per sentence; each must be a number in [0, 1]."""
    rows = []
    for number, line in enumerate(read_lines(path), 1):
        row = []
        for value in line.split():
            try:
                probability = float(value)
            except ValueError:
                raise at(path, number, f"{value!r} is not a number") from None
            if not 0.0 <= probability <= 1.0:  # also false for NaN
                raise at(path, number, f"probability {value} is not in [0, 1]")
            row.append(probability)
        rows.append(row)
    return rows


def read_split(
    textdir: str, split: str, prob_streams: Sequence[str], known_tags: Collection[str]
) -> SplitText:
    """Read and check the text, POS and probability files of one split."""
    paths = {side: text_file(textdir, split, side) for side in SIDES}
    words = {side: read_sentences(path) for side, path in paths.items()}
    check_same_line_count(paths[TARGET], len(words[TARGET]), paths[SOURCE], len(words[SOURCE]))
    tags = {}
    for side in SIDES:
        pos_path = text_file(textdir, split, pos_kind(side))
        tags[side] = read_sentences(pos_path)
        check_words_per_line(pos_path, tags[side], paths[side], words[side])
        for number, row in enumerate(tags[side], 1):
            unknown = [tag for tag in row if tag not in known_tags]
            if unknown:
                raise at(pos_path, number, f"POS tag {unknown[0]!r} is not in the tag set of the "
                                           f"dictionary (that of the spaCy tagger)")
    probs = {}
    for stream in prob_streams:
        prob_path = text_file(textdir, split, stream)
        probs[stream] = read_probabilities(prob_path)
        check_words_per_line(prob_path, probs[stream], paths[SOURCE], words[SOURCE])
    return SplitText(words, tags, probs)


def build_dictionary(
    sentences: Iterable[Sequence[str]], tags: Sequence[str], nwords: Optional[int] = DEFAULT_NWORDS
) -> Dictionary:
    """The joined dictionary: fairseq's specials, [SEP], [NOK], one token per POS tag, then the
    `nwords` most frequent tokens of `sentences` (all if None; ties in alphabetical order)."""
    dictionary = Dictionary()
    for symbol in [SEP, NOK] + [pos_token(tag) for tag in tags]:
        dictionary.add_symbol(symbol, n=0)
    counts = Counter(token for tokens in sentences for token in tokens)
    # A word written like a reserved token ("[nn]") stays out (it becomes <unk>): every bracketed
    # symbol of the dictionary is then [SEP], [NOK] or a tag, as perturb.is_pos_token assumes.
    words = sorted(
        (word for word in counts if word not in dictionary.indices and not is_pos_token(word)),
        key=lambda word: (-counts[word], word),
    )
    for word in words[:nwords]:
        dictionary.add_symbol(word, n=counts[word])
    dictionary.pad_to_multiple_(PADDING_FACTOR)
    return dictionary


def load_dictionary(path: str) -> Dictionary:
    """An existing joined dictionary (to binarize new data for a trained model); it must hold
    [SEP], [NOK] and the tag tokens."""
    try:
        dictionary = Dictionary.load(path)
    except (OSError, ValueError, RuntimeError) as err:
        raise at(path, None, f"not a fairseq dictionary ({err})") from None
    if SEP not in dictionary.indices or NOK not in dictionary.indices or not dictionary_tags(dictionary):
        raise at(path, None, f"not a PGKPR dictionary: it needs {SEP}, {NOK} and POS tag tokens")
    return dictionary


def dictionary_tags(dictionary: Dictionary) -> List[str]:
    """The POS tags that have a token in the dictionary: [NN] -> NN."""
    return [symbol[1:-1] for symbol in dictionary.symbols if is_pos_token(symbol)]


def write_split(
    text: SplitText, split: str, destdir: str, dictionary: Dictionary,
    segment: Callable[[Sequence[str]], Segmented],
) -> None:
    """Write the token streams and side streams of one split."""
    tag_ids = {tag: dictionary.index(pos_token(tag)) for tag in dictionary_tags(dictionary)}
    tokens, side = defaultdict(list), defaultdict(list)  # by language; by (language, stream)
    for i in tqdm(range(len(text.words[SOURCE])), desc=f"binarize {split}", unit=" pair"):
        for lang in SIDES:
            pieces, word_index = segment(text.words[lang][i])
            tokens[lang].append(
                dictionary.encode_line(" ".join(pieces), add_if_not_exist=False, append_eos=True)
            )
            side[lang, "pos"].append([tag_ids[tag] for tag in expand(text.tags[lang][i], word_index)])
            if lang == SOURCE:
                side[lang, "word"].append(word_index)
                for stream, probs in text.probs.items():
                    side[lang, stream].append(quantize_probs(expand(probs[i], word_index)))
    id_dtype = best_fitting_int_dtype(len(dictionary))
    for lang, sequences in tokens.items():
        write_side_stream(os.path.join(destdir, f"{split}.{SOURCE}-{TARGET}.{lang}"), sequences, id_dtype)
    dtypes = {"pos": id_dtype, "word": best_fitting_int_dtype(max(map(max, side[SOURCE, "word"])))}
    for (lang, stream), sequences in side.items():
        prefix = side_stream_prefix(destdir, split, SOURCE, TARGET, lang, stream)
        write_side_stream(prefix, sequences, dtypes.get(stream, PROB_DTYPE))


def data_bin_record(
    textdir: str, sentencepiece_model: Optional[str], spacy_pipeline: Optional[str],
    keyword_model: Optional[str],
) -> dict:
    """The text folder's preparation record, completed with what binarization knows."""
    record = read_record(textdir)
    if record is None:
        print(f"{textdir}: no preparation.json (pgkpr-prepare quora|coco|folder writes it): the "
              f"data-bin will not say how raw sentences are tokenized", file=sys.stderr)
        record = {}
    record.update(
        spacy_pipeline=spacy_pipeline,
        sentencepiece=SENTENCEPIECE_MODEL if sentencepiece_model else None,
        keyword_model=os.path.abspath(keyword_model) if keyword_model else None,
    )
    return record


def split_of(name: str) -> Optional[str]:
    """The split a data-bin file belongs to (test.src-tgt.src.bin -> test); None for the others
    (dictionaries, preparation.json, spm.model)."""
    match = SPLIT_FILE.match(name)
    return match.group(1) if match else None


def check_base(
    base: str, destdir: str, textdir: str, spacy_pipeline: Optional[str], keyword_model: Optional[str],
) -> None:
    """Refuse to add splits to `base` that were not prepared as its own: another tokenizer, length
    cap, spaCy pipeline or stage-one folder than its preparation.json records (where both say)."""
    if os.path.realpath(base) == os.path.realpath(destdir):
        raise InputError(f"{destdir}: --destdir is --base: write the new data-bin to another folder")
    dictionary_path = os.path.join(base, f"dict.{SOURCE}.txt")
    if not os.path.isfile(dictionary_path):
        raise InputError(f"{dictionary_path}: no such file (--base must be a data-bin)")
    base_record = read_record(base) or {}
    new_record = dict(read_record(textdir) or {}, spacy_pipeline=spacy_pipeline)
    for key in PREPARATION_KEYS:
        if base_record.get(key) is not None and new_record.get(key) is not None \
                and base_record[key] != new_record[key]:
            raise InputError(f"{textdir}: prepared with {key} {new_record[key]!r}, but the data-bin "
                             f"{base} with {base_record[key]!r} ({base}/preparation.json)")
    if base_record.get("keyword_model") and keyword_model \
            and os.path.realpath(base_record["keyword_model"]) != os.path.realpath(keyword_model):
        raise InputError(f"--keyword-model {keyword_model}: the data-bin {base} was scored by "
                         f"{base_record['keyword_model']} ({base}/preparation.json)")


def take_base_files(base: str, tmpdir: str, splits: Collection[str]) -> None:
    """Make `tmpdir` hold the files of `splits` it has and, copied byte for byte, every other file
    of `base` (its dictionaries, preparation.json, spm.model, its other splits)."""
    for name in os.listdir(tmpdir):
        if split_of(name) not in splits:
            os.remove(os.path.join(tmpdir, name))
    for name in sorted(os.listdir(base)):
        path = os.path.join(base, name)
        if os.path.isfile(path) and split_of(name) not in splits:
            shutil.copyfile(path, os.path.join(tmpdir, name))


def _replace_dir(new: str, old: str) -> None:
    """Put folder `new` in place of folder `old` (which may not exist)."""
    if os.path.exists(old):
        retired = old + ".old"
        shutil.rmtree(retired, ignore_errors=True)
        os.rename(old, retired)
        os.rename(new, old)
        shutil.rmtree(retired)
    else:
        os.rename(new, old)


def binarize(
    textdir: str, destdir: str, splits: Sequence[str], *, tags: Sequence[str] = (),
    dictionary_path: Optional[str] = None, nwords: Optional[int] = DEFAULT_NWORDS,
    sentencepiece_model: Optional[str] = None, prob_streams: Sequence[str] = ("kwprob", "kwprob_ref"),
    train_split: str = "train", overwrite: bool = False, spacy_pipeline: Optional[str] = None,
    keyword_model: Optional[str] = None, base: Optional[str] = None,
) -> None:
    """Binarize `splits` of `textdir` into the data-bin `destdir`.

    The dictionary is read from `dictionary_path`, or built from `train_split` (source and target)
    with the POS tag set `tags` and at most `nwords` words or pieces. With `sentencepiece_model`,
    words are split into pieces (copied into the data-bin as spm.model). The text folder's
    preparation record is copied with `spacy_pipeline` (that tagged the text) and `keyword_model`
    (that scored it) added (preprocessing/record.py).

    With `base`, an existing data-bin, the result is `base` with `splits` added or replaced: they
    are binarized with its dictionary (and its spm.model, if any), and every other file of `base` is
    copied as it is, preparation.json included. Models trained on `base` then decode the new
    splits, and pgkpr-experiment finds them: their cache key covers the dictionaries and the
    training splits (pgkpr_fairseq/experiment/inputs.py), which stay byte-identical.
    """
    destdir = os.path.normpath(destdir)
    if os.path.exists(destdir) and not overwrite:
        raise InputError(f"{destdir}: already exists (pass --overwrite to replace it)")
    if base:
        if dictionary_path or sentencepiece_model:
            raise InputError("--base gives the dictionary and the sentencepiece model: leave out "
                             "--dict and --sentencepiece")
        check_base(base, destdir, textdir, spacy_pipeline, keyword_model)
        dictionary_path = os.path.join(base, f"dict.{SOURCE}.txt")
        if os.path.isfile(os.path.join(base, SENTENCEPIECE_MODEL)):
            sentencepiece_model = os.path.join(base, SENTENCEPIECE_MODEL)
    segment = WordPieces(sentencepiece_model) if sentencepiece_model else word_level
    tmpdir = destdir + ".tmp"
    shutil.rmtree(tmpdir, ignore_errors=True)  # the leftover of an interrupted run
    os.makedirs(tmpdir)
    try:
        texts = {}
        if dictionary_path:
            dictionary = load_dictionary(dictionary_path)
        else:
            if train_split not in splits:
                raise InputError(f"the dictionary is built from split {train_split!r}: "
                                 f"binarize it too, or give an existing dictionary")
            texts[train_split] = read_split(textdir, train_split, prob_streams, set(tags))
            train = texts[train_split].words
            dictionary = build_dictionary(
                (segment(words)[0] for lang in SIDES for words in train[lang]), tags, nwords
            )
        for lang in SIDES:
            dictionary.save(os.path.join(tmpdir, f"dict.{lang}.txt"))
        if sentencepiece_model:
            shutil.copyfile(sentencepiece_model, os.path.join(tmpdir, SENTENCEPIECE_MODEL))
        write_record(tmpdir, data_bin_record(textdir, sentencepiece_model, spacy_pipeline, keyword_model))
        known_tags = set(dictionary_tags(dictionary))
        for split in splits:
            text = texts.pop(split, None) or read_split(textdir, split, prob_streams, known_tags)
            write_split(text, split, tmpdir, dictionary, segment)
        if base:
            take_base_files(base, tmpdir, splits)
        _replace_dir(tmpdir, destdir)
    except BaseException:
        shutil.rmtree(tmpdir, ignore_errors=True)
        raise
