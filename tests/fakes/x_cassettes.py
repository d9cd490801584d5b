"""Replaying the hand-written X API v2 cassettes in tests/cassettes/x_api (plain JSON bodies)."""

from pathlib import Path

import vcr

CASSETTES = Path(__file__).resolve().parents[1] / "cassettes" / "x_api"


def replay(name: str) -> vcr.cassette.CassetteContextDecorator:
    """Replay ``tests/cassettes/x_api/<name>.yaml``; any request to X not in it fails the test.

    Requests to 127.0.0.1 pass through: the Hopsworks twin a test may write to listens there.
    """
    return vcr.use_cassette(
        str(CASSETTES / f"{name}.yaml"),
        record_mode="none",
        decode_compressed_response=True,
        filter_headers=["authorization"],
        match_on=["method", "scheme", "host", "path", "query"],
        ignore_localhost=True,
    )
