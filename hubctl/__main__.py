import sys

from hubctl.cli import main

sys.exit(main())
