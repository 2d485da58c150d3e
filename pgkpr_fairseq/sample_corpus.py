"""A small synthetic paraphrase corpus, for the smoke demo and the tests (no real data involved).

Question pairs are built from templates whose slots take synonyms, so source and target share key
content words (a topic, an action) while their wording differs: enough structure for a model to
learn something in minutes on a CPU. It is a smoke test of the pipeline, not a benchmark.
"""
import os
import random
from typing import List, Tuple

ACTIONS = [
    ("lose weight", "get rid of extra weight"), ("learn python", "study the python language"),
    ("improve my english", "get better at english"), ("save money", "keep more of my money"),
    ("sleep better", "get better sleep"), ("find a job", "get hired"),
    ("start a business", "open my own company"), ("write a novel", "write a book"),
    ("play the guitar", "learn guitar"), ("cook rice", "make rice"),
    ("fix my laptop", "repair my laptop"), ("run faster", "increase my running speed"),
]
ADJECTIVES = [("good", "great"), ("best", "most effective"), ("easy", "simple"), ("quick", "fast")]
NOUNS = [("ways", "methods"), ("tips", "tricks"), ("books", "resources"), ("exercises", "workouts")]
TEMPLATES = [
    ("what are {adj} {noun} to {act} ?", "what are some {adj2} {noun2} to {act2} ?"),
    ("how can i {act} ?", "what is the {adj2} way to {act2} ?"),
    ("how do i {act} quickly ?", "how can i {act2} fast ?"),
    ("what should i do to {act} ?", "how should i {act2} ?"),
    ("is it hard to {act} ?", "how difficult is it to {act2} ?"),
    ("which {noun} help you {act} ?", "what {noun2} can help me {act2} ?"),
]


def make_pairs(count: int, seed: int) -> List[Tuple[str, str]]:
    """`count` (source, target) pairs of lowercased, space-tokenized questions."""
    rng = random.Random(seed)
    pairs = []
    for _ in range(count):
        template = rng.choice(TEMPLATES)
        act, act2 = rng.choice(ACTIONS)
        adj, adj2 = rng.choice(ADJECTIVES)
        noun, noun2 = rng.choice(NOUNS)
        slots = dict(act=act, act2=act2, adj=adj, adj2=adj2, noun=noun, noun2=noun2)
        source, target = (side.format(**slots) for side in template)
        pairs.append((target, source) if rng.random() < 0.5 else (source, target))
    return pairs


def write_corpus(folder: str, sizes=(("train", 2000), ("valid", 100), ("test", 50)), seed: int = 1):
    """Write SPLIT.src / SPLIT.tgt files into `folder` (created if missing)."""
    os.makedirs(folder, exist_ok=True)
    for offset, (split, count) in enumerate(sizes):
        pairs = make_pairs(count, seed * 1000 + offset)
        for side, column in (("src", 0), ("tgt", 1)):
            with open(os.path.join(folder, f"{split}.{side}"), "w", encoding="utf-8") as out:
                out.writelines(pair[column] + "\n" for pair in pairs)
