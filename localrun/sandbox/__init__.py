"""The sandbox: the local stand-in for EUM Social and EUM SMS (server), its log (log) and its events (events)."""
