"""Entry points: :func:`load_facility`, :func:`loads_facility`, :func:`parse_facility`
(read, expand, check the schema and the engineering) and air-flow helpers."""
from __future__ import annotations

import math
import re
from pathlib import Path

from pydantic import ValidationError

from common.errors import InputError

from .checks import check_facility
from .diagnostics import Diagnostic, FacilityError, _display
from .includes import _collect_origins, _expand_halls, _load_doc, _strip
from .messages import _translate
from .model import Facility
from .schema import _AIR, Air


# ------------------------------------------------------------------------- entry points
def parse_facility(doc: dict, *, source=None, origins=None) -> Facility:
    """Check a resolved document (no includes left) and return the facility.

    Raises :class:`FacilityError` with every schema and engineering error found.
    """
    origins = origins or {}
    clean = _strip(doc)
    try:
        fac = Facility.model_validate(clean)
    except ValidationError as exc:
        diags = [_translate(e, clean, origins, source) for e in exc.errors()]
        raise FacilityError(diags) from None
    fac._source = Path(source) if source is not None else None
    fac._origins = dict(origins)
    diags = check_facility(fac)
    errs = [d for d in diags if d.severity == "error"]
    if errs:
        raise FacilityError(errs + [d for d in diags if d.severity == "warning"])
    fac._warnings = diags
    return fac


def load_facility(path) -> Facility:
    """Read, resolve, check and return the facility described by the TOML file ``path``.

    Raises :class:`FacilityError` (an :class:`~common.errors.InputError`) listing every
    error; warnings are on :attr:`Facility.warnings`.
    """
    p = Path(path)
    if p.is_dir():
        raise FacilityError([Diagnostic("error", _display(p), "",
                                        "is a folder; give the facility file (.toml)")])
    if not p.is_file():
        raise FacilityError([Diagnostic("error", _display(p), "", "facility file not found")])
    return _load(p, None)


def loads_facility(text: str, folder=None, name: str = "facility.toml") -> Facility:
    """Like :func:`load_facility` for TOML ``text`` standing for ``folder/name`` (default:
    the current folder); its includes resolve inside ``folder``. Nothing is written."""
    folder = Path(folder) if folder is not None else Path.cwd()
    return _load(folder / name, text)


def _load(p: Path, text: str | None) -> Facility:
    diags: list[Diagnostic] = []
    copies: dict = {}
    root = p.resolve().parent
    doc = _load_doc(p, root, diags, text=text, copies=copies)
    if doc is not None:
        _expand_halls(doc, p.resolve(), root, diags, (), copies)
    if diags or doc is None:
        raise FacilityError(diags or [Diagnostic("error", _display(p), "", "could not be read")])
    try:
        fac = parse_facility(doc, source=p, origins=_collect_origins(doc))
    except FacilityError as exc:
        raise FacilityError(_fold_copies(exc.diagnostics, copies)) from None
    fac._warnings = _fold_copies(fac._warnings, copies)
    return fac


def _fold_copies(diags: list, copies: dict) -> list:
    """One diagnostic for a problem that every copy of a hall entry (``count = N``) has:
    the first copy's, naming the others, instead of N lines that differ by the name."""
    if not copies:
        return list(diags)
    groups: dict = {}
    for d in diags:
        m = re.match(r"halls\[([^\]]+)\]", d.path)
        name = m.group(1) if m and m.group(1) in copies else None
        if name is None:
            groups[id(d)] = [d]
            continue
        entry = copies[name][0]
        key = (d.severity, d.file, d.path.replace(name, "\0"), d.message.replace(name, "\0"), entry)
        groups.setdefault(key, []).append(d)
    out = []
    for same in groups.values():
        d = same[0]
        if len(same) > 1:
            first = re.match(r"halls\[([^\]]+)\]", same[1].path).group(1)
            last = re.match(r"halls\[([^\]]+)\]", same[-1].path).group(1)
            entry = copies[first][0]
            d = Diagnostic(d.severity, d.file, d.path,
                           f"{d.message} (the same in {len(same) - 1} more copies of hall "
                           f"'{entry}': {first}" + (f" .. {last})" if len(same) > 2 else ")"))
        out.append(d)
    return out


def _rho_cp(air: "Air | None" = None) -> float:
    return _AIR.rho_cp if air is None else air.rho_cp


def flow_for_delta_t(power_w: float, delta_t_k: float, air: "Air | None" = None) -> float:
    """Air flow [m3/s] that carries ``power_w`` at a rise of ``delta_t_k``:
    ``Q = P / (rho * cp * dT)`` with ``air`` (a campus's :class:`Air`; default the thermal
    core's default air, ``kernels.Fluid()``)."""
    if delta_t_k <= 0 or not math.isfinite(delta_t_k):
        raise InputError(f"delta_t_k = {delta_t_k} must be a positive number")
    return power_w / (_rho_cp(air) * delta_t_k)
