"""The rows of the paper's Tables 2-3: how each row's model is trained and decoded."""
from dataclasses import dataclass
from typing import Dict, Optional

from ..scoring import COPY_SOURCE_NAME

TRANSFORMER = "Transformer"
PGKPR = "PGKPR"
PGKPR_REF = "PGKPR-ref"


@dataclass(frozen=True)
class System:
    """One row of the table: how its model is trained and which keyword stream it decodes with."""

    name: str
    task: Optional[str]  # "translation", "pgkpr", or None for the copy floor
    rec_weight: float = 0.0
    con_weight: float = 0.0
    keyword_stream: str = "kwprob"


def make_systems(rec_weight: float, con_weight: float) -> Dict[str, System]:
    """The systems of the paper's Tables 2-3, in table order, with lambda1 / lambda2 of PGKPR."""
    systems = [
        System(TRANSFORMER, "translation"),
        System(PGKPR, "pgkpr", rec_weight, con_weight),
        System("PGKPR w/o L_con", "pgkpr", rec_weight, 0.0),
        System("PGKPR w/o L_rec", "pgkpr", 0.0, con_weight),
        System("PGKPR w/o L_con and L_rec", "pgkpr", 0.0, 0.0),
        System(PGKPR_REF, "pgkpr", rec_weight, con_weight, keyword_stream="kwprob_ref"),
        System(COPY_SOURCE_NAME, None),
    ]
    return {system.name: system for system in systems}


SYSTEM_NAMES = tuple(make_systems(1.0, 0.1))
QUICK_SYSTEMS = (TRANSFORMER, PGKPR, COPY_SOURCE_NAME)
