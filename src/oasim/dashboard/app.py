"""The dashboard web app (Starlette + Jinja2; runs in uvicorn).

Pages: model explorer (``/``), trial designer (``/trial``), escalation (``/escalation``) and QC
(``/qc``). Each page's form is built from a pydantic model (:mod:`oasim.dashboard.forms`), is
checked on every change (``POST /api/<page>/validate``) and runs in the session's worker
(``POST /api/<page>/run``, ``GET /api/job``, ``POST /api/job/cancel``).

Safety: the browser sends only form values (JSON text) and, on the QC page, one zip archive;
every folder is made by the server under its own temporary root; requests must name this
server's host (no DNS rebinding); one run per session at a time.
"""

from __future__ import annotations

import contextlib
import io
import json
import secrets
import shutil
import tempfile
import threading
import tomllib
import zipfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from ..errors import OasimError
from ..scenario import Scenario
from . import forms
from .jobs import BusyError, WorkerPool
from .specs import EscalationSpec, ExplorerSpec
from .uploads import MAX_UPLOAD_BYTES, UploadError, extract_lot_zip

COOKIE = "oasim_session"
MAX_SESSIONS = 64
KEEP_OUTPUTS = 4


def default_trial() -> dict:
    """The designer's starting scenario (the example ascending-dose exosome trial)."""
    text = resources.files("oasim.dashboard").joinpath("default_trial.toml").read_text("utf-8")
    return tomllib.loads(text)


@dataclass(frozen=True)
class Page:
    """A page with a form: its model, task, title and starting values."""

    slug: str
    title: str
    model: type[BaseModel]
    task: str
    intro: str
    start: object = None


PAGES = {
    "explorer": Page("explorer", "Model explorer", ExplorerSpec, "explore",
                     "Product, dose, schedule and KL grade → key states of a typical subject with the population "
                     "band, and the expected WOMAC and VAS course, against the same subjects without product."),
    "trial": Page("trial", "Trial designer", Scenario, "trial",
                  "The trial scenario as a form (the same checks as `oasim validate`). Run it, read the key "
                  "figures and tables, open the full report or download the results folder.", default_trial),
    "escalation": Page("escalation", "Dose escalation", EscalationSpec, "escalation",
                       "BOIN decision boundaries and the operating characteristics of a design under a true "
                       "dose-toxicity curve (`oasim escalate`)."),
    "qc": Page("qc", "Lot QC", BaseModel, "qc",
               "Upload a lot folder as a zip (lot.toml, flow/*.fcs, trilineage.csv, nta.csv, bca.csv, "
               "western.csv; see examples/lot_demo) and read the release verdict."),
}


@dataclass
class Session:
    """What the server keeps per browser session: output folders of finished runs by job id."""

    id: str
    root: Path
    outputs: dict[int, Path] = field(default_factory=dict)
    counter: int = 0

    def new_folder(self, kind: str) -> Path:
        self.counter += 1
        path = self.root / f"{kind}-{self.counter}"
        path.mkdir(parents=True)
        return path

    def keep(self, job_id: int, folder: Path) -> None:
        self.outputs[job_id] = folder
        for old in sorted(self.outputs)[:-KEEP_OUTPUTS]:
            shutil.rmtree(self.outputs.pop(old).parent, ignore_errors=True)


class Dashboard:
    """State shared by the routes: sessions, workers, templates and the output root."""

    def __init__(self, max_workers: int = 4):
        self.root = Path(tempfile.mkdtemp(prefix="oasim-dashboard-"))
        self.pool = WorkerPool(max_workers)
        self.sessions: dict[str, Session] = {}
        self._lock = threading.Lock()
        self.env = Environment(loader=PackageLoader("oasim.dashboard", "templates"),
                               autoescape=select_autoescape(["html", "j2"]))

    def session(self, request: Request, create: bool = False) -> Session | None:
        sid = request.cookies.get(COOKIE, "")
        with self._lock:
            if sid in self.sessions:
                return self.sessions[sid]
            if not create:
                return None
            if len(self.sessions) >= MAX_SESSIONS:
                oldest = next(iter(self.sessions))
                shutil.rmtree(self.sessions.pop(oldest).root, ignore_errors=True)
            sid = secrets.token_urlsafe(24)
            session = self.sessions[sid] = Session(sid, self.root / sid)
            return session

    def close(self) -> None:
        self.pool.shutdown()
        shutil.rmtree(self.root, ignore_errors=True)

    def render(self, name: str, **context) -> str:
        return self.env.get_template(name).render(**context)


def _error(status: int, message: str, **extra) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


async def _form_values(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > 256 * 1024:
        raise forms.FieldError("form", f"{len(body)} bytes", "at most 256 KiB of form data")
    try:
        values = json.loads(body or b"{}")
    except ValueError:
        raise forms.FieldError("form", body[:40], "a JSON object of field values") from None
    if not isinstance(values, dict):
        raise forms.FieldError("form", type(values).__name__, "a JSON object of field values")
    return values


def create_app(max_workers: int = 4, allowed_hosts: tuple[str, ...] = ("127.0.0.1", "localhost")) -> Starlette:
    """The ASGI app. ``allowed_hosts``: Host header values accepted (DNS-rebinding guard)."""
    dash = Dashboard(max_workers)

    def page(request: Request) -> Response:
        slug = request.path_params.get("page", "explorer")
        if slug not in PAGES:
            return HTMLResponse("no such page", status_code=404)
        spec = PAGES[slug]
        session = dash.session(request, create=True)
        with contextlib.suppress(OasimError):
            # start the worker now: on model pages the solver loads while the user reads
            dash.pool.get(session.id, warm=spec.task in ("explore", "trial"))
        start = spec.start() if callable(spec.start) else spec.start
        form = forms.build_form(spec.model, start) if spec.model is not BaseModel else None
        html = dash.render("page.html.j2", pages=PAGES.values(), page=spec, form=form,
                           max_upload_bytes=MAX_UPLOAD_BYTES)
        response = HTMLResponse(html)
        response.set_cookie(COOKIE, session.id, httponly=True, samesite="strict")
        return response

    async def _checked(request: Request):
        """(page, validated model or None, errors) of a posted form, or an error response."""
        spec = PAGES.get(request.path_params["page"])
        if spec is None or spec.model is BaseModel:
            return _error(404, "no form on this page")
        try:
            values = await _form_values(request)
        except forms.FieldError as exc:
            return _error(400, str(exc))
        return (spec, *forms.validate_form(spec.model, values))

    async def validate(request: Request) -> Response:
        checked = await _checked(request)
        if isinstance(checked, Response):
            return checked
        errors = checked[2]
        return JSONResponse({"ok": not errors, **errors.to_dict()})

    async def run(request: Request) -> Response:
        session = dash.session(request)
        if session is None:
            return _error(400, "no session: reload the page")
        checked = await _checked(request)
        if isinstance(checked, Response):
            return checked
        spec, model, errors = checked
        if errors:
            return JSONResponse({"ok": False, **errors.to_dict()}, status_code=422)
        kwargs = {"spec": model.model_dump(mode="json")}
        folder = None
        if spec.task == "trial":
            folder = session.new_folder("trial")
            kwargs = {"scenario": model.model_dump(mode="json"), "out_dir": str(folder / "results")}
        return _submit(session, spec.task, folder, kwargs)

    def _submit(session: Session, task: str, folder: Path | None, kwargs: dict) -> Response:
        try:
            job = dash.pool.get(session.id, warm=False).submit(task, **kwargs)
        except BusyError as exc:
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
            return _error(409, str(exc))
        except OasimError as exc:
            return _error(503, str(exc))
        if folder is not None:
            session.keep(job.id, folder / "results")
        return JSONResponse({"ok": True, "job": job.id})

    async def upload(request: Request) -> Response:
        session = dash.session(request)
        if session is None:
            return _error(400, "no session: reload the page")
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > MAX_UPLOAD_BYTES):
            return _error(413, f"upload = {declared} bytes: allowed at most {MAX_UPLOAD_BYTES} bytes")
        body = bytearray()
        async for chunk in request.stream():
            body.extend(chunk)
            if len(body) > MAX_UPLOAD_BYTES:
                return _error(413, f"upload: allowed at most {MAX_UPLOAD_BYTES} bytes")
        worker = dash.pool.peek(session.id)
        if worker is not None and worker.busy:
            return _error(409, str(BusyError(worker.job.id)))
        folder = session.new_folder("qc")
        try:
            lot_dir = extract_lot_zip(bytes(body), folder / "upload")
        except UploadError as exc:
            shutil.rmtree(folder, ignore_errors=True)
            return _error(400, str(exc))
        return _submit(session, "qc", folder, {"lot_dir": str(lot_dir), "out_dir": str(folder / "results")})

    def job_state(request: Request) -> Response:
        session = dash.session(request)
        worker = dash.pool.peek(session.id) if session else None
        job = worker.job if worker else None
        if job is None:
            return JSONResponse({"job": None, "ready": bool(worker and worker.ready)})
        payload = {"job": job.id, "task": job.task, "state": job.state, "progress": job.progress[-20:],
                   "elapsed_s": round(job.elapsed_s, 1), "error": job.error, "ready": worker.ready}
        if job.state == "done":
            payload["html"] = dash.render("result.html.j2", result=job.result, job=job)
        return JSONResponse(payload)

    def cancel(request: Request) -> Response:
        session = dash.session(request)
        worker = dash.pool.peek(session.id) if session else None
        return JSONResponse({"cancelled": bool(worker and worker.cancel())})

    def _output(request: Request) -> Path | None:
        session = dash.session(request)
        try:
            job_id = int(request.query_params.get("job", ""))
        except ValueError:
            return None
        folder = session.outputs.get(job_id) if session else None
        return folder if folder is not None and folder.is_dir() else None

    def report(request: Request) -> Response:
        folder = _output(request)
        if folder is None or not (folder / "report.html").is_file():
            return HTMLResponse("no report for this run", status_code=404)
        return HTMLResponse((folder / "report.html").read_text("utf-8"),
                            headers={"Content-Security-Policy": "sandbox; default-src 'none'; img-src data:; "
                                                                "style-src 'unsafe-inline'"})

    def download(request: Request) -> Response:
        folder = _output(request)
        if folder is None:
            return HTMLResponse("no results for this run", status_code=404)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    archive.write(path, Path(folder.parent.name) / path.relative_to(folder))
        name = f"oasim-{folder.parent.name}.zip"
        return Response(buffer.getvalue(), media_type="application/zip",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    def static(request: Request) -> Response:
        name = request.path_params["name"]
        types = {"app.js": "text/javascript", "style.css": "text/css"}
        if name not in types:
            return Response("not found", status_code=404)
        text = resources.files("oasim.dashboard").joinpath("static", name).read_text("utf-8")
        return Response(text, media_type=types[name], headers={"Cache-Control": "max-age=300"})

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        dash.close()

    routes = [
        Route("/", lambda r: RedirectResponse("/explorer")),
        Route("/static/{name}", static),
        Route("/api/job", job_state),
        Route("/api/job/cancel", cancel, methods=["POST"]),
        Route("/api/qc/upload", upload, methods=["POST"]),
        Route("/api/{page}/validate", validate, methods=["POST"]),
        Route("/api/{page}/run", run, methods=["POST"]),
        Route("/results/report", report),
        Route("/results/download", download),
        Route("/{page}", page),
    ]
    app = Starlette(routes=routes, lifespan=lifespan,
                    middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))])
    app.state.dashboard = dash
    return app


def serve(host: str = "127.0.0.1", port: int = 8050, max_workers: int = 4) -> None:
    """Run the dashboard with uvicorn until interrupted."""
    import uvicorn

    local = host in ("127.0.0.1", "localhost", "::1")
    hosts = ("127.0.0.1", "localhost", "[::1]") if local else ("*",)  # bound elsewhere: reached by any name
    uvicorn.run(create_app(max_workers, hosts), host=host, port=port, log_level="warning")
