"""`make bench`: throughput and latency of the platform's paths, each beside a baseline measured in the same
run on the same machine, so the ratios mean something whatever the machine."""
