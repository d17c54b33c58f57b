#!/usr/bin/env python3
"""wrk's summary as numbers: what every load script here reads from it.

As a module: `summary(text)` returns a dict with `rps`, `p50` and `p99`
(milliseconds; 0 when wrk ran without --latency), `errors` (non-2xx/3xx
responses) and `requests`. As a command, reads wrk's output on stdin and
prints "rps p50 p99 errors", for shell scripts:

  wrk ... --latency URL | python3 benches/wrkout.py
"""
import re
import sys

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def ms(value):
    """A wrk duration ("812.00us", "1.20ms", "2.00s") in milliseconds."""
    number, unit = re.match(r"([\d.]+)(us|ms|s)", value).groups()
    return float(number) * _UNITS[unit]


def summary(text):
    """The numbers of one wrk run's output; raises ValueError if it has none."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if not rps:
        raise ValueError(f"no wrk summary in: {text[-500:]!r}")
    latency = {}
    for pct in ("50", "99"):
        m = re.search(rf"\s{pct}%\s+(\S+)", text)
        latency[pct] = ms(m.group(1)) if m else 0.0
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    requests = re.search(r"(\d+) requests in", text)
    return {
        "rps": float(rps.group(1)),
        "p50": latency["50"],
        "p99": latency["99"],
        "errors": int(errors.group(1)) if errors else 0,
        "requests": int(requests.group(1)) if requests else 0,
    }


if __name__ == "__main__":
    s = summary(sys.stdin.read())
    print(f"{s['rps']:.1f} {s['p50']:.3f} {s['p99']:.3f} {s['errors']}")
