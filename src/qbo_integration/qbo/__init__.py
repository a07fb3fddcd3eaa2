"""The QuickBooks Online client. Imports nothing from the rest of qbo_integration."""

from .batch import batch_request_id, run_batch, safe_request_id
from .breaker import BreakerState, CompanyBreaker
from .client import CompanyClient, QboApi
from .config import BreakerConfig, LimitsConfig, QboConfig, RetryConfig
from .errors import (
    BreakerOpenError,
    ConnectionLostError,
    ErrorAction,
    LocalRateLimitedError,
    NotFoundError,
    QboError,
    RateLimitedError,
    StaleObjectError,
    TokenExpiredError,
    TransientError,
    ValidationError,
)
from .http import writes_sent_by
from .limits import RealmLimiter
from .models import (
    BatchItemResult,
    BatchOp,
    CallStats,
    Class,
    CompanyInfo,
    Customer,
    Employee,
    Item,
    QboEntity,
    TimeActivity,
    TokenSet,
)
from .oauth import QboOAuth, code_challenge_s256, make_code_verifier
from .observer import NullObserver, Observer
from .resolution import Cause, Remedy, Resolution
from .retry import RetryPolicy
from .tokens import MemoryTokenStore, TokenManager, TokenStore

__all__ = [
    "BatchItemResult",
    "BatchOp",
    "BreakerConfig",
    "BreakerOpenError",
    "BreakerState",
    "CallStats",
    "Cause",
    "Class",
    "CompanyBreaker",
    "CompanyClient",
    "CompanyInfo",
    "ConnectionLostError",
    "Customer",
    "Employee",
    "ErrorAction",
    "Item",
    "LimitsConfig",
    "LocalRateLimitedError",
    "MemoryTokenStore",
    "NotFoundError",
    "NullObserver",
    "Observer",
    "QboApi",
    "writes_sent_by",
    "QboConfig",
    "QboEntity",
    "QboError",
    "QboOAuth",
    "RateLimitedError",
    "RealmLimiter",
    "Remedy",
    "Resolution",
    "RetryConfig",
    "RetryPolicy",
    "StaleObjectError",
    "TimeActivity",
    "TokenExpiredError",
    "TokenManager",
    "TokenSet",
    "TokenStore",
    "TransientError",
    "ValidationError",
    "batch_request_id",
    "code_challenge_s256",
    "make_code_verifier",
    "run_batch",
    "safe_request_id",
]
