"""The rows of the paper's Tables 2-3: how each row's model is trained and decoded."""
from dataclasses import dataclass, field, replace
from typing import Any, Dict, Mapping, Optional

from ..scoring import COPY_SOURCE_NAME
from .settings import PGKPR_TASK, TRANSLATION_TASK, TrainingSettings

TRANSFORMER = "Transformer"
PGKPR = "PGKPR"
PGKPR_REF = "PGKPR-ref"


@dataclass(frozen=True)
class System:
    """One row of the table: its task, the training settings it sets itself (an ablation's zero
    weight) and the keyword stream it decodes with."""

    name: str
    task: Optional[str]  # "translation", "pgkpr", or None for the copy floor
    overrides: Mapping[str, Any] = field(default_factory=dict)
    keyword_stream: str = "kwprob"

    def training_settings(self, settings: TrainingSettings) -> TrainingSettings:
        """The run's settings with this row's own."""
        return replace(settings, **self.overrides)


def make_systems() -> Dict[str, System]:
    """The systems of the paper's Tables 2-3, in table order."""
    systems = [
        System(TRANSFORMER, TRANSLATION_TASK),
        System(PGKPR, PGKPR_TASK),
        System("PGKPR w/o L_con", PGKPR_TASK, {"con_weight": 0.0}),
        System("PGKPR w/o L_rec", PGKPR_TASK, {"rec_weight": 0.0}),
        System("PGKPR w/o L_con and L_rec", PGKPR_TASK, {"rec_weight": 0.0, "con_weight": 0.0}),
        System(PGKPR_REF, PGKPR_TASK, keyword_stream="kwprob_ref"),
        System(COPY_SOURCE_NAME, None),
    ]
    return {system.name: system for system in systems}


SYSTEM_NAMES = tuple(make_systems())
QUICK_SYSTEMS = (TRANSFORMER, PGKPR, COPY_SOURCE_NAME)
