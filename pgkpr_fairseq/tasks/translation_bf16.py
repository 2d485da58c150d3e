"""fairseq's translation task with the plugin's CPU bf16 option, so that a plain Transformer
baseline trains and decodes in the same precision as PGKPR (task `translation_bf16`)."""
from dataclasses import dataclass, field

from fairseq.tasks import register_task
from fairseq.tasks.translation import TranslationConfig, TranslationTask

from ..precision import cpu_autocast, require_cpu_bf16


@dataclass
class TranslationBF16Config(TranslationConfig):
    cpu_bf16: bool = field(
        default=False,
        metadata={"help": "run forward passes and losses (training, validation, generation) "
                  "under torch.autocast('cpu', bfloat16), with float32 weights and optimizer "
                  "state: for CPUs with AVX512-BF16 or AMX (refused elsewhere). fairseq's own "
                  "--bf16 is for TPUs, --amp for CUDA"},
    )


@register_task("translation_bf16", dataclass=TranslationBF16Config)
class TranslationBF16Task(TranslationTask):
    """TranslationTask whose steps run under CPU bf16 autocast with --cpu-bf16."""

    def __init__(self, cfg, src_dict, tgt_dict):
        super().__init__(cfg, src_dict, tgt_dict)
        if cfg.cpu_bf16:
            require_cpu_bf16("--cpu-bf16")

    def train_step(self, sample, model, criterion, optimizer, update_num, ignore_grad=False):
        if not self.cfg.cpu_bf16:
            return super().train_step(sample, model, criterion, optimizer, update_num, ignore_grad)
        # FairseqTask.train_step with the forward pass under autocast and the backward pass
        # outside it, as torch recommends.
        model.train()
        model.set_num_updates(update_num)
        with cpu_autocast(True):
            loss, sample_size, logging_output = criterion(model, sample)
        if ignore_grad:
            loss *= 0
        optimizer.backward(loss)
        return loss, sample_size, logging_output

    def valid_step(self, sample, model, criterion):
        with cpu_autocast(self.cfg.cpu_bf16):
            return super().valid_step(sample, model, criterion)

    def inference_step(self, generator, models, sample, prefix_tokens=None, constraints=None):
        with cpu_autocast(self.cfg.cpu_bf16):
            return super().inference_step(generator, models, sample, prefix_tokens, constraints)
