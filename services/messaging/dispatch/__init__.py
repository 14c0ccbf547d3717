"""Sending, the use case that runs in the background: the dispatcher and its parts (dispatch.dispatcher lists
them). Other use cases reach it only through dispatch.interface, dispatch.reactions and dispatch.budgets."""
