"""Where contacts are kept: the ContactStore interface and its implementations side by side."""
