# A Python party to an onlyone lock: binds the v1 abstract address, NUL-padded to the full 108-byte sun_path.
#   python3 foreign.py hold NAME | try NAME   (same events as foreign.c)
import json, os, socket, sys

mode, name = sys.argv[1], sys.argv[2]
body = f"onlyone/v1/u{os.getuid()}/{name}".encode()
address = b"\0" + body + b"\0" * (107 - len(body))
sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    sock.bind(address)
except OSError as error:
    if error.errno == 98:  # EADDRINUSE
        print(json.dumps({"event": "busy"}), flush=True)
        sys.exit(0)
    raise
sock.listen(16)
print(json.dumps({"event": "acquired", "pid": os.getpid()}), flush=True)
if mode == "hold":
    sys.stdin.read()
