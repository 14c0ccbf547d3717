"""The audit log every service writes (AuditTable): who did what to which resource, when, with which outcome."""
