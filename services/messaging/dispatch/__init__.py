"""Sending: the dispatcher and its parts (dispatch.dispatcher lists them)."""
