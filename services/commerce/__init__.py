"""The commerce service: tracked links (LinkTable), and as they land forms (FormsTable), invoices (InvoiceTable)
and payments (PayTable)."""
