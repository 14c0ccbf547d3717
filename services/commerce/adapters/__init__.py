"""Commerce's adapters: one store Protocol per table (links: link_store.py) with its SQLite and DynamoDB
implementations beside it, chosen by settings in stores.py."""
