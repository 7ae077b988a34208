import gc
import sys

# A short-lived process: skip the cyclic GC's scans while the providers' large type modules load
# (see run_plan); the process exits right after.
gc.disable()

from hubctl.cli import main  # noqa: E402

sys.exit(main())
