"""A real TLS peer for wsp's interop tests: Python's ssl module (Debian's OpenSSL 3).

  python_tls_peer.py server CERT KEY
      TLS echo server on 127.0.0.1, port chosen by the OS and printed as "port N". Echoes each
      connection until the peer's close_notify, answers with its own close_notify. Serves one
      connection at a time; exits after 60 s or when stdin closes.
  python_tls_peer.py client PORT CAFILE HOSTNAME SIZE
      Connects (verifying the certificate against CAFILE and HOSTNAME), sends SIZE bytes, reads
      them back, sends close_notify, waits for the server's; prints
      "ok <version> <alpn> <match>" and exits 0, or prints the error and exits 1.
"""
import os
import select
import socket
import ssl
import sys
import threading


def pattern(size):
    return bytes((i * 131 + i // 7) & 0xFF for i in range(size))


def serve(cert, key):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.set_alpn_protocols(["http/1.1"])
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    print("port", listener.getsockname()[1], flush=True)

    # Stop when the test closes our stdin (or dies), or after 60 s at most.
    def watch_stdin():
        select.select([sys.stdin], [], [], 60)
        os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()
    while True:
        raw, _ = listener.accept()
        raw.settimeout(30)
        try:
            with context.wrap_socket(raw, server_side=True) as tls:
                while True:
                    data = tls.recv(65536)
                    if not data:  # close_notify received
                        break
                    tls.sendall(data)
                tls.unwrap()  # our close_notify
        except (ssl.SSLError, OSError) as e:
            print("connection failed:", e, flush=True)


def client(port, cafile, hostname, size):
    context = ssl.create_default_context(cafile=cafile)
    context.set_alpn_protocols(["http/1.1"])
    payload = pattern(size)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
            with context.wrap_socket(raw, server_hostname=hostname) as tls:
                # Lock-step, 64 KiB at a time: an SSL object must not be read and written from
                # two threads at once (OpenSSL is not safe for that; it garbles records).
                received = bytearray()
                for offset in range(0, size, 65536):
                    tls.sendall(payload[offset:offset + 65536])
                    want = min(size, offset + 65536)
                    while len(received) < want:
                        chunk = tls.recv(65536)
                        if not chunk:
                            break
                        received += chunk
                    if len(received) < want:
                        break
                version = tls.version()
                alpn = tls.selected_alpn_protocol()
                tls.unwrap()  # sends close_notify, waits for the server's
        match = "match" if bytes(received) == payload else "MISMATCH"
        print("ok", version, alpn, match, flush=True)
        return 0
    except (ssl.SSLError, OSError) as e:
        print("error", e, flush=True)
        return 1


if __name__ == "__main__":
    if sys.argv[1] == "server":
        serve(sys.argv[2], sys.argv[3])
    else:
        sys.exit(client(int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])))
