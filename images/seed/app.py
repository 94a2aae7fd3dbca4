"""The seed's service: GET /status answers "OK from <ip>" (bottle, its default server)."""
import socket
import sys

from bottle import route, run

ADDRESS = socket.gethostbyname(socket.gethostname())


@route("/status")
def status():
    return f"OK from {ADDRESS}\n"


run(host="127.0.0.1", port=int(sys.argv[1]), quiet=True)
