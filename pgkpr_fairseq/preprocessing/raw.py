"""Raw datasets in: Kaggle's Quora question pairs, COCO captions and folders of aligned pairs, split
and written as tokenized text (the layout of textfiles.py).

Quora and COCO splits are drawn with a fixed seed in the order test, valid, train (DRAW_ORDER): a
smaller training size then gives a prefix of the larger training split, with the same valid and
test splits.
"""
import csv
import io
import json
import random
import sys
from typing import Dict, List, Optional, Sequence, Tuple

from tqdm import tqdm

from ..textio import InputError, at, check_same_line_count, read_lines
from .textfiles import SOURCE, TARGET, text_file, write_sentence_files
from .tokenize import SentenceTokenizer

QUORA_COLUMNS = ("question1", "question2", "is_duplicate")
DRAW_ORDER = ("test", "valid", "train")
COCO_CAPTIONS_PER_IMAGE = 5  # one caption, drawn at random, is the source; the other four its targets
COCO_TARGETS_PER_IMAGE = COCO_CAPTIONS_PER_IMAGE - 1

Pair = Tuple[str, str]


def _decode(path: str) -> str:
    """The whole file as text (UTF-8 checked, with the line of a bad byte in the error)."""
    return "\n".join(read_lines(path, allow_empty_lines=True))


def _has_words(text: Optional[str]) -> bool:
    return bool(text and text.split())


def read_quora_duplicates(path: str) -> List[Pair]:
    """(question1, question2) of every duplicate pair (is_duplicate == 1) of a Kaggle-style Quora
    file: `quora_duplicate_questions.tsv` (tab-separated) or `train.csv` (comma-separated).
    Pairs with an empty question are skipped."""
    text = _decode(path)
    delimiter = "\t" if "\t" in text.partition("\n")[0] else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    missing = [column for column in QUORA_COLUMNS if column not in (reader.fieldnames or [])]
    if missing:
        raise at(path, 1, f"no column {', '.join(missing)} in the header (a Quora question pairs "
                          f"file has columns id, qid1, qid2, question1, question2, is_duplicate)")
    pairs = []
    record_start = reader.line_num + 1  # a quoted field may span lines: a record is named by its first
    for row in reader:
        label = (row["is_duplicate"] or "").strip()
        if label not in ("0", "1"):
            if row["is_duplicate"] is None and reader.line_num > record_start:
                raise at(path, record_start, f"a quote opened in this record is not closed on its line "
                                             f"(the record runs on to line {reader.line_num})")
            raise at(path, record_start, f"is_duplicate is {label!r}, expected 0 or 1")
        if label == "1" and _has_words(row["question1"]) and _has_words(row["question2"]):
            pairs.append((row["question1"], row["question2"]))
        record_start = reader.line_num + 1
    return pairs


def read_coco_images(paths: Sequence[str]) -> List[List[str]]:
    """The first five captions (in file order) of every image with at least five non-empty
    captions, from one or more COCO captions JSON files (`captions_train2017.json` format)."""
    captions_by_image: Dict[object, List[str]] = {}
    for path in paths:
        try:
            data = json.loads(_decode(path))
        except json.JSONDecodeError as err:
            raise at(path, err.lineno, f"not JSON: {err.msg}") from None
        annotations = data.get("annotations") if isinstance(data, dict) else None
        if not isinstance(annotations, list):
            raise at(path, None, 'no "annotations" list (expected the COCO captions format)')
        for number, annotation in enumerate(annotations):
            if not isinstance(annotation, dict) or not isinstance(annotation.get("caption"), str) \
                    or "image_id" not in annotation:
                raise at(path, None, f'annotation {number} has no "image_id" and "caption" text')
            image_id = annotation["image_id"]
            if isinstance(image_id, bool) or not isinstance(image_id, (int, str)):
                raise at(path, None, f"annotation {number}: image_id {json.dumps(image_id)} is not a number "
                                     f"or a string")
            if _has_words(annotation["caption"]):
                captions_by_image.setdefault(image_id, []).append(annotation["caption"])
    return [
        captions[:COCO_CAPTIONS_PER_IMAGE]
        for captions in captions_by_image.values()
        if len(captions) >= COCO_CAPTIONS_PER_IMAGE
    ]


def split_items(
    items: Sequence, sizes: Dict[str, int], seed: int, what: str, source: str
) -> Dict[str, list]:
    """Shuffle `items` with `seed` and cut consecutive splits of the given sizes, in the order of
    `sizes`; an InputError if there are too few `what` in `source`."""
    needed = sum(sizes.values())
    if needed > len(items):
        asked = " + ".join(f"{size} {split}" for split, size in sizes.items())
        raise InputError(
            f"{source}: only {len(items)} {what}, but the splits ask for {needed} ({asked}); "
            f"lower the split sizes"
        )
    shuffled = list(items)
    random.Random(seed).shuffle(shuffled)
    splits, start = {}, 0
    for split, size in sizes.items():
        splits[split] = shuffled[start:start + size]
        start += size
    return splits


def tokenize_texts(texts: Sequence[str], tokenizer: SentenceTokenizer, desc: str) -> List[List[str]]:
    """Tokenize every text, with a progress bar."""
    return [tokenizer(text) for text in tqdm(texts, desc=desc, unit=" sent")]


SplitFiles = Dict[str, List[List[str]]]  # path of a text file -> its tokenized sentences


def tokenize_pairs(textdir: str, split: str, pairs: Sequence[Pair], tokenizer: SentenceTokenizer) -> SplitFiles:
    """`split.src` and `split.tgt`, tokenized."""
    return {
        text_file(textdir, split, side):
            tokenize_texts([pair[column] for pair in pairs], tokenizer, f"tokenize {split}.{side}")
        for side, column in ((SOURCE, 0), (TARGET, 1))
    }


def tokenize_references(
    textdir: str, split: str, sources: Sequence[str], references: Sequence[Sequence[str]],
    tokenizer: SentenceTokenizer,
) -> SplitFiles:
    """A split with several references per source: `split.src`, one line per source;
    `split.ref0`, `split.ref1`, ...; and `split.tgt`, a copy of ref0 so that src/tgt stay a pair."""
    files = {text_file(textdir, split, SOURCE): tokenize_texts(sources, tokenizer, f"tokenize {split}.src")}
    for k in range(len(references[0])):
        files[text_file(textdir, split, f"ref{k}")] = tokenize_texts(
            [refs[k] for refs in references], tokenizer, f"tokenize {split}.ref{k}")
    files[text_file(textdir, split, TARGET)] = files[text_file(textdir, split, "ref0")]
    return files


def split_sizes(train: int, valid: int, test: int) -> Dict[str, int]:
    """Split sizes in DRAW_ORDER."""
    sizes = {"train": train, "valid": valid, "test": test}
    return {split: sizes[split] for split in DRAW_ORDER}


def prepare_quora(
    path: str, textdir: str, sizes: Dict[str, int], seed: int, tokenizer: SentenceTokenizer
) -> None:
    """Quora duplicate pairs as tokenized text, split by `sizes` (pairs per split, see
    `split_sizes`)."""
    pairs = read_quora_duplicates(path)
    files: SplitFiles = {}
    for split, split_pairs in split_items(pairs, sizes, seed, "duplicate pairs", path).items():
        files.update(tokenize_pairs(textdir, split, split_pairs, tokenizer))
    write_sentence_files(files)


def prepare_coco(
    paths: Sequence[str], textdir: str, sizes: Dict[str, int], seed: int,
    tokenizer: SentenceTokenizer, reference_splits: Sequence[str] = ("test",),
) -> None:
    """COCO captions as tokenized text, split by image (`sizes` in pairs, four per image; see
    `split_sizes`). An image gives four pairs (its source caption -> each other caption), or in
    `reference_splits` one source line with four references (`tokenize_references`). The source is
    one of the five captions at random (the paper), drawn with `seed` (`choose_sources`)."""
    for split, size in sizes.items():
        if size % COCO_TARGETS_PER_IMAGE:
            raise InputError(
                f"{split}: {size} pairs is not a multiple of {COCO_TARGETS_PER_IMAGE} "
                f"(every image gives {COCO_TARGETS_PER_IMAGE} pairs)"
            )
    images = read_coco_images(paths)
    image_counts = {split: size // COCO_TARGETS_PER_IMAGE for split, size in sizes.items()}
    what = f"images with at least {COCO_CAPTIONS_PER_IMAGE} captions"
    files: SplitFiles = {}
    for split, captions in split_items(images, image_counts, seed, what, ", ".join(paths)).items():
        captions = choose_sources(captions, random.Random(f"{seed}-{split}-source"))
        if split in reference_splits:
            files.update(tokenize_references(textdir, split, [c[0] for c in captions],
                                             [c[1:] for c in captions], tokenizer))
        else:
            pairs = [(image[0], target) for image in captions for target in image[1:]]
            files.update(tokenize_pairs(textdir, split, pairs, tokenizer))
    write_sentence_files(files)


def choose_sources(images: Sequence[Sequence[str]], rng: random.Random) -> List[List[str]]:
    """Every image's captions with one of them, drawn by `rng`, moved to the front (the source);
    the others keep their order."""
    reordered = []
    for captions in images:
        source = rng.randrange(len(captions))
        reordered.append([captions[source]] + [c for k, c in enumerate(captions) if k != source])
    return reordered


def read_folder_pairs(folder: str, name: str) -> List[Pair]:
    """The aligned lines of `folder/name.src` and `folder/name.tgt`; pairs with an empty side are
    dropped (and counted on stderr)."""
    src_path, tgt_path = text_file(folder, name, SOURCE), text_file(folder, name, TARGET)
    sources = read_lines(src_path, allow_empty_lines=True)
    targets = read_lines(tgt_path, allow_empty_lines=True)
    check_same_line_count(tgt_path, len(targets), src_path, len(sources))
    pairs = [(s, t) for s, t in zip(sources, targets) if _has_words(s) and _has_words(t)]
    if len(pairs) < len(sources):
        print(f"{src_path}: dropped {len(sources) - len(pairs)} pairs with an empty side", file=sys.stderr)
    return pairs


def prepare_folder(
    folder: str, textdir: str, split_names: Dict[str, str], tokenizer: SentenceTokenizer,
    limits: Dict[str, int],
) -> None:
    """Aligned pair files of a folder as tokenized text: `split_names` maps our split names to the
    folder's file names (valid -> val); `limits` keeps only the first N pairs of a split."""
    files: SplitFiles = {}
    for split, name in split_names.items():
        pairs = read_folder_pairs(folder, name)
        files.update(tokenize_pairs(textdir, split, pairs[: limits.get(split)], tokenizer))
    write_sentence_files(files)
