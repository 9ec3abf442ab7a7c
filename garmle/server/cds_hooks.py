"""A CDS Hooks 2.0 service over the :class:`~garmle.recommender.Recommender` (FastAPI).

Endpoints:

* ``GET /cds-services``: discovery (the services below and their prefetch templates).
* ``POST /cds-services/garmle-patient-view``: hook ``patient-view``.
* ``POST /cds-services/garmle-order-select``: hook ``order-select`` (treatment and target
  snippets for the patient while orders are being chosen).
* ``GET /healthz``: 200 when the index answers, 503 when it does not (no key needed).

Each hook runs the recommender on the prefetched FHIR resources and answers cards whose
detail is the guideline snippets verbatim with their citations (see :mod:`garmle.server.cards`).

Errors are JSON ``{"error": <kind>, "message": <one line>}``:

=====  ==========================================================================
400    malformed JSON, missing ``hook``/``hookInstance``/``context``, wrong hook
401    missing or wrong API key (when one is configured)
404    unknown service
412    no prefetched patient data (this service does not query the FHIR server)
413    request body over the size limit
422    patient data that cannot be read (bad FHIR, another patient's resources)
503    the guideline index (embedded or Chroma server) cannot be reached; retry later
500    anything unexpected (generic message; the log names the exception type only)
=====  ==========================================================================

Nothing from a request body reaches the log: records carry the hook name, status,
card count and time only.

Example:
    >>> app = create_app(lambda: Recommender.open("index/"), api_key="s3cret")   # doctest: +SKIP
    >>> serve(Settings.from_env(index_dir="index/"), port=8080)                  # doctest: +SKIP
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import threading
import time
import traceback
from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from garmle.config import Settings, offline_environment
from garmle.errors import ConfigError, GarmleError, IndexError_
from garmle.server.cards import report_cards
from garmle.server.prefetch import MissingPrefetchError, prefetch_bundle

if TYPE_CHECKING:
    from garmle.recommender import Recommender

__all__ = [
    "ENV_API_KEY",
    "HookRequest",
    "RecommenderSlot",
    "ServiceOptions",
    "create_app",
    "discovery",
    "serve",
    "settings_factory",
]

log = logging.getLogger(__name__)

ENV_API_KEY = "GARMLE_API_KEY"
MAX_BODY_BYTES = 16 * 1024 * 1024

_PREFETCH = {
    "patient": "Patient/{{context.patientId}}",
    "conditions": "Condition?patient={{context.patientId}}&clinical-status=active",
    "observations": "Observation?patient={{context.patientId}}&category=vital-signs,laboratory&_sort=-date",
    "medications": "MedicationRequest?patient={{context.patientId}}&status=active",
}


@dataclass(frozen=True)
class _Service:
    id: str
    hook: str
    title: str
    description: str
    aspects: tuple[str, ...] | None


SERVICES = {
    s.id: s
    for s in (
        _Service(
            id="garmle-patient-view",
            hook="patient-view",
            title="Guideline recommendations (garmle)",
            description="Verbatim, cited clinical guideline passages for the patient's conditions.",
            aspects=None,
        ),
        _Service(
            id="garmle-order-select",
            hook="order-select",
            title="Guideline treatment passages while ordering (garmle)",
            description="Verbatim, cited guideline passages on treatment and targets for the patient's "
            "conditions.",
            aspects=("treatment", "targets"),
        ),
    )
}


def discovery() -> dict[str, Any]:
    """The CDS Hooks discovery document.

    Example:
        >>> [s["hook"] for s in discovery()["services"]]
        ['patient-view', 'order-select']
    """
    return {
        "services": [
            {
                "hook": s.hook,
                "id": s.id,
                "title": s.title,
                "description": s.description,
                "prefetch": _PREFETCH,
            }
            for s in SERVICES.values()
        ]
    }


# --------------------------------------------------------------------------- requests


class HookContext(BaseModel):
    """The hook context fields the service reads (others are accepted and ignored).

    Example:
        >>> HookContext.model_validate({"patientId": "p1", "userId": "Practitioner/7"}).user_id
        'Practitioner/7'
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    user_id: str | None = Field(default=None, alias="userId")
    patient_id: str = Field(alias="patientId", min_length=1, max_length=200)
    encounter_id: str | None = Field(default=None, alias="encounterId")
    selections: list[str] | None = None
    draft_orders: dict[str, Any] | None = Field(default=None, alias="draftOrders")


class HookRequest(BaseModel):
    """A CDS Hooks 2.0 request (the parts this service needs).

    Example:
        >>> HookRequest.model_validate({"hook": "patient-view", "hookInstance": "d1577c69",
        ...                             "context": {"patientId": "p1"}}).context.patient_id
        'p1'
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    hook: str = Field(min_length=1)
    hook_instance: str = Field(alias="hookInstance", min_length=1, max_length=200)
    fhir_server: str | None = Field(default=None, alias="fhirServer")
    fhir_authorization: dict[str, Any] | None = Field(default=None, alias="fhirAuthorization")
    context: HookContext
    prefetch: dict[str, Any] | None = None


class _ApiError(Exception):
    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message


def _validation_message(exc: ValidationError) -> str:
    # Location and reason only: pydantic's default text quotes the offending input.
    parts = []
    for err in exc.errors(include_input=False, include_url=False)[:3]:
        where = ".".join(str(p) for p in err.get("loc", ())) or "body"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "invalid CDS Hooks request: " + "; ".join(parts)


def parse_hook_request(body: bytes, service_id: str) -> HookRequest:
    """Parse and check a request body for ``service_id``; raises the 4xx errors of the table above."""
    if not body.strip():
        raise _ApiError(400, "bad_request", "empty request body: send a CDS Hooks request as JSON")
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        where = f" at line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise _ApiError(400, "bad_request", f"request body is not valid JSON{where}") from None
    except RecursionError:
        raise _ApiError(400, "bad_request", "request body is nested too deeply") from None
    if not isinstance(data, dict):
        raise _ApiError(400, "bad_request", "request body must be a JSON object")
    try:
        request = HookRequest.model_validate(data)
    except ValidationError as exc:
        raise _ApiError(400, "bad_request", _validation_message(exc)) from None
    service = SERVICES[service_id]
    if request.hook != service.hook:
        raise _ApiError(
            400,
            "bad_request",
            f"service {service_id} handles hook {service.hook!r}, not {request.hook[:40]!r}",
        )
    return request


# --------------------------------------------------------------------------- the recommender


class RecommenderSlot:
    """Holds the service's :class:`Recommender`, opening it on first use and after a failed open.

    The index may be unreachable when the service starts (a Chroma server still starting):
    requests then get 503 and the next one tries again.

    Example:
        >>> slot = RecommenderSlot(lambda: Recommender.open("index/"))   # doctest: +SKIP
        >>> slot.get().store.stats()["documents"]                         # doctest: +SKIP
        27
    """

    def __init__(self, factory: Callable[[], Recommender]) -> None:
        self._factory = factory
        self._recommender: Recommender | None = None
        self._documents: dict[str, dict[str, str]] = {}
        self._documents_key = -1
        self._lock = threading.Lock()

    def get(self) -> Recommender:
        """The recommender (opened now if it is not open yet)."""
        with self._lock:
            if self._recommender is None:
                recommender = self._factory()
                _ = recommender.predictor  # build the code predictor before the first request needs it
                self._recommender = recommender
            return self._recommender

    def documents(self) -> dict[str, dict[str, str]]:
        """Document metadata (titles, URLs) of the index, re-read when the index changes."""
        store = self.get().store
        key = store.count_chunks()
        with self._lock:
            if key != self._documents_key:
                self._documents = store.document_metadata()
                self._documents_key = key
            return self._documents


def settings_factory(settings: Settings, *, collection: str = "garmle") -> Callable[[], Recommender]:
    """A factory opening the recommender of ``settings``; the embedding model is loaded once."""
    from garmle.embedding import Embedder, make_embedder
    from garmle.recommender import Recommender

    embedder: list[Embedder] = []

    def open_recommender() -> Recommender:
        if not embedder:
            embedder.append(make_embedder(settings))
        return Recommender.open(settings=settings, embedder=embedder[0], collection=collection)

    return open_recommender


def _unreachable(exc: BaseException) -> bool:
    """True when ``exc`` (or its cause) is a network failure talking to the store."""
    import httpx

    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, httpx.TransportError | ConnectionError | TimeoutError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _where(exc: BaseException) -> str:
    """``file:line`` of the innermost frame: enough to find a bug without logging any data."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "?"
    last = frames[-1]
    return f"{os.path.basename(last.filename)}:{last.lineno}"


# --------------------------------------------------------------------------- the app


@dataclass(frozen=True)
class ServiceOptions:
    """Per-service settings.

    Args:
        api_key: required bearer token / ``X-API-Key``; None reads ``GARMLE_API_KEY``; "" disables.
        top_k: guideline snippets per code.
        max_codes: predicted codes per patient.
        max_cards: cards per response.
        max_body_bytes: request size limit.
        warm: open the recommender when the service starts (a failure there is logged, not fatal).

    Example:
        >>> ServiceOptions(api_key="", top_k=5).max_cards
        10
    """

    api_key: str | None = None
    top_k: int = 3
    max_codes: int = 5
    max_cards: int = 10
    max_body_bytes: int = MAX_BODY_BYTES
    warm: bool = True


def create_app(
    recommender: Callable[[], Recommender] | Recommender | Settings,
    *,
    options: ServiceOptions | None = None,
    collection: str = "garmle",
) -> FastAPI:
    """The CDS Hooks service as a FastAPI app.

    Args:
        recommender: a :class:`Recommender`, a factory returning one (called again after a
            failed open), or :class:`~garmle.config.Settings` to open one from.
        options: API key, result sizes, limits.
        collection: the index collection (with ``Settings`` only).

    Example:
        >>> from fastapi.testclient import TestClient                                  # doctest: +SKIP
        >>> client = TestClient(create_app(Recommender.open("index/")))               # doctest: +SKIP
        >>> client.get("/cds-services").json()["services"][0]["id"]                    # doctest: +SKIP
        'garmle-patient-view'
    """
    from garmle.recommender import Recommender

    options = options or ServiceOptions()
    api_key = options.api_key if options.api_key is not None else os.environ.get(ENV_API_KEY, "")
    if isinstance(recommender, Settings):
        factory = settings_factory(recommender, collection=collection)
    elif isinstance(recommender, Recommender):
        ready = recommender

        def factory() -> Recommender:
            return ready

    else:
        factory = recommender
    slot = RecommenderSlot(factory)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        if options.warm:
            try:
                await run_in_threadpool(slot.get)
            except GarmleError as exc:
                log.warning("the recommender is not ready yet (%s); requests will retry", exc)
            except Exception as exc:
                log.warning("the recommender is not ready yet (%s at %s)", type(exc).__name__, _where(exc))
        yield

    app = FastAPI(
        title="garmle CDS Hooks service",
        description="Verbatim, cited clinical guideline passages as CDS Hooks 2.0 cards.",
        version=_version(),
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.slot = slot

    def error(status: int, kind: str, message: str) -> JSONResponse:
        headers = {"Retry-After": "5"} if status == 503 else None
        return JSONResponse({"error": kind, "message": message}, status_code=status, headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        message = f"no such endpoint: {request.method} {request.url.path[:100]}"
        if exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path[:100]}"
        return error(exc.status_code, kind, message)

    @app.middleware("http")
    async def check_api_key(request: Request, call_next: Any) -> Any:
        if api_key and request.url.path != "/healthz":
            given = request.headers.get("x-api-key", "")
            auth = request.headers.get("authorization", "")
            if auth.lower().startswith("bearer "):
                given = auth[7:].strip()
            if not hmac.compare_digest(given.encode(), api_key.encode()):
                return JSONResponse(
                    {
                        "error": "unauthorized",
                        "message": "missing or wrong API key (Authorization: Bearer KEY)",
                    },
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
        return await call_next(request)

    @app.get("/cds-services")
    async def cds_services() -> dict[str, Any]:
        return discovery()

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        try:
            chunks = await run_in_threadpool(lambda: slot.get().store.count_chunks())
        except Exception as exc:
            log.warning("health check failed: %s", type(exc).__name__)
            return error(503, "unavailable", "the guideline index cannot be reached")
        return JSONResponse({"status": "ok", "chunks": chunks})

    def run_hook(service: _Service, request: HookRequest) -> dict[str, Any]:
        extra = {"draftOrders": request.context.draft_orders} if request.context.draft_orders else None
        bundle = prefetch_bundle(request.prefetch, request.context.patient_id, extra)
        rec = slot.get()
        report = rec.recommend(
            bundle, top_k=options.top_k, max_codes=options.max_codes, aspects=service.aspects
        )
        return {"cards": report_cards(report, slot.documents(), max_cards=options.max_cards)}

    @app.post("/cds-services/{service_id}")
    async def hook(service_id: str, request: Request) -> JSONResponse:
        started = time.perf_counter()
        service = SERVICES.get(service_id)
        status, cards = 200, 0
        try:
            if service is None:
                raise _ApiError(
                    404, "not_found", f"no CDS service {service_id[:60]!r}; see GET /cds-services"
                )
            declared = request.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > options.max_body_bytes:
                raise _ApiError(413, "too_large", f"request body over {options.max_body_bytes} bytes")
            body = await request.body()
            if len(body) > options.max_body_bytes:
                raise _ApiError(413, "too_large", f"request body over {options.max_body_bytes} bytes")
            parsed = parse_hook_request(body, service.id)
            result = await run_in_threadpool(run_hook, service, parsed)
            cards = len(result["cards"])
            response = JSONResponse(result)
        except _ApiError as exc:
            status = exc.status
            response = error(exc.status, exc.kind, exc.message)
        except MissingPrefetchError as exc:
            status = 412
            response = error(412, "prefetch_missing", str(exc))
        except ConfigError as exc:
            status = 503
            log.warning("recommender cannot open: %s", exc)
            response = error(503, "unavailable", f"the recommender cannot start: {exc}")
        except IndexError_ as exc:
            status = 503
            log.warning("guideline index unavailable: %s", type(exc).__name__)
            response = error(503, "unavailable", f"the guideline index is unavailable: {exc}")
        except GarmleError as exc:
            if _unreachable(exc):
                status = 503
                response = error(503, "unavailable", "the guideline index (Chroma server) cannot be reached")
            else:
                status = 422
                response = error(422, "unprocessable", str(exc))
        except Exception as exc:
            if _unreachable(exc):
                status = 503
                log.warning("guideline index unreachable: %s", type(exc).__name__)
                response = error(503, "unavailable", "the guideline index (Chroma server) cannot be reached")
            else:
                status = 500
                log.error("hook failed: %s at %s", type(exc).__name__, _where(exc))
                response = error(500, "internal_error", "internal error; the service log has the details")
        log.info(
            "%s -> %d (%d cards) in %.0f ms",
            service.hook if service else "unknown service",
            status,
            cards,
            (time.perf_counter() - started) * 1000,
        )
        return response

    return app


def _version() -> str:
    from garmle import __version__

    return __version__


def serve(
    recommender: Callable[[], Recommender] | Recommender | Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    api_key: str | None = None,
    collection: str = "garmle",
    log_level: str = "info",
) -> None:
    """Run the CDS Hooks service with uvicorn until interrupted.

    Args:
        recommender: a :class:`Recommender`, a factory, or settings to open one from.
        host: interface to bind (loopback by default; put TLS in front for anything else).
        port: TCP port.
        api_key: required bearer token; None reads ``GARMLE_API_KEY``; "" disables the check.
        collection: the index collection (with ``Settings`` only).
        log_level: uvicorn log level.
    """
    import uvicorn

    offline_environment()
    key = api_key if api_key is not None else os.environ.get(ENV_API_KEY, "")
    if not key and host not in ("127.0.0.1", "localhost", "::1"):
        log.warning(
            "serving on %s without an API key: set %s or put an authenticating proxy in front",
            host,
            ENV_API_KEY,
        )
    app = create_app(recommender, options=ServiceOptions(api_key=key), collection=collection)
    uvicorn.run(app, host=host, port=port, log_level=log_level)
