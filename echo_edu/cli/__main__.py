"""``python -m echo_edu.cli ...`` (what ``torchrun -m echo_edu.cli train ...`` runs)."""

import sys

from . import main

sys.exit(main())
