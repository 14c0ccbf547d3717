"""Commerce rules with no I/O, one module per concern: link codes, link targets, who opened a link, links."""
