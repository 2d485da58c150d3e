"""`python -m pgkpr_fairseq.experiment`, the same as `pgkpr-experiment`."""
import sys

from .cli import main

sys.exit(main())
