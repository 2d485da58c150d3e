"""A test-only fairseq plugin (`--user-dir tests/pgkpr_draw_recorder`): everything of pgkpr_fairseq,
plus the criterion `pgkpr_recording`, which appends the encoder input of every training step to
the JSON-lines file named by $PGKPR_RECORD: one line [example id, TS_s token ids] per example."""
import json
import os

from fairseq.criterions import register_criterion

from pgkpr_fairseq.criterions.pgkpr import PGKPRCriterion, PGKPRCriterionConfig


@register_criterion("pgkpr_recording", dataclass=PGKPRCriterionConfig)
class RecordingCriterion(PGKPRCriterion):
    def forward(self, model, sample, reduce=True):
        if model.training:
            with open(os.environ["PGKPR_RECORD"], "a", encoding="utf-8") as record:
                for index, tokens in zip(sample["id"].tolist(),
                                         sample["net_input"]["src_tokens"].tolist()):
                    unpadded = [token for token in tokens if token != self.padding_idx]
                    record.write(json.dumps([index, unpadded]) + "\n")
        return super().forward(model, sample, reduce)
