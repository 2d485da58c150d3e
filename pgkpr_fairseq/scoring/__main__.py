"""`python -m pgkpr_fairseq.scoring`, the same as `pgkpr-score`."""
import sys

from .cli import main

sys.exit(main())
