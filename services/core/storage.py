"""S3 (SeaweedFS under `make run` and in tests, MinIO in production): one client and the few calls the
domains need. The bucket holds bytes only; who may see what is in the database (`files`).

Everything here is blocking (boto3): call it from worker threads (handlers already run there; the
upload route hops with `off_loop`). Failures of the S3 server become `StorageUnavailable`, a
translated "file storage is unavailable" message, never a stack trace.

`ObjectWriter` streams one object: `write()` takes the next slice of bytes, `close()` finishes it.
Up to PART_BYTES it is a single PUT; beyond, a multipart upload whose parts go out on a small shared
thread pool, at most PARTS_IN_FLIGHT per upload at a time (so a 200 MB upload holds about
(PARTS_IN_FLIGHT + 2) x PART_BYTES of memory, and the next part is read while the previous ones are
sent; bench/upload.py measures it, and scripts/app_server.py's malloc setting keeps it returned). `abort()` removes whatever was sent; an abort that fails too (S3 gone) leaves an incomplete
multipart upload, which `abort_stale_multipart_uploads` (the clean-up job) removes a day later.

Downloads go through presigned GET URLs (`presigned_get`), signed for the address browsers reach
(S3_PUBLIC_URL, else S3_ENDPOINT_URL), with the response's Content-Type and Content-Disposition
fixed by the signature, so nobody can ask S3 to serve the object as HTML.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from services.core.errors import ServiceUnavailable
from services.core.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

PART_BYTES = 5 * 1024 * 1024  # S3's minimum part (all but the last); small parts keep an upload's memory low
PARTS_IN_FLIGHT = 2
PRESIGNED_SECONDS = 60
DELETE_BATCH = 1000  # S3's DeleteObjects limit

# Two pools of their own, apart from the handlers' threads (services.core.db.WORKER_THREADS), so slow
# uploads never take the threads the pages need. A writer waiting for room (back-pressure) sits in
# IO_POOL while its parts go out on _part_pool: the pools never wait on each other in a circle.
IO_POOL = ThreadPoolExecutor(max_workers=16, thread_name_prefix="s3-io")
_part_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="s3-part")
T = TypeVar("T")


async def run_io(fn: Callable[..., T], *args: Any) -> T:
    """Run a blocking S3 call (an ObjectWriter's write/close/abort) off the event loop, in IO_POOL."""
    return await asyncio.get_running_loop().run_in_executor(IO_POOL, functools.partial(fn, *args))


class StorageUnavailable(ServiceUnavailable):
    """The S3 server did not answer or refused: nothing was stored."""

    message_key = "error.storage_unavailable"


S3_ERRORS = (BotoCoreError, ClientError)


@lru_cache(maxsize=8)
def _client(endpoint: str | None, region: str, key_id: str, secret: str) -> S3Client:
    config = Config(
        signature_version="s3v4",
        s3={"addressing_style": "path"},
        retries={"max_attempts": 2, "mode": "standard"},
        connect_timeout=5,
        read_timeout=60,
        max_pool_connections=32,
        # SeaweedFS and older MinIO answer trailing checksums poorly; S3 checks Content-MD5-free PUTs anyway.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    client: S3Client = boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=config,
    )
    return client


def client(*, public: bool = False) -> S3Client:
    """The S3 client of the current settings; `public=True`: signed for the address browsers use."""
    settings = get_settings()
    endpoint = (settings.s3_public_url or settings.s3_endpoint_url) if public else settings.s3_endpoint_url
    return _client(
        endpoint, settings.s3_region, settings.aws_access_key_id, settings.aws_secret_access_key.get_secret_value()
    )


def bucket() -> str:
    return get_settings().s3_bucket


def put_object(key: str, body: bytes, content_type: str) -> None:
    try:
        client().put_object(Bucket=bucket(), Key=key, Body=body, ContentType=content_type)
    except S3_ERRORS as exc:
        raise StorageUnavailable() from exc


def object_size(key: str) -> int | None:
    """The stored object's size, None when there is no such object."""
    try:
        head = client().head_object(Bucket=bucket(), Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise StorageUnavailable() from exc
    except BotoCoreError as exc:
        raise StorageUnavailable() from exc
    return int(head["ContentLength"])


def delete_objects(keys: Iterable[str]) -> None:
    """Remove the objects (a missing one is no error)."""
    batch: list[str] = []
    for key in keys:
        batch.append(key)
        if len(batch) == DELETE_BATCH:
            _delete_batch(batch)
            batch = []
    if batch:
        _delete_batch(batch)


def _delete_batch(keys: list[str]) -> None:
    try:
        client().delete_objects(Bucket=bucket(), Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True})
    except S3_ERRORS as exc:
        raise StorageUnavailable() from exc


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    last_modified: datetime


def list_objects(prefix: str) -> Iterator[StoredObject]:
    try:
        pages = client().get_paginator("list_objects_v2").paginate(Bucket=bucket(), Prefix=prefix)
        for page in pages:
            for item in page.get("Contents", []):
                yield StoredObject(item["Key"], int(item["Size"]), item["LastModified"])
    except S3_ERRORS as exc:
        raise StorageUnavailable() from exc


def abort_stale_multipart_uploads(prefix: str, older_than: datetime) -> int:
    """Abort multipart uploads under `prefix` begun before `older_than` (an upload whose abort failed)."""
    aborted = 0
    try:
        pages = client().get_paginator("list_multipart_uploads").paginate(Bucket=bucket(), Prefix=prefix)
        for page in pages:
            for upload in page.get("Uploads", []):
                if upload["Initiated"] < older_than:
                    client().abort_multipart_upload(Bucket=bucket(), Key=upload["Key"], UploadId=upload["UploadId"])
                    aborted += 1
    except S3_ERRORS as exc:
        raise StorageUnavailable() from exc
    return aborted


def content_disposition(disposition: str, filename: str) -> str:
    """`attachment`/`inline` with the name for every browser: an ASCII fallback and RFC 5987's UTF-8 form."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename) or "file"
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def presigned_get(key: str, *, filename: str, content_type: str, inline: bool) -> str:
    """A GET URL valid PRESIGNED_SECONDS, fixing the response's type and disposition."""
    params: dict[str, Any] = {
        "Bucket": bucket(),
        "Key": key,
        "ResponseContentType": content_type,
        "ResponseContentDisposition": content_disposition("inline" if inline else "attachment", filename),
        "ResponseCacheControl": "private, no-store",
    }
    try:
        return client(public=True).generate_presigned_url("get_object", Params=params, ExpiresIn=PRESIGNED_SECONDS)
    except S3_ERRORS as exc:
        raise StorageUnavailable() from exc


class ObjectWriter:
    """One object written in slices (see the module's docstring); counts the bytes and their SHA-256."""

    def __init__(self, key: str, content_type: str) -> None:
        self.key = key
        self.content_type = content_type
        self.size = 0
        self._sha = hashlib.sha256()
        self._chunks: list[bytes] = []
        self._buffered = 0
        self._upload_id: str | None = None
        self._parts: list[Future[CompletedPartTypeDef]] = []
        self._slots = threading.Semaphore(PARTS_IN_FLIGHT)
        self._done = False

    @property
    def sha256(self) -> str:
        return self._sha.hexdigest()

    def write(self, *slices: bytes) -> None:
        """Take the next slices; a part goes out once PART_BYTES are buffered (parts may be a little
        larger: S3 takes any size above 5 MiB, and joining whole slices copies each byte once)."""
        for data in slices:
            self._sha.update(data)
            self.size += len(data)
            self._chunks.append(data)
            self._buffered += len(data)
            if self._buffered >= PART_BYTES:
                self._send_part(self._take())

    def _take(self) -> bytes:
        part = b"".join(self._chunks)
        self._chunks, self._buffered = [], 0
        return part

    def close(self) -> None:
        """Finish the object (StorageUnavailable, after aborting, when S3 fails)."""
        try:
            if self._upload_id is None:
                client().put_object(Bucket=bucket(), Key=self.key, Body=self._take(), ContentType=self.content_type)
            else:
                if self._buffered:
                    self._send_part(self._take())
                parts = [future.result() for future in self._parts]
                client().complete_multipart_upload(
                    Bucket=bucket(), Key=self.key, UploadId=self._upload_id, MultipartUpload={"Parts": parts}
                )
        except S3_ERRORS as exc:
            self.abort()
            raise StorageUnavailable() from exc
        finally:
            self._chunks, self._buffered = [], 0
        self._done = True

    def abort(self) -> None:
        """Drop what was sent (best effort: with S3 gone the clean-up job finishes it)."""
        self._chunks, self._buffered = [], 0
        for future in self._parts:
            future.cancel()
        try:
            if self._upload_id is not None:
                for future in self._parts:
                    if not future.cancelled():
                        future.exception()  # wait: a part still in flight would outlive the abort
                client().abort_multipart_upload(Bucket=bucket(), Key=self.key, UploadId=self._upload_id)
            elif self._done:
                client().delete_object(Bucket=bucket(), Key=self.key)
        except S3_ERRORS:
            pass

    def _send_part(self, data: bytes) -> None:
        try:
            if self._upload_id is None:
                started = client().create_multipart_upload(Bucket=bucket(), Key=self.key, ContentType=self.content_type)
                self._upload_id = started["UploadId"]
            failed = next((f for f in self._parts if f.done() and f.exception() is not None), None)
            if failed is not None:
                failed.result()  # raises the part's error
        except S3_ERRORS as exc:
            self.abort()
            raise StorageUnavailable() from exc
        self._slots.acquire()  # back-pressure: at most PARTS_IN_FLIGHT parts held in memory
        number = len(self._parts) + 1
        future = _part_pool.submit(self._upload_part, number, data)
        future.add_done_callback(lambda _: self._slots.release())
        self._parts.append(future)

    def _upload_part(self, number: int, data: bytes) -> CompletedPartTypeDef:
        answer = client().upload_part(
            Bucket=bucket(), Key=self.key, UploadId=str(self._upload_id), PartNumber=number, Body=data
        )
        return {"PartNumber": number, "ETag": answer["ETag"]}
