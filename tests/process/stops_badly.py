"""A process that starts healthy (HTTP /healthz on WECARE_CONTACTS_ADDRESS) but exits 2 on SIGTERM, as a service
without a graceful stop would: for the stack's unclean-stop test."""

import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer


class Health(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, *args):
        pass


host, _, port = os.environ["WECARE_CONTACTS_ADDRESS"].rpartition(":")
signal.signal(signal.SIGTERM, lambda *_: sys.exit(2))
HTTPServer((host, int(port)), Health).serve_forever()
