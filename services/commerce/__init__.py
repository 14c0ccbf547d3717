"""The commerce service (`wecare.commerce.v1.CommerceService`): tracked links (LinkTable), forms as WhatsApp Flows
with their invitations and answers (FormsTable), GST invoices and credit notes (InvoiceTable) and their payments
(PayTable).

Each resource has one module in each room, so resources land side by side without touching each other:

  protos/wecare/commerce/v1/<resource>.proto   its messages; its RPCs go in commerce_service.proto, in their own
                                               block, each with google.api.http and wecare.auth.v1.access
  domain/<resource>.py                         its rules, no I/O
  adapters/<resource>_store.py                 the store Protocol of its table; <resource>_sqlite.py and
                                               <resource>_dynamodb.py (TABLE, ensure_table) implement it, the
                                               factory in adapters/stores.py picks one; one contract suite
                                               (tests/commerce/test_<resource>_store_contract.py) runs on both
  usecases/<resource>.py                       what each request does, over the Protocols
  rpc/<resource>.py                            `<Resource>Rpc`: a method per RPC, protobuf in and out
  main.py                                      builds them and hands every `...Rpc` to CommerceServicer, which
                                               refuses to start while a declared RPC has no handler

Outside this folder, a new table also goes in localrun/tables.py TABLES and in commerce's `Aws(tables=...)` in
deploy/services.py (then `python -m deploy.render`); a public route that is not transcoded JSON (the payment
provider's webhook) is an edge route of the gateway like gateway/links.py, wired in gateway/main.py."""
