"""The embedded default: everything `make run` starts on one machine with no AWS account."""
