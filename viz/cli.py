"""``khusheh-viz``: start the dashboard (``solara run viz.app``) on this machine.

    khusheh-viz                      # http://localhost:8765, opens the browser
    khusheh-viz --port 9000 --no-open

The page's front-end files come from the ``solara-assets`` package, so it works
without an internet connection; Solara's usage telemetry and version check are
switched off: nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import errno
import os
import socket
import sys


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (a whole number 1-65535)") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port number (1-65535)")
    return value


def port_problem(host: str, port: int) -> str | None:
    """Why the dashboard cannot listen on host:port (in use, not allowed, unknown host), else None."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return f"cannot find the host {host!r}"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as s:
        # as the server will (uvicorn): connections of a server that just stopped do not block the port
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(address)
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                return f"port {port} is in use; choose another with --port"
            if err.errno == errno.EACCES:
                return f"port {port} needs administrator rights; choose one above 1023 with --port"
            return f"cannot listen on {host}:{port} ({err.strerror})"
    return None


def offline_environment() -> dict[str, str]:
    """Solara settings for a machine without internet: local assets, no telemetry, no version check."""
    return {
        "SOLARA_ASSETS_PROXY": "True",  # serve the CDN files from solara-assets (sys.prefix/share/solara/cdn)
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
        "SOLARA_CHECK_HOOKS": "off",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="khusheh-viz", description="Start the Khusheh dashboard in the browser.")
    parser.add_argument("--port", type=_port, default=8765, help="port to listen on (default 8765)")
    parser.add_argument("--host", default="localhost",
                        help="address to listen on (default localhost: only this machine can see it)")
    parser.add_argument("--no-open", action="store_true", help="do not open a browser")
    args = parser.parse_args(argv)
    problem = port_problem(args.host, args.port)
    if problem:
        print(f"khusheh-viz: {problem}", file=sys.stderr)
        return 2
    os.environ.update(offline_environment())
    from solara.__main__ import run  # after the environment: Solara reads its settings on import

    solara_args = ["viz.app", "--host", args.host, "--port", str(args.port), "--production", "--no-check-version",
                   "--no-open" if args.no_open else "--open"]
    try:
        run.main(args=solara_args, prog_name="khusheh-viz", standalone_mode=False)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
