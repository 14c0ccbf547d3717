"""A process that fails while starting, as a broken service would: for the stack's early-exit test."""

import sys

print("exits_at_start: cannot open its store", flush=True)
sys.exit(3)
