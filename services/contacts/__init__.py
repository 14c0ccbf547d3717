"""contacts: ContactsService (contacts and their per-channel consent) and AuditService (reads of AuditTable)."""
