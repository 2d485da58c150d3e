"""Raw data in: Quora TSV/CSV, COCO captions JSON, folders of pairs; tokenization."""
import csv
import json
import os

import pytest

from pgkpr_fairseq.preprocessing import raw
from pgkpr_fairseq.preprocessing.cli import main
from pgkpr_fairseq.preprocessing.record import read_record
from pgkpr_fairseq.preprocessing.tokenize import SentenceTokenizer
from pgkpr_fairseq.textio import InputError

QUORA_HEADER = ["id", "qid1", "qid2", "question1", "question2", "is_duplicate"]


def quora_rows(count):
    """Made-up rows; every third pair is not a duplicate."""
    return [
        [str(i), str(2 * i), str(2 * i + 1), f"How do I learn skill {i}?", f"What's the way to learn skill {i}?",
         "0" if i % 3 == 2 else "1"]
        for i in range(count)
    ]


def write_quora(path, rows, delimiter):
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(QUORA_HEADER)
        writer.writerows(rows)
    return str(path)


def read(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read().splitlines()


@pytest.mark.parametrize("name, delimiter", [("quora_duplicate_questions.tsv", "\t"), ("train.csv", ",")])
def test_quora_keeps_duplicates_only(tmp_path, name, delimiter):
    rows = quora_rows(30)
    rows[0][3] = 'He said "hi",\nthen left'  # quoted field with a delimiter and a newline
    pairs = raw.read_quora_duplicates(write_quora(tmp_path / name, rows, delimiter))
    assert pairs == [(row[3], row[4]) for row in rows if row[5] == "1"]


def test_quora_split_sizes_and_seed(tmp_path):
    path = write_quora(tmp_path / "train.csv", quora_rows(30), ",")  # 20 duplicates
    tokenizer = SentenceTokenizer("moses", max_len=17)
    runs = []
    for run, seed in enumerate((7, 7, 8)):
        textdir = tmp_path / f"text{run}"
        raw.prepare_quora(path, str(textdir), raw.split_sizes(10, 3, 5), seed, tokenizer)
        runs.append({f: read(textdir / f) for f in sorted(os.listdir(textdir))})
    first = runs[0]
    assert {name: len(lines) for name, lines in first.items()} == {
        "test.src": 5, "test.tgt": 5, "train.src": 10, "train.tgt": 10, "valid.src": 3, "valid.tgt": 3,
    }
    assert runs[1] == first and runs[2] != first
    sources = first["train.src"] + first["valid.src"] + first["test.src"]
    assert len(set(sources)) == 18  # no pair in two splits
    assert first["train.src"][0].startswith("how do i learn skill ")
    assert all(line.startswith("what 's the way") for line in first["train.tgt"])


def test_quora_smaller_train_split_is_a_prefix(tmp_path):
    path = write_quora(tmp_path / "train.csv", quora_rows(30), ",")
    tokenizer = SentenceTokenizer("moses")
    for size in (10, 4):
        raw.prepare_quora(path, str(tmp_path / str(size)), raw.split_sizes(size, 3, 5), 1, tokenizer)
    assert read(tmp_path / "4" / "train.src") == read(tmp_path / "10" / "train.src")[:4]
    assert read(tmp_path / "4" / "test.src") == read(tmp_path / "10" / "test.src")


def test_quora_too_few_pairs(tmp_path):
    path = write_quora(tmp_path / "train.csv", quora_rows(30), ",")
    with pytest.raises(InputError, match=r"only 20 duplicate pairs, but the splits ask for 21"):
        raw.prepare_quora(path, str(tmp_path), raw.split_sizes(13, 3, 5), 1, SentenceTokenizer())


def test_quora_bad_label_and_missing_column(tmp_path):
    rows = quora_rows(5)
    rows[3][5] = "yes"
    with pytest.raises(InputError, match=r"train.csv:5: is_duplicate is 'yes'"):
        raw.read_quora_duplicates(write_quora(tmp_path / "train.csv", rows, ","))
    (tmp_path / "bad.csv").write_text("id,question1\n1,hello\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.csv:1: no column question2, is_duplicate"):
        raw.read_quora_duplicates(str(tmp_path / "bad.csv"))


def test_quora_unterminated_quote_is_named_where_it_opens(tmp_path):
    rows = quora_rows(6)
    path = write_quora(tmp_path / "quora_duplicate_questions.tsv", rows, "\t")
    lines = read(path)
    lines[3] = lines[3].replace("How do I", '"How do I')  # line 4: a quote that nothing closes
    (tmp_path / "quora_duplicate_questions.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"quora_duplicate_questions.tsv:4: a quote opened in this record is not "
                                         r"closed on its line \(the record runs on to line 7\)"):
        raw.read_quora_duplicates(path)


def coco_annotations(images, captions_per_image):
    annotations = []
    for image in range(images):
        count = captions_per_image if image % 4 else 4  # every 4th image has too few captions
        annotations += [{"image_id": image, "id": 100 * image + k, "caption": f"A dog number {image} runs, take {k}."}
                        for k in range(count)]
    return annotations


def test_coco_pairs_by_image_and_test_references(tmp_path):
    path = tmp_path / "captions_train2017.json"
    path.write_text(json.dumps({"annotations": coco_annotations(16, 6)}), encoding="utf-8")
    assert len(raw.read_coco_images([str(path)])) == 12  # 4 of 16 images have only 4 captions
    textdir = tmp_path / "text"
    raw.prepare_coco([str(path)], str(textdir), raw.split_sizes(16, 8, 8), 3, SentenceTokenizer(max_len=16))

    def image_of(line):
        return line.split()[3]  # "a dog number N runs ..."

    train_src, train_tgt = read(textdir / "train.src"), read(textdir / "train.tgt")
    assert len(train_src) == len(train_tgt) == 16 and len(set(train_src)) == 4
    sources_taken = set()
    for k in range(0, 16, 4):  # one of the first five captions is the source of the other four
        assert set(train_src[k:k + 4]) == {train_src[k]}
        takes = [train_src[k].split()[-2]] + [line.split()[-2] for line in train_tgt[k:k + 4]]
        assert sorted(takes) == ["0", "1", "2", "3", "4"] and takes[1:] == sorted(takes[1:])
        assert {image_of(line) for line in train_tgt[k:k + 4]} == {image_of(train_src[k])}
        sources_taken.add(takes[0])
    assert len(sources_taken) > 1  # drawn at random, not always the first caption
    test_src = read(textdir / "test.src")
    assert len(test_src) == 2  # 8 test pairs: 2 images with one source line and 4 references each
    references = [read(textdir / f"test.ref{k}") for k in range(4)]
    assert read(textdir / "test.tgt") == references[0]
    for i, source in enumerate(test_src):
        takes = [source.split()[-2]] + [ref[i].split()[-2] for ref in references]
        assert sorted(takes) == ["0", "1", "2", "3", "4"]
        assert {image_of(ref[i]) for ref in references} == {image_of(source)}
    # the same seed draws the same sources
    again = tmp_path / "again"
    raw.prepare_coco([str(path)], str(again), raw.split_sizes(16, 8, 8), 3, SentenceTokenizer(max_len=16))
    assert read(again / "train.src") == train_src and read(again / "test.src") == test_src
    images = [{image_of(line) for line in read(textdir / f"{split}.src")} for split in ("train", "valid", "test")]
    assert [len(s) for s in images] == [4, 2, 2]
    assert not (images[0] & images[1] or images[0] & images[2] or images[1] & images[2])


def test_coco_image_id_must_be_a_number_or_a_string(tmp_path):
    annotations = coco_annotations(4, 5)
    annotations[6]["image_id"] = [1]
    path = tmp_path / "captions.json"
    path.write_text(json.dumps({"annotations": annotations}), encoding="utf-8")
    with pytest.raises(InputError, match=r"captions.json: annotation 6: image_id \[1\] is not a number or a string"):
        raw.read_coco_images([str(path)])


def test_coco_sizes_must_be_whole_images(tmp_path):
    path = tmp_path / "captions.json"
    path.write_text(json.dumps({"annotations": coco_annotations(16, 5)}), encoding="utf-8")
    with pytest.raises(InputError, match="not a multiple of 4"):
        raw.prepare_coco([str(path)], str(tmp_path), raw.split_sizes(10, 4, 4), 1, SentenceTokenizer())
    with pytest.raises(InputError, match="only 12 images with at least 5 captions"):
        raw.prepare_coco([str(path)], str(tmp_path), raw.split_sizes(40, 4, 8), 1, SentenceTokenizer())


def test_tokenizer_lowercases_and_truncates():
    assert SentenceTokenizer("moses")("What's the U.S. GDP,  Mr. Smith?") == [
        "what", "'s", "the", "u.s.", "gdp", ",", "mr.", "smith", "?"]
    assert SentenceTokenizer("moses", max_len=3)("I don't know why") == ["i", "don", "'t"]
    # space: text already tokenized stays as it is ("n't" is not split again)
    assert SentenceTokenizer("space")("Do n't\tknow\u00a0Why ") == ["do", "n't", "know", "why"]


def test_folder_split_names_limits_and_empty_pairs(tmp_path):
    folder = tmp_path / "pairs"
    folder.mkdir()
    for name, count in (("train", 6), ("val", 3)):
        (folder / f"{name}.src").write_text("".join(f"Source {i} here\n" for i in range(count)), encoding="utf-8")
        targets = [f"target {i}" if i != 1 else "   " for i in range(count)]
        (folder / f"{name}.tgt").write_text("\n".join(targets) + "\n", encoding="utf-8")
    textdir = tmp_path / "text"
    assert main(["folder", "--input", str(folder), "--textdir", str(textdir), "--splits", "train,valid=val",
                 "--limit", "train=4", "--max-len", "2", "--tokenizer", "space"]) == 0
    assert read(textdir / "train.src") == ["source 0", "source 2", "source 3", "source 4"]
    assert read(textdir / "valid.tgt") == ["target 0", "target 2"]
    assert read_record(str(textdir)) == {"tokenizer": "space", "max_len": 2}


def test_folder_errors_name_file_and_line(tmp_path, capsys):
    folder = tmp_path / "pairs"
    folder.mkdir()
    (folder / "train.src").write_text("a\nb\nc\n", encoding="utf-8")
    (folder / "train.tgt").write_text("a\nb\n", encoding="utf-8")
    args = ["folder", "--input", str(folder), "--textdir", str(tmp_path / "text"), "--splits", "train"]
    assert main(args) == 1
    assert f"{folder / 'train.tgt'}:3: 2 lines, but {folder / 'train.src'} has 3" in capsys.readouterr().err
    (folder / "train.tgt").write_bytes(b"a\nb\nc \xff\n")
    assert main(args) == 1
    assert f"{folder / 'train.tgt'}:3: invalid UTF-8" in capsys.readouterr().err
    assert not (tmp_path / "text" / "train.src").exists()
    # a failure in a later split leaves no split written
    (folder / "train.tgt").write_text("a\nb\nc\n", encoding="utf-8")
    (folder / "valid.src").write_text("a\n", encoding="utf-8")
    assert main([*args[:-1], "train,valid"]) == 1
    assert f"{folder / 'valid.tgt'}: no such file" in capsys.readouterr().err
    assert not (tmp_path / "text").exists()
