import sys

from spar_hf.cli import main

sys.exit(main())
