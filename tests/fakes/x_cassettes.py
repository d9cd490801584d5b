"""Replaying the hand-written X API v2 cassettes in tests/cassettes/x_api (plain JSON bodies)."""

from pathlib import Path

import vcr

CASSETTES = Path(__file__).resolve().parents[1] / "cassettes" / "x_api"


def replay(name: str) -> vcr.cassette.CassetteContextDecorator:
    """Replay ``tests/cassettes/x_api/<name>.yaml``; any request not in it fails the test."""
    return vcr.use_cassette(
        str(CASSETTES / f"{name}.yaml"),
        record_mode="none",
        decode_compressed_response=True,
        filter_headers=["authorization"],
        match_on=["method", "scheme", "host", "path", "query"],
    )
