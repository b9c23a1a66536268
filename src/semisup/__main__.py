import sys

from semisup.cli import main

sys.exit(main())
