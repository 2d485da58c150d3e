"""The settings of the runs, each declared once: its help, its fairseq options, the tasks it applies to.

pgkpr-experiment's options, the cache keys and the fairseq commands are all derived from the
dataclasses below, as fairseq derives its parsers from its config dataclasses, so that no setting
can reach a fairseq command without reaching the cache key: a model reused under settings it was not
trained with would corrupt a comparison without any error.

Adding a setting is one field: in TrainingSettings when it changes the trained model (it joins the
model's cache key for the tasks it applies to), in DecodingSettings when it changes a decoding (the
decoding's key), in MachineSettings when it changes only the speed (no key). The runner's option is
`--<field name>`, the recipes' environment variable the field name in capitals (unless `variables`
says otherwise), and fairseq's option the runner's (unless `fairseq` says otherwise). A new field
changes the keys of the tasks it applies to, so their rows cached before it are computed again,
unless its `unkeyed` value (what those runs did) is left out of the key.
"""
import argparse
import shlex
from dataclasses import Field, dataclass, field, fields
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

TRANSLATION_TASK, PGKPR_TASK = "translation", "pgkpr"
EVERY_TASK = (TRANSLATION_TASK, PGKPR_TASK)
TRAIN, GENERATE = "fairseq-train", "fairseq-generate"

# The groups of pgkpr-experiment --help.
MODEL = "model (the same for every system; the paper's sizes by default)"
LOSSES = "losses"
BUDGET = "optimization and budget (the same for every system)"
DECODING = "decoding (the same for every system)"
MACHINE = "machine (not part of the cache key)"

# A setting's value -> its options in a fairseq command.
FairseqOptions = Callable[[Any], List[str]]


def given_to(*options: str) -> FairseqOptions:
    """The value given to each of these fairseq options."""
    return lambda value: [part for option in options for part in (option, str(value))]


def switch(option: str, when: Any) -> FairseqOptions:
    """A fairseq option without a value, given when the setting's value is `when`."""
    return lambda value: [option] if value == when else []


def further_options(value: str) -> List[str]:
    """Options written as one string, split as a shell would."""
    return shlex.split(value)


def setting(default, help_text: str, group: str, tools: Tuple[str, ...], *,
            fairseq: Optional[FairseqOptions] = None, tasks: Tuple[str, ...] = EVERY_TASK,
            choices: Optional[Sequence[str]] = None, variables: Tuple[str, ...] = (),
            unkeyed: Any = None) -> Field:
    """A field of a settings dataclass (fairseq's `metadata={"help": ...}` convention).

    Args:
        help_text: pgkpr-experiment's help, without the default (added when there is one).
        group: its group in pgkpr-experiment --help.
        tools: the fairseq commands given its options.
        fairseq: its fairseq options for a value [the same-named option with the value].
        tasks: the tasks whose runs (and cache keys) it applies to.
        choices: its allowed values.
        variables: the recipes' environment variables that set it, the first one set wins
            [its name in capitals].
        unkeyed: a value left out of the cache key: what the runs did before the setting existed.
    """
    return field(default=default, metadata=dict(help=help_text, group=group, tools=tools,
                                                fairseq=fairseq, tasks=tasks, choices=choices,
                                                variables=variables, unkeyed=unkeyed))


def training(default, help_text: str, group: str, tools: Tuple[str, ...] = (TRAIN,),
             **options) -> Field:
    """A field of TrainingSettings: given to fairseq-train (and to the `tools` named)."""
    return setting(default, help_text, group, tools, **options)


def decoding(default, help_text: str, tools: Tuple[str, ...] = (GENERATE,), **options) -> Field:
    """A field of DecodingSettings: given to fairseq-generate, or with no `tools` a scoring setting
    (it keys the copy floor's row too)."""
    return setting(default, help_text, DECODING, tools, **options)


def machine(default, help_text: str, tools: Tuple[str, ...], **options) -> Field:
    """A field of MachineSettings, given to the `tools` named."""
    return setting(default, help_text, MACHINE, tools, **options)


@dataclass(frozen=True)
class TrainingSettings:
    """Everything that changes a trained model besides its task and data: its cache key."""

    encoder_layers: int = training(6, "encoder layers", MODEL,
                                   variables=("ENCODER_LAYERS", "LAYERS"))
    decoder_layers: int = training(6, "decoder layers", MODEL,
                                   variables=("DECODER_LAYERS", "LAYERS"))
    embed_dim: int = training(512, "model width", MODEL,
                              fairseq=given_to("--encoder-embed-dim", "--decoder-embed-dim"))
    ffn_dim: int = training(2048, "feed-forward width", MODEL,
                            fairseq=given_to("--encoder-ffn-embed-dim", "--decoder-ffn-embed-dim"))
    heads: int = training(8, "attention heads", MODEL,
                          fairseq=given_to("--encoder-attention-heads", "--decoder-attention-heads"))
    dropout: float = training(0.1, "dropout", MODEL)
    rec_weight: float = training(1.0, "lambda1 of PGKPR (reconstruction)", LOSSES, tasks=(PGKPR_TASK,))
    rec_softmax: str = training(
        "vocabulary", "the softmax of eq. 2 at the positions whose target is a POS tag: over the "
                      "whole dictionary (eq. 2), or over the tags (fairseq's --rec-tag-softmax; "
                      "half the head's output projection)", LOSSES,
        tasks=(PGKPR_TASK,), choices=("vocabulary", "tags"),
        fairseq=switch("--rec-tag-softmax", when="tags"), unkeyed="vocabulary")
    con_weight: float = training(0.1, "lambda2 of PGKPR (contrastive): the paper's 0.1 on Quora, 1 "
                                      "on MSCOCO", LOSSES, tasks=(PGKPR_TASK,))
    con_temperature: float = training(0.1, "tau of the contrastive loss", LOSSES, tasks=(PGKPR_TASK,))
    con_similarity: str = training("cosine", "similarity of the contrastive loss: cosine (the "
                                             "authors'), or the raw dot product", LOSSES,
                                   tasks=(PGKPR_TASK,), choices=("cosine", "dot"))
    con_same_source_targets: str = training(
        "negatives", "the targets of other pairs with the same source in eq. 3: negatives (the "
                     "paper's neg not in {s_i, t_i}) or masked (fairseq's "
                     "--con-mask-same-source-targets; MSCOCO's other captions of an image)", LOSSES,
        tasks=(PGKPR_TASK,), choices=("negatives", "masked"),
        fairseq=switch("--con-mask-same-source-targets", when="masked"))
    con_counterparts: str = training(
        "trained", "counterparts of the contrastive loss encoded with gradients (as eq. 3 reads) or "
                   "without (fairseq's --con-detach-counterparts)", LOSSES,
        tasks=(PGKPR_TASK,), choices=("trained", "detached"),
        fairseq=switch("--con-detach-counterparts", when="detached"))
    con_candidates: str = training(
        "sources_and_targets", "the candidates of eq. 3: the batch's sources and targets (the "
                               "paper's neg), or its targets only (the authors' code; half of "
                               "L_con's encoder passes)", LOSSES,
        tasks=(PGKPR_TASK,), choices=("sources_and_targets", "targets"),
        unkeyed="sources_and_targets")
    label_smoothing: float = training(0.1, "label smoothing of the generation loss, every system",
                                      LOSSES)
    train_keyword_prob_stream: str = training(
        "kwprob_ref", "PGKPR's keyword probabilities on the training split: kwprob_ref, stage one "
                      "on (s [SEP] t) (the paper); kwprob, on (s [SEP] s); both, one per example "
                      "and epoch (the authors' code)", LOSSES, tasks=(PGKPR_TASK,),
        choices=("kwprob_ref", "kwprob", "kwprob,kwprob_ref"))
    two_part_positions: str = training(
        "sequential", "PGKPR's encoder positions of TS_s: sequential, or aligned (both halves "
                      "numbered from the start)", MODEL, tasks=(PGKPR_TASK,),
        choices=("sequential", "aligned"))
    segment_embeddings: str = training(
        "off", "PGKPR: a learned embedding of TS_s's half (fairseq's --segment-embeddings)", MODEL,
        tasks=(PGKPR_TASK,), choices=("off", "on"), fairseq=switch("--segment-embeddings", when="on"))
    precision: str = training(
        "float32", "training, validation and generation in float32 or bf16 (the plugin's "
                   "--cpu-bf16: CPUs with AVX512-BF16 or AMX; the Transformer trains with the "
                   "task translation_bf16 then)", BUDGET, (TRAIN, GENERATE),
        choices=("float32", "bf16"), fairseq=switch("--cpu-bf16", when="bf16"), unkeyed="float32")
    # Validation draws keywords as decoding does, so these change the model (early stopping) too.
    inference_keywords: str = training("sample", "PGKPR's keyword selection on valid and test",
                                       LOSSES, (TRAIN, GENERATE), tasks=(PGKPR_TASK,),
                                       choices=("sample", "threshold"))
    keyword_threshold: float = training(0.5, "threshold of --inference-keywords threshold", LOSSES,
                                        (TRAIN, GENERATE), tasks=(PGKPR_TASK,))
    lr: float = training(1e-4, "Adam learning rate", BUDGET)
    lr_scheduler: str = training("fixed", "learning-rate schedule (fixed: constant, as the authors)",
                                 BUDGET, choices=("fixed", "inverse_sqrt"))
    warmup_updates: int = training(0, "linear warm-up updates", BUDGET)
    clip_norm: float = training(0.0, "gradient norm clipping, 0 for none", BUDGET)
    batch_size: int = training(128, "sentences per batch", BUDGET)
    max_epoch: int = training(35, "epochs at most (the authors' 35 on Quora)", BUDGET)
    max_update: int = training(0, "updates at most, 0 for no limit", BUDGET)
    patience: int = training(5, "stop after this many validations without a better valid nll_loss",
                             BUDGET)
    # TRAIN_SEED: prepare.sh's SEED draws the Quora / COCO split.
    seed: int = training(1, "training seed", BUDGET, variables=("TRAIN_SEED",))
    # Last: fairseq keeps an option's last value, so these override every option above.
    train_args: str = training("", "further fairseq-train options for every system, one string",
                               BUDGET, fairseq=further_options)


@dataclass(frozen=True)
class DecodingSettings:
    """Everything that changes a decoding besides the model, its keyword stream and the split."""

    beam: int = decoding(5, "beam size")
    lenpen: float = decoding(1.0, "length penalty")
    # An absolute length cap (fairseq-generate gets --max-len-a 0): PGKPR's source is 2l+1 long,
    # the Transformer's l.
    max_len: int = decoding(200, "generated tokens at most (absolute: fairseq's --max-len-b with "
                                 "--max-len-a 0)", fairseq=given_to("--max-len-b"),
                            variables=("GEN_MAX_LEN",))
    gen_batch_size: int = decoding(128, "sentences per generation batch",
                                   fairseq=given_to("--batch-size"))
    score_units: str = decoding(
        "lines", "what one scored item is: each line of the split with its reference(s), or each run "
        "of consecutive identical sources with the run's references and its first line's hypothesis "
        "(MSCOCO's valid, one pair per reference, scored as its test split is)", tools=(),
        choices=("lines", "sources"), unkeyed="lines")
    # Last: fairseq keeps an option's last value, so these override every option above.
    generate_args: str = decoding("", "further fairseq-generate options for every system, one string",
                                  fairseq=further_options)


@dataclass(frozen=True)
class MachineSettings:
    """How fast the runs go, not what they compute: part of no cache key."""

    threads: int = machine(0, "OMP_NUM_THREADS / MKL_NUM_THREADS of the fairseq runs, 0 for "
                              "torch's default", tools=())
    num_workers: int = machine(0, "fairseq data-loading worker processes; 0 loads (and perturbs) in "
                                  "the training process, so time per update includes it",
                               tools=(TRAIN, GENERATE))
    log_interval: int = machine(20, "updates per fairseq log line (the speeds are medians over them)",
                                tools=(TRAIN,))


SETTINGS = (TrainingSettings, DecodingSettings, MachineSettings)


def option_name(setting_field: Field) -> str:
    """pgkpr-experiment's option of a setting: --embed-dim for embed_dim."""
    return "--" + setting_field.name.replace("_", "-")


def default_variable(option: str) -> str:
    """The recipes' environment variable of an option: EMBED_DIM for --embed-dim."""
    return option[2:].replace("-", "_").upper()


def recipe_variables(setting_field: Field) -> Tuple[str, ...]:
    return setting_field.metadata["variables"] or (default_variable(option_name(setting_field)),)


def fairseq_options_of(setting_field: Field, value: Any) -> List[str]:
    """A setting's options in a fairseq command for the given value."""
    render = setting_field.metadata["fairseq"] or given_to(option_name(setting_field))
    return render(value)


def add_arguments(parser: argparse.ArgumentParser, settings_class) -> Dict[str, Any]:
    """One option per field, in the field's group; returns the groups by title."""
    groups = {}
    for setting_field in fields(settings_class):
        title = setting_field.metadata["group"]
        if title not in groups:
            groups[title] = parser.add_argument_group(title)
        shown_default = "" if setting_field.default == "" else " [%(default)s]"
        choices = setting_field.metadata["choices"]
        groups[title].add_argument(
            option_name(setting_field), type=setting_field.type, default=setting_field.default,
            choices=choices,
            # argparse joins choices with commas, which would hide that "kwprob,kwprob_ref" is one
            metavar="{%s}" % " | ".join(choices) if choices else None,
            help=setting_field.metadata["help"] + shown_default)
    return groups


def settings_from(settings_class, args: argparse.Namespace):
    """The settings of a parsed command line."""
    return settings_class(**{setting_field.name: getattr(args, setting_field.name)
                             for setting_field in fields(settings_class)})


def cache_key(settings, task: str) -> dict:
    """The settings that apply to runs of `task`, by name: their part of a cache key. A setting at
    its `unkeyed` value is left out, so that adding a setting whose value reproduces what the runs
    did before it keeps their caches."""
    return {setting_field.name: getattr(settings, setting_field.name)
            for setting_field in fields(settings) if task in setting_field.metadata["tasks"]
            and getattr(settings, setting_field.name) != setting_field.metadata["unkeyed"]}


def fairseq_options(settings, tool: str, task: str) -> List[str]:
    """The options of the settings that apply to `tool` running `task`, in field order."""
    return [option for setting_field in fields(settings)
            if tool in setting_field.metadata["tools"] and task in setting_field.metadata["tasks"]
            for option in fairseq_options_of(setting_field, getattr(settings, setting_field.name))]
