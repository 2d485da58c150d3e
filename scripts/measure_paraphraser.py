#!/usr/bin/env python
"""What the Python API's options do, on a validation split (issue 13): pinned keywords, diverse
paraphrases, and speed against fairseq-generate. Prints a markdown table.

  python scripts/measure_paraphraser.py pinning   --model CKPT_DIR --text TEXT_DIR [--split val]
  python scripts/measure_paraphraser.py diversity --model CKPT_DIR --text TEXT_DIR [--n 5]
  python scripts/measure_paraphraser.py speed     --model CKPT_DIR --text TEXT_DIR --gen-subset valid

TEXT_DIR holds SPLIT.src and SPLIT.tgt (one sentence per line, e.g. ../shared/data/quora with
--split val, or a prepare.sh WORKDIR/text). The data-bin and the stage-one classifier are found as
`Paraphraser.from_pretrained` finds them (or --data, --keyword-model).

- pinning: one content word per sentence (a noun, verb, adjective or adverb that is not a stop word,
  drawn with --seed), decoded with no pinning, soft pinning (keep) and soft + hard constraints:
  how often the word is in the output (of all words, and of the words in the model's vocabulary,
  the only ones it can write), BLEU-4, self-BLEU, iBLEU and sentences/s.
- diversity: n outputs per sentence from beam search's n best, diverse beam search (n groups),
  top-p sampling and keyword resampling (diverse=True): mean pairwise BLEU-4 among each
  sentence's outputs (lower is more diverse; fewer than n distinct outputs count as the best one
  repeated), distinct outputs, oracle BLEU-4 (per sentence the output closest to the reference),
  and BLEU-4, iBLEU of the top-ranked output.
- speed: fairseq-generate on the data-bin's --gen-subset and the API on the same sentences (the
  text split of that subset), same beam and batch size, in turn (--runs); the API's time split
  into tokenization, POS tagging, stage one and the rest (TS_s and beam search).
"""
import argparse
import itertools
import os
import random
import statistics
import subprocess
import sys
import time

import torch
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu
from spacy.lang.en.stop_words import STOP_WORDS

import pgkpr_fairseq
from pgkpr_fairseq import Paraphraser, scoring
from pgkpr_fairseq.experiment.fairseq_runs import parse_generate_log
from pgkpr_fairseq.preprocessing.pos import tag_sentences
from pgkpr_fairseq.textio import read_lines

CONTENT_TAG_PREFIXES = ("NN", "VB", "JJ", "RB")


def load(args) -> Paraphraser:
    return Paraphraser.from_pretrained(args.model, args.checkpoint, data=args.data,
                                       keyword_model=args.keyword_model)


def read_split(args):
    sources = read_lines(os.path.join(args.text, f"{args.split}.src"))[: args.limit]
    references = read_lines(os.path.join(args.text, f"{args.split}.tgt"))[: args.limit]
    return sources, references


def timed(call):
    start = time.perf_counter()
    result = call()
    return result, time.perf_counter() - start


def bleu4(hypotheses, references):
    """Corpus BLEU-4 (x100) of tokenized lines against one reference line each."""
    return scoring.corpus_bleu_x100([scoring.tokenize(h) for h in hypotheses],
                                    [[scoring.tokenize(r)] for r in references], scoring.BLEU_WEIGHTS["bleu4"])


def markdown_row(cells) -> str:
    return "| " + " | ".join(cells) + " |"


def report_row(row) -> None:
    """A finished row on standard error at once: the table comes at the end, the rows as they come."""
    print(markdown_row(row), file=sys.stderr, flush=True)


def table(header, rows):
    lines = [markdown_row(header), "|" + "---|" + "---:|" * (len(header) - 1)]
    lines += [markdown_row(row) for row in rows]
    return "\n".join(lines)


def measure_pinning(args):
    paraphraser = load(args)
    sources, references = read_split(args)
    rng = random.Random(args.seed)
    chosen = []
    for source in paraphraser.prepare(sources):
        content = [word for word, tag in zip(source.words, source.tags)
                   if tag.startswith(CONTENT_TAG_PREFIXES) and word.isalpha() and word not in STOP_WORDS]
        chosen.append(rng.choice(content) if content else None)
    kept = [i for i, word in enumerate(chosen) if word]
    sources, references = [sources[i] for i in kept], [references[i] for i in kept]
    words = [chosen[i] for i in kept]
    print(f"{len(kept)} of {len(chosen)} sentences have a content word", file=sys.stderr)
    # A word outside the model's vocabulary can never be output: the ceiling of any pinning.
    dictionary = paraphraser.src_dict
    writable = [all(dictionary.index(piece) != dictionary.unk() for piece in paraphraser.segment([w])[0])
                for w in words]
    print(f"{sum(writable)} of the {len(words)} words are in the model's vocabulary", file=sys.stderr)
    rows = []
    for name, options in (("no pinning", {}), ("soft pinning (keep)", {"keep": [[w] for w in words]}),
                          ("soft + hard constraints", {"keep": [[w] for w in words], "hard_constraints": True})):
        results, seconds = timed(lambda: paraphraser.paraphrase(sources, beam=args.beam,
                                                                 batch_size=args.batch_size, **options))
        outputs = [paraphrases[0].tokens if paraphrases else "" for paraphrases in results]
        found = [word in output.split() for word, output in zip(words, outputs)]
        # Whether the word was a keyword of the TS_s the output came from, and how often it was
        # kept as one and as not one: does the model treat TS_s's first part as words to keep?
        keyword = [bool(paraphrases) and word in paraphrases[0].keywords
                   for word, paraphrases in zip(words, results)]
        metrics = scoring.score(outputs, sources, [references])
        rows.append([name, percent(found), percent([f for f, w in zip(found, writable) if w]),
                     percent(keyword),
                     percent([f for f, k in zip(found, keyword) if k]),
                     percent([f for f, k in zip(found, keyword) if not k]),
                     f"{metrics['bleu4']:.2f}", f"{metrics['self_bleu']:.2f}", f"{metrics['ibleu']:.2f}",
                     f"{len(sources) / seconds:.1f}"])
        report_row(rows[-1])
    print(table(["decoding", "word kept %", "kept % of words in the vocabulary", "word a keyword %", "kept % as a keyword",
                 "kept % as not one", "BLEU-4", "self-BLEU", "iBLEU", "sentences/s"], rows))


def percent(flags) -> str:
    return f"{100 * sum(flags) / len(flags):.1f}" if flags else "n/a"


def pairwise_bleu(outputs_per_sentence):
    """Corpus BLEU-4 over every ordered pair of distinct positions among each sentence's outputs."""
    hypotheses, references = [], []
    for outputs in outputs_per_sentence:
        for a, b in itertools.permutations(range(len(outputs)), 2):
            hypotheses.append(outputs[a])
            references.append(outputs[b])
    return bleu4(hypotheses, references)


def oracle(outputs, reference):
    """The output closest to the reference by smoothed sentence BLEU-4."""
    smoothing = SmoothingFunction().method1
    return max(outputs, key=lambda output: sentence_bleu(
        [scoring.tokenize(reference)], scoring.tokenize(output), smoothing_function=smoothing))


def measure_diversity(args):
    paraphraser = load(args)
    sources, references = read_split(args)
    n = args.n
    systems = (
        (f"beam search, {n} best", dict(n=n, beam=max(args.beam, n))),
        (f"diverse beam search ({n} groups)", dict(n=n, beam=n, diverse_beam_groups=n,
                                                   diverse_beam_strength=args.diverse_beam_strength)),
        (f"sampling, top-p {args.top_p}", dict(n=n, beam=n, sampling=True, sampling_topp=args.top_p)),
        (f"keyword resampling (diverse=True, {n} draws)", dict(n=n, beam=args.beam, diverse=True)),
    )
    rows = []
    for name, options in systems:
        torch.manual_seed(args.seed)  # sampling
        results, seconds = timed(lambda: paraphraser.paraphrase(sources, batch_size=args.batch_size, **options))
        outputs = [[p.tokens for p in paraphrases] or [""] for paraphrases in results]
        # Fewer than n distinct outputs (keyword draws that agree) count as the best one repeated:
        # duplicates are no diversity.
        outputs = [found + found[:1] * (n - len(found)) for found in outputs]
        top = [found[0] for found in outputs]
        metrics = scoring.score(top, sources, [references])
        oracle_bleu = bleu4([oracle(found, ref) for found, ref in zip(outputs, references)], references)
        distinct = statistics.mean(len(set(found)) for found in outputs)
        rows.append([name, f"{pairwise_bleu(outputs):.2f}", f"{distinct:.2f}", f"{oracle_bleu:.2f}",
                     f"{metrics['bleu4']:.2f}", f"{metrics['ibleu']:.2f}", f"{len(sources) / seconds:.1f}"])
        report_row(rows[-1])
    print(table(["system", "pairwise BLEU-4", "distinct", "oracle BLEU-4", "top-1 BLEU-4", "top-1 iBLEU",
                 "sentences/s"], rows))


def generate_speed(args, data_bin) -> float:
    command = ["fairseq-generate", data_bin, "--user-dir", os.path.dirname(pgkpr_fairseq.__file__),
               "--task", "pgkpr", "--path", os.path.join(args.model, args.checkpoint), "--cpu",
               "--gen-subset", args.gen_subset, "--beam", str(args.beam), "--batch-size", str(args.batch_size),
               "--num-workers", "0"]
    result = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        sys.exit(f"fairseq-generate failed:\n{result.stderr[-2000:]}")
    return parse_generate_log(result.stderr, "fairseq-generate")["sentences_per_second"]


def measure_speed(args):
    if args.limit:
        sys.exit("speed decodes the whole --gen-subset (as fairseq-generate does): no --limit")
    paraphraser = load(args)
    args.split = args.split or args.gen_subset
    sources, _ = read_split(args)
    annotator = paraphraser.task.annotator()
    generate, api, parts = [], [], {"tokenization": [], "POS tagging": [], "stage one": []}
    for run in range(args.runs):
        generate.append(generate_speed(args, paraphraser.cfg.task.data))
        _, seconds = timed(lambda: paraphraser.paraphrase(sources, beam=args.beam, batch_size=args.batch_size))
        api.append(len(sources) / seconds)
        words, parts_seconds = timed(lambda: [paraphraser.sentence_tokenizer(s) for s in sources])
        parts["tokenization"].append(parts_seconds)
        parts["POS tagging"].append(timed(lambda: tag_sentences(annotator.nlp, words, desc=None))[1])
        parts["stage one"].append(timed(lambda: annotator.scorer.score([" ".join(w) for w in words]))[1])
        print(f"run {run + 1}/{args.runs}: fairseq-generate {generate[-1]:.1f}, API {api[-1]:.1f} sentences/s",
              file=sys.stderr)
    api_seconds = len(sources) / statistics.median(api)
    annotation = {name: statistics.median(values) for name, values in parts.items()}
    rows = [["fairseq-generate (data-bin, annotated in advance)", f"{statistics.median(generate):.1f}", "", ""],
            ["Paraphraser.paraphrase (raw text)", f"{statistics.median(api):.1f}", f"{api_seconds:.2f}", "100"]]
    for name, seconds in annotation.items():
        rows.append([f"  of which {name}", "", f"{seconds:.2f}", f"{100 * seconds / api_seconds:.0f}"])
    rest = api_seconds - sum(annotation.values())
    rows.append(["  of which TS_s and beam search", "", f"{rest:.2f}", f"{100 * rest / api_seconds:.0f}"])
    print(table(["", "sentences/s (median)", "seconds", "% of the API's time"], rows))
    ratios = [a / g for a, g in zip(api, generate)]  # per run: a busy neighbour slows both alike
    print(f"\nAPI / fairseq-generate: {statistics.median(ratios):.2f}x, median of the per-run ratios "
          f"{', '.join(f'{r:.2f}' for r in ratios)} "
          f"({len(sources)} sentences, beam {args.beam}, batch {args.batch_size}, {args.runs} runs, "
          f"{torch.get_num_threads()} threads)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("measurement", choices=("pinning", "diversity", "speed"))
    parser.add_argument("--model", required=True, help="checkpoint folder")
    parser.add_argument("--checkpoint", default="checkpoint_best.pt")
    parser.add_argument("--data", help="data-bin (default: found from the checkpoint)")
    parser.add_argument("--keyword-model", help="stage-one folder (default: the data-bin's record)")
    parser.add_argument("--text", required=True, help="folder of SPLIT.src and SPLIT.tgt")
    parser.add_argument("--split", help="split name in --text (default val; speed: --gen-subset)")
    parser.add_argument("--limit", type=int, help="pinning, diversity: the first N sentences only")
    parser.add_argument("--beam", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=1, help="seed of the word choice and of sampling")
    parser.add_argument("--n", type=int, default=5, help="diversity: outputs per sentence [5]")
    parser.add_argument("--top-p", type=float, default=0.9, help="diversity: sampling's top-p [0.9]")
    parser.add_argument("--diverse-beam-strength", type=float, default=0.5)
    parser.add_argument("--gen-subset", default="valid", help="speed: the data-bin split to decode [valid]")
    parser.add_argument("--runs", type=int, default=3, help="speed: runs of each [3]")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
        os.environ["OMP_NUM_THREADS"] = str(args.threads)  # fairseq-generate's too
    if args.measurement != "speed":
        args.split = args.split or "val"
    {"pinning": measure_pinning, "diversity": measure_diversity, "speed": measure_speed}[args.measurement](args)


if __name__ == "__main__":
    main()
