"""Where fallback CSVs live: S3 (aioboto3) when S3_BUCKET is set, else the local EXPORT_DIR.

S3: the bucket gets a lifecycle rule expiring `exports/` after EXPORT_RETENTION_DAYS (30), set at
first use (and the bucket created if it does not exist). Links are presigned GET URLs.
Local: files under EXPORT_DIR; links point at the API's `GET …/exports/{id}` (bearer token needed).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Protocol

import aioboto3
from botocore.config import Config
from botocore.exceptions import ClientError

from qbo_integration.config import Settings

LIFECYCLE_RULE_ID = "qbo-integration-exports-expiry"
PREFIX = "exports/"


class ExportStorage(Protocol):
    kind: str

    async def put(self, key: str, data: bytes) -> None: ...
    async def get(self, key: str) -> bytes: ...
    async def link(self, key: str, *, expires_seconds: int) -> str | None: ...


class LocalStorage:
    kind = "local"

    def __init__(self, root: str) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        p = (self.root / key).resolve()
        if not str(p).startswith(str(self.root.resolve())):
            raise ValueError("export key escapes the export folder")
        return p

    async def put(self, key: str, data: bytes) -> None:
        p = self.path(key)

        def write() -> None:
            p.parent.mkdir(parents=True, exist_ok=True)
            tmp = p.with_suffix(".part")
            tmp.write_bytes(data)
            tmp.replace(p)

        await asyncio.to_thread(write)

    async def get(self, key: str) -> bytes:
        return await asyncio.to_thread(self.path(key).read_bytes)

    async def link(self, key: str, *, expires_seconds: int) -> str | None:
        return None  # the API route serves local files


class S3Storage:
    kind = "s3"
    _prepared: set[tuple[str | None, str]] = set()

    def __init__(self, settings: Settings) -> None:
        assert settings.s3_bucket
        self.bucket = settings.s3_bucket
        self.endpoint_url = settings.s3_endpoint_url
        self.region = settings.s3_region
        self.retention_days = settings.export_retention_days
        self.session = aioboto3.Session()

    def _client(self):
        return self.session.client("s3", endpoint_url=self.endpoint_url, region_name=self.region,
                                   config=Config(signature_version="s3v4"))

    async def _prepare(self, s3) -> None:
        key = (self.endpoint_url, self.bucket)
        if key in S3Storage._prepared:
            return
        try:
            await s3.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
                raise
            kwargs = {} if self.region == "us-east-1" else {
                "CreateBucketConfiguration": {"LocationConstraint": self.region}}
            await s3.create_bucket(Bucket=self.bucket, **kwargs)
        try:  # keep any other rules the bucket has; replace ours
            rules = (await s3.get_bucket_lifecycle_configuration(Bucket=self.bucket)).get("Rules", [])
        except ClientError:
            rules = []
        rules = [r for r in rules if r.get("ID") != LIFECYCLE_RULE_ID] + [{
            "ID": LIFECYCLE_RULE_ID, "Status": "Enabled", "Filter": {"Prefix": PREFIX},
            "Expiration": {"Days": self.retention_days},
        }]
        await s3.put_bucket_lifecycle_configuration(Bucket=self.bucket, LifecycleConfiguration={"Rules": rules})
        S3Storage._prepared.add(key)

    async def put(self, key: str, data: bytes) -> None:
        async with self._client() as s3:
            await self._prepare(s3)
            await s3.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType="text/csv; charset=utf-8",
                                ContentDisposition=f'attachment; filename="{key.rsplit("/", 1)[-1]}"')

    async def get(self, key: str) -> bytes:
        async with self._client() as s3:
            obj = await s3.get_object(Bucket=self.bucket, Key=key)
            async with obj["Body"] as body:
                return await body.read()

    async def link(self, key: str, *, expires_seconds: int) -> str | None:
        async with self._client() as s3:
            return await s3.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_seconds)


def storage_for(settings: Settings) -> ExportStorage:
    return S3Storage(settings) if settings.s3_bucket else LocalStorage(settings.export_dir)
