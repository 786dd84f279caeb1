"""AWS Signature Version 4 for requests to ``iotsim serve``'s HTTP ports, standard library only.

Every request to the HTTP ports must be signed (reference §5.2): with the keys of
DATA_DIR/credentials, which the server writes on first start, or of ``--credentials``. boto3 and
the AWS CLI sign by themselves; :class:`iotsim.DataClient` and ``iotsim diagram --endpoint``
sign with :func:`sign`.

    headers = sign("GET", "http://127.0.0.1:8080/things/lamp/shadow", ("AKIA...", "secret"))
"""
from __future__ import annotations

import configparser
import datetime
import hashlib
import hmac
import os
import urllib.parse

__all__ = ["sign", "read_credentials", "default_credentials"]

REGION = "us-east-1"


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def _canonical_query(query: str) -> str:
    """The query's `name=value` pairs as sent, sorted (the query must already be encoded the
    canonical way: RFC 3986, as :func:`urllib.parse.quote` with ``safe="-_.~"`` does)."""
    if not query:
        return ""
    pairs = [(p.partition("=")[0], p.partition("=")[2]) for p in query.split("&")]
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def _normalize_path(path: str) -> str:
    """RFC 3986 dot-segment removal, empty segments dropped (botocore's normalize_url_path; the
    server's verifier does the same)."""
    out: list[str] = []
    for part in path.split("/"):
        if part == "..":
            if out:
                out.pop()
        elif part not in ("", "."):
            out.append(part)
    joined = "/" + "/".join(out)
    return joined + "/" if len(path) > 1 and path.endswith("/") and out else joined


def sign(method: str, url: str, credentials: tuple[str, str], *, body: bytes = b"", service: str = "iotdata",
         region: str = REGION, now: datetime.datetime | None = None, headers: dict[str, str] | None = None,
         content_sha256: bool = True) -> dict[str, str]:
    """The headers that sign one request with `credentials` ``(access key id, secret access
    key)``: Host, X-Amz-Date, X-Amz-Content-Sha256 (unless `content_sha256` is false) and
    Authorization. `headers`: more headers of the request to sign (sent as given)."""
    key_id, secret = credentials
    parts = urllib.parse.urlsplit(url)
    when = (now or datetime.datetime.now(datetime.timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    payload_hash = hashlib.sha256(body).hexdigest()
    out = {"Host": parts.netloc, "X-Amz-Date": when}
    if content_sha256:
        out["X-Amz-Content-Sha256"] = payload_hash
    headers = {k.lower(): " ".join(str(v).split()) for k, v in {**(headers or {}), **out}.items()}
    signed = ";".join(sorted(headers))
    # The path as sent, percent-encoded once more (SigV4 for every service but S3).
    canonical = "\n".join([method, urllib.parse.quote(_normalize_path(parts.path), safe="/~"),
                           _canonical_query(parts.query),
                           "".join(f"{k}:{headers[k]}\n" for k in sorted(headers)), signed, payload_hash])
    scope = f"{when[:8]}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", when, scope, hashlib.sha256(canonical.encode("utf-8")).hexdigest()])
    key = _hmac(_hmac(_hmac(_hmac(("AWS4" + secret).encode("utf-8"), when[:8]), region), service), "aws4_request")
    signature = hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    out["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={key_id}/{scope}, SignedHeaders={signed}, "
                            f"Signature={signature}")
    return out


def read_credentials(path: str | os.PathLike, profile: str = "default") -> tuple[str, str]:
    """``(access key id, secret)`` of `profile` in an AWS shared-credentials file (e.g. the
    server's DATA_DIR/credentials). ValueError with the reason for a file without them."""
    config = configparser.ConfigParser(interpolation=None)  # a secret may hold '%'
    try:
        with open(path, encoding="utf-8") as f:
            config.read_file(f)
    except OSError as e:
        raise ValueError(f"{path}: {e.strerror or e}") from None
    except configparser.Error as e:
        raise ValueError(f"{path}: {str(e).splitlines()[0]}") from None
    if not config.has_section(profile):
        raise ValueError(f"{path}: no [{profile}] profile")
    try:
        return config[profile]["aws_access_key_id"], config[profile]["aws_secret_access_key"]
    except KeyError as e:
        raise ValueError(f"{path}: [{profile}] has no {e.args[0]}") from None


def default_credentials(profile: str | None = None) -> tuple[str, str] | None:
    """The credentials a client uses when given none, looked up as the AWS SDKs do: the
    AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY variables; else `profile` (default: $AWS_PROFILE,
    else ``default``) of $AWS_SHARED_CREDENTIALS_FILE; else of .iotsim/credentials (the file
    ``iotsim serve`` writes in its default data directory) when it exists; else None."""
    key_id, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
    if key_id and secret:
        return key_id, secret
    profile = profile or os.environ.get("AWS_PROFILE") or "default"
    path = os.environ.get("AWS_SHARED_CREDENTIALS_FILE") or os.path.join(".iotsim", "credentials")
    return read_credentials(path, profile) if os.path.exists(path) else None
