"""An HTTP server on 127.0.0.1 for download tests (never the internet), stopped on exit."""
import http.server
import threading
from contextlib import contextmanager


@contextmanager
def loopback_server(handler):
    """Serve ``handler`` (a BaseHTTPRequestHandler class) on 127.0.0.1; yields the base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
