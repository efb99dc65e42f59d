"""HTML forms built from pydantic models, and browser input turned back into model input.

The form is derived from the model's field info (annotation, default, constraints,
description), so fields that other modules add to :class:`oasim.scenario.Scenario` appear
without edits here. Every input is named by its dotted path (``design.cohorts[1].dose``), the
same path :func:`oasim.scenario.field_errors` gives a validation error, so a message lands next
to its field.

Fields that would take a file path from the browser (any field named ``lot``, or typed as a
path) are never rendered and are refused when posted; a ``parameter_set`` field is offered as a
choice of the packaged sets. Both rules go by the field's own name, wherever a model puts it.
"""

from __future__ import annotations

import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any, Literal

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticUndefined

from ..errors import FieldError
from ..scenario import field_errors

#: field names that take a file path: never rendered, never accepted from the browser
PATH_FIELDS = frozenset({"lot"})
def _parameter_sets() -> tuple[str, ...]:
    from ..parameters.parameter_set import available_sets

    return tuple(available_sets())


#: field names whose value must be a packaged name, not a path: name -> callable giving the choices
NAME_CHOICES: dict[str, typing.Callable[[], tuple[str, ...]]] = {"parameter_set": _parameter_sets}
MAX_LIST_ITEMS = 64
MAX_TEXT_CHARS = 2000


@dataclass(frozen=True)
class Input:
    """One form input: ``kind`` is text, select, bool, list (comma-separated) or json."""

    path: str
    label: str
    kind: str
    value: str
    choices: tuple[str, ...] = ()
    help: str = ""
    required: bool = False


@dataclass(frozen=True)
class Group:
    """A fieldset: a nested model, or one row of a list of models (``repeat`` = list path).

    ``template``: the blank row a list of models adds from (not an input itself).
    """

    path: str
    label: str
    items: tuple = ()
    repeat: str = ""
    template: bool = False


@dataclass
class FormErrors:
    """Messages per input path; ``general`` holds those of whole models (cross-field checks)."""

    fields: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.fields or self.general)

    def to_dict(self) -> dict:
        return {"fields": self.fields, "general": self.general}


def _unwrap_optional(annotation) -> tuple[Any, bool]:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(annotation)) == 2:
            return args[0], True
    return annotation, False


def _is_model(annotation) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _item_type(annotation):
    """Element type of ``tuple[X, ...]`` / ``list[X]``, else None."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return args[0]
    if origin is list and len(args) == 1:
        return args[0]
    return None


def _literal_options(annotation) -> tuple | None:
    return typing.get_args(annotation) if typing.get_origin(annotation) is Literal else None


def _plain(path: str) -> str:
    """``design.cohorts[1].dose`` -> ``design.cohorts.dose``."""
    return re.sub(r"\[\d+\]", "", path)


def _leaf(path: str) -> str:
    return _plain(path).rsplit(".", 1)[-1]


def _takes_path(name: str, annotation) -> bool:
    annotation, _ = _unwrap_optional(annotation)
    return name in PATH_FIELDS or (isinstance(annotation, type) and issubclass(annotation, PurePath))


def _text(value) -> str:
    if value is None or value is PydanticUndefined:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}" if value == value and abs(value) < 1e21 else repr(value)
    if isinstance(value, (tuple, list)):
        return ", ".join(_text(v) for v in value)
    if isinstance(value, dict):
        import json

        return json.dumps(value)
    return str(value)


def _help(info) -> str:
    bounds = []
    for meta in info.metadata:
        for name, sign in (("gt", ">"), ("ge", "≥"), ("lt", "<"), ("le", "≤")):
            bound = getattr(meta, name, None)
            if bound is not None:
                bounds.append(f"{sign} {bound:.3g}" if isinstance(bound, (int, float)) else f"{sign} {bound}")
    text = info.description or ""
    if bounds:
        text = f"{text} ({', '.join(bounds)})" if text else ", ".join(bounds)
    return text


def _value_of(data: Any, name: str) -> Any:
    if isinstance(data, BaseModel):
        return getattr(data, name, None)
    if isinstance(data, dict):
        return data.get(name)
    return None


def build_form(model: type[BaseModel], values: BaseModel | dict | None = None, prefix: str = "") -> Group:
    """The form of ``model``, filled with ``values`` (a model instance or plain data) or the defaults."""
    items = []
    for name, info in model.model_fields.items():
        path = f"{prefix}.{name}" if prefix else name
        if _takes_path(name, info.annotation):
            continue
        given = _value_of(values, name) if values is not None else None
        default = info.get_default(call_default_factory=True) if not info.is_required() else None
        current = given if given is not None else default
        annotation, optional = _unwrap_optional(info.annotation)
        label = name.replace("_", " ")
        item = _item_type(annotation)
        if _is_model(annotation):
            items.append(build_form(annotation, current, path))
            items[-1] = Group(path, label, items[-1].items)
        elif item is not None and _is_model(item):
            for k, row in enumerate(current or ()):
                sub = build_form(item, row, f"{path}[{k}]")
                items.append(Group(f"{path}[{k}]", f"{label} {k + 1}", sub.items, repeat=path))
            blank = build_form(item, None, f"{path}[0]")
            items.append(Group(f"{path}[0]", f"{label} 1", blank.items, repeat=path, template=True))
        else:
            kind, choices = "text", ()
            options = _literal_options(annotation)
            if name in NAME_CHOICES:
                kind, choices = "select", NAME_CHOICES[name]()
            elif options is not None:
                kind, choices = "select", tuple(_text(o) for o in options)
            elif annotation is bool:
                kind, choices = "select", ("true", "false")
            elif item is not None:
                kind = "list"
                item_options = _literal_options(item)
                if item_options:
                    choices = tuple(_text(o) for o in item_options)
            elif typing.get_origin(annotation) is dict:
                kind = "json"
            if optional and kind == "select":
                choices = ("", *choices)
            items.append(Input(path, label, kind, _text(current), choices, _help(info), info.is_required()))
    return Group(prefix, prefix.rsplit(".", 1)[-1] if prefix else model.__name__, tuple(items))


def _convert(annotation, text: str, path: str):
    """Browser text -> the Python value pydantic should see (pydantic does the checking)."""
    annotation, optional = _unwrap_optional(annotation)
    text = text.strip()
    if text == "" and optional:
        return None
    options = _literal_options(annotation)
    if options is not None:
        return next((o for o in options if _text(o) == text), text)
    if annotation is bool:
        return {"true": True, "false": False}.get(text.lower(), text)
    item = _item_type(annotation)
    if item is not None:
        parts = [p.strip() for p in text.split(",") if p.strip()]
        if len(parts) > MAX_LIST_ITEMS:
            raise FieldError(path, text[:40] + "…", f"at most {MAX_LIST_ITEMS} comma-separated values")
        return [_convert(item, p, path) for p in parts]
    if typing.get_origin(annotation) is dict:
        import json

        if text == "":
            return None
        try:
            data = json.loads(text)
        except ValueError:
            raise FieldError(path, text[:40], "a JSON object, e.g. {\"design\": \"boin\"}") from None
        if not isinstance(data, dict):
            raise FieldError(path, text[:40], "a JSON object")
        return data
    return text


def form_to_data(model: type[BaseModel], flat: dict[str, str]) -> dict:
    """Nested model input from ``{dotted path: text}``; unknown or path-taking keys are refused.

    Raises
    ------
    FieldError
        A key that is not an input of the form, a value that is not text or is too long.
    """
    known = _paths(model)
    data: dict = {}
    for path, text in flat.items():
        plain = _plain(path)
        if plain not in known or not re.fullmatch(r"[a-z0-9_]+(\[\d{1,3}\])?(\.[a-z0-9_]+(\[\d{1,3}\])?)*", path):
            raise FieldError(path, text if isinstance(text, str) else type(text).__name__,
                             "an input of this form (no file paths are accepted from the browser)")
        if not isinstance(text, str) or len(text) > MAX_TEXT_CHARS:
            raise FieldError(path, str(text)[:40], f"text of at most {MAX_TEXT_CHARS} characters")
        if _leaf(path) in NAME_CHOICES and text not in NAME_CHOICES[_leaf(path)]():
            raise FieldError(path, text, f"one of {', '.join(NAME_CHOICES[_leaf(path)]())}")
        value = _convert(known[plain], text, path)
        if value is None:
            continue
        _put(data, path, value)
    return data


def _paths(model: type[BaseModel], prefix: str = "") -> dict[str, Any]:
    """Plain dotted path -> annotation of every leaf input (path-taking fields left out)."""
    out = {}
    for name, info in model.model_fields.items():
        path = f"{prefix}.{name}" if prefix else name
        if _takes_path(name, info.annotation):
            continue
        annotation, _ = _unwrap_optional(info.annotation)
        item = _item_type(annotation)
        if _is_model(annotation):
            out.update(_paths(annotation, path))
        elif item is not None and _is_model(item):
            out.update(_paths(item, path))
        else:
            out[path] = info.annotation
    return out


def _put(data: dict, path: str, value) -> None:
    parts = re.findall(r"([a-z0-9_]+)(?:\[(\d+)\])?", path)
    node = data
    for k, (name, index) in enumerate(parts):
        last = k == len(parts) - 1
        if index:
            rows = node.setdefault(name, [])
            i = int(index)
            while len(rows) <= i:
                rows.append({})
            if last:
                rows[i] = value
            else:
                node = rows[i]
        elif last:
            node[name] = value
        else:
            node = node.setdefault(name, {})


def _drop_empty_rows(data, model: type[BaseModel] | None = None):
    """Rows the user removed leave gaps (``cohorts[0]``, ``cohorts[2]``): drop the empty ones, and
    the blank template row of an empty list (every required field of its model left blank)."""
    if isinstance(data, dict):
        out = {}
        for k, v in data.items():
            sub = None
            if model is not None and k in model.model_fields:
                annotation, _ = _unwrap_optional(model.model_fields[k].annotation)
                item = _item_type(annotation)
                sub = item if item is not None and _is_model(item) else (annotation if _is_model(annotation) else None)
            out[k] = _drop_empty_rows(v, sub)
        return out
    if isinstance(data, list):
        return [_drop_empty_rows(v, model) for v in data if v != {} and not _blank_template(v, model)]
    return data


def _blank_template(row, model: type[BaseModel] | None) -> bool:
    if model is None or not isinstance(row, dict):
        return False
    required = [n for n, f in model.model_fields.items() if f.is_required()]
    return bool(required) and all(row.get(n) in (None, "") for n in required)


def validate_form(model: type[BaseModel], flat: dict[str, str]) -> tuple[BaseModel | None, FormErrors]:
    """(validated model, no errors) or (None, messages per input path)."""
    errors = FormErrors()
    try:
        data = _drop_empty_rows(form_to_data(model, flat), model)
    except FieldError as exc:
        errors.fields[exc.field] = f"allowed: {exc.allowed}"
        return None, errors
    try:
        return model.model_validate(data), errors
    except ValidationError as exc:
        leaves = _paths(model)
        for err in field_errors(exc, "form"):
            message = err.allowed if err.value is None else f"{err.allowed} (given {_text(err.value)[:60]})"
            path = re.sub(r"\[\d+\]$", "", err.field)  # an element of a list: the list's input
            if _plain(path) in leaves:
                errors.fields.setdefault(path, message)
            else:
                where = "" if err.field == "<root>" else f"{err.field}: "
                errors.general.append(f"{where}{err.allowed}")
        return None, errors
